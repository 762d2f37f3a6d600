"""Trainable: given a model's parameters and a source of data, measure the loss and its
gradient. The Trainer only asks a Trainable for gradients; data-parallel training is a
Trainable whose gradients are averaged across processes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import torch
from torch import nn

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class StepResult:
    """One mini-batch: the loss (a detached scalar tensor), its size, and how many
    predictions were right (None when the task is not classification)."""

    loss: torch.Tensor
    size: int
    correct: torch.Tensor | None


def count_correct(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor | None:
    """Right top-1 predictions for logits (N, C) against class indices (N,), else None."""
    if outputs.ndim == 2 and targets.ndim == 1 and not targets.is_floating_point():
        return (outputs.argmax(dim=1) == targets).sum()
    return None


def to_device(batch, device: torch.device):
    """Move a batch (tensor, or tuple/list of tensors) to `device`."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    return type(batch)(to_device(b, device) for b in batch)


class Trainable:
    """Loss and gradients of `model` over mini-batches `(inputs, targets)` of `loader`.

    `step(batch)` runs forward and backward and leaves the gradients in the parameters;
    iterating the Trainable yields the loader's batches on the model's device."""

    def __init__(self, model: nn.Module, loss_fn: LossFn, loader: Iterable, device: torch.device):
        self.model = model
        self.loss_fn = loss_fn
        self.loader = loader
        self.device = device

    def __iter__(self) -> Iterator:
        for batch in self.loader:
            yield to_device(batch, self.device)

    def __len__(self) -> int:
        return len(self.loader)

    def step(self, batch) -> StepResult:
        inputs, targets = batch
        outputs = self.model(inputs)
        loss = self.loss_fn(outputs, targets)
        loss.backward()
        return StepResult(loss.detach(), len(targets), count_correct(outputs.detach(), targets))


@torch.no_grad()
def evaluate_totals(model: nn.Module, loss_fn: LossFn, loader: Iterable, device: torch.device) -> list[float]:
    """[loss sum, samples, correct] of `model` over `loader` in eval mode; correct is
    NaN when the task is not classification. Sums, so processes can add them up."""
    was_training = model.training
    model.eval()
    loss_sum, total, correct = 0.0, 0, 0.0
    for batch in loader:
        inputs, targets = to_device(batch, device)
        outputs = model(inputs)
        loss_sum += loss_fn(outputs, targets).item() * len(targets)
        total += len(targets)
        right = count_correct(outputs, targets)
        correct = float("nan") if right is None else correct + int(right)
    model.train(was_training)
    return [loss_sum, float(total), correct]


def means(totals: list[float]) -> dict[str, float]:
    """{"loss", "acc"} from [loss sum, samples, correct] (no acc when correct is NaN)."""
    loss_sum, total, correct = totals
    if total == 0:
        raise ValueError("evaluate: the data is empty")
    metrics = {"loss": loss_sum / total}
    if correct == correct:  # not NaN
        metrics["acc"] = correct / total
    return metrics


def evaluate(model: nn.Module, loss_fn: LossFn, loader: Iterable, device: torch.device) -> dict[str, float]:
    """Mean loss and (for classification) accuracy of `model` over `loader`, in eval mode."""
    return means(evaluate_totals(model, loss_fn, loader, device))
