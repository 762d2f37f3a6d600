"""Classification metrics from logits: top-1/top-5 accuracy, per-class precision, recall
and F1, and the confusion matrix (rows: true class, columns: predicted class)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class ClassificationMetrics:
    """Metrics over N samples of C classes; per-class tensors have shape (C,)."""

    classes: list[str]
    top1: float
    top5: float
    """Top-k accuracy with k = min(5, C)."""
    precision: torch.Tensor
    recall: torch.Tensor
    f1: torch.Tensor
    support: torch.Tensor
    confusion: torch.Tensor
    """(C, C) int64: confusion[i, j] counts samples of class i predicted as class j."""

    def as_dict(self) -> dict:
        """JSON-ready: scalars, and per-class values by class name."""
        per_class = {name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                     for name, p, r, f, s in zip(self.classes, self.precision, self.recall, self.f1, self.support)}
        return {"top1": self.top1, "top5": self.top5, "per_class": per_class,
                "confusion": self.confusion.tolist()}

    def report(self) -> str:
        """A table in the layout of scikit-learn's classification_report, with top-1/top-5."""
        width = max(12, *(len(c) for c in self.classes))
        lines = [f"{'':>{width}}  precision     recall   f1-score    support", ""]
        for name, p, r, f, s in zip(self.classes, self.precision, self.recall, self.f1, self.support):
            lines.append(f"{name:>{width}}  {p:9.4f}  {r:9.4f}  {f:9.4f}  {int(s):9d}")
        total = int(self.support.sum())
        weights = self.support.double() / max(total, 1)
        lines += ["",
                  f"{'top-1 acc':>{width}}  {'':9}  {'':9}  {self.top1:9.4f}  {total:9d}",
                  f"{'top-5 acc':>{width}}  {'':9}  {'':9}  {self.top5:9.4f}  {total:9d}"]
        for label, w in (("macro avg", None), ("weighted avg", weights)):
            avg = [float(v.mean() if w is None else (v.double() * w).sum()) for v in (self.precision, self.recall, self.f1)]
            lines.append(f"{label:>{width}}  {avg[0]:9.4f}  {avg[1]:9.4f}  {avg[2]:9.4f}  {total:9d}")
        return "\n".join(lines)


def _ratio(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """numerator / denominator, 0 where the denominator is 0 (scikit-learn's zero_division=0)."""
    safe = torch.where(denominator > 0, denominator, torch.ones_like(denominator))
    return torch.where(denominator > 0, numerator / safe, torch.zeros_like(numerator))


def classification_metrics(logits: torch.Tensor, targets: torch.Tensor, classes: list[str]) -> ClassificationMetrics:
    """Metrics of logits (N, C) against class indices (N,)."""
    count = len(classes)
    if logits.ndim != 2 or logits.shape[1] != count:
        raise ValueError(f"logits: expected shape (N, {count}), got {tuple(logits.shape)}")
    if targets.shape != (logits.shape[0],):
        raise ValueError(f"targets: expected shape ({logits.shape[0]},), got {tuple(targets.shape)}")
    if len(targets) == 0:
        raise ValueError("evaluate: the data is empty")
    targets = targets.long()
    predicted = logits.argmax(dim=1)
    k = min(5, count)
    top5 = (logits.topk(k, dim=1).indices == targets[:, None]).any(dim=1).double().mean().item()
    confusion = torch.bincount(targets * count + predicted, minlength=count * count).reshape(count, count)
    true_positives = confusion.diagonal().double()
    support = confusion.sum(dim=1)
    precision = _ratio(true_positives, confusion.sum(dim=0).double())
    recall = _ratio(true_positives, support.double())
    f1 = _ratio(2 * precision * recall, precision + recall)
    return ClassificationMetrics(classes=list(classes), top1=(predicted == targets).double().mean().item(),
                                 top5=top5, precision=precision, recall=recall, f1=f1, support=support,
                                 confusion=confusion)
