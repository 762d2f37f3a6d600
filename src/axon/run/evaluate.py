"""Evaluating a run folder's checkpoint on its test split."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from axon.run.load import load_run
from axon.run.metrics import ClassificationMetrics
from axon.run.runs import load_data
from axon.run.folder import write_atomically
from axon.train.trainable import predict_outputs


@dataclass
class Evaluation:
    metrics: ClassificationMetrics
    confusion_png: Path
    metrics_json: Path


def test_outputs(run, batch_size: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """(outputs (N, C), targets (N,)) of a loaded run's model on its config's test split."""
    data = load_data(run.config)
    targets = []

    def inputs():
        for x, y in torch.utils.data.DataLoader(data.test, batch_size=batch_size):
            targets.append(y)
            yield x

    outputs = predict_outputs(run.model, inputs(), run.device)
    return outputs, torch.cat(targets)


def evaluate_run(run_dir: str | Path, checkpoint: str = "best", out: str | Path | None = None) -> Evaluation:
    """Top-1/top-5 accuracy, per-class precision/recall/F1 and the confusion matrix of a
    run's checkpoint on its test split; writes the confusion matrix PNG (`out`, default
    RUN_DIR/confusion_<checkpoint>.png) and the metrics as RUN_DIR/eval_<checkpoint>.json."""
    from axon.viz.confusion import plot_confusion

    run_dir = Path(run_dir)
    run = load_run(run_dir, checkpoint)
    outputs, targets = test_outputs(run)
    metrics = run.task.evaluate(outputs, targets, run.record)
    png = Path(out) if out is not None else run_dir / f"confusion_{checkpoint}.png"
    plot_confusion(metrics.confusion.numpy(), metrics.classes, png,
                   title=f"{run_dir.name} ({checkpoint}): test confusion")
    path = run_dir / f"eval_{checkpoint}.json"
    write_atomically(path, json.dumps(metrics.as_dict(), indent=1) + "\n")
    return Evaluation(metrics, png, path)
