"""Evaluating a run folder's checkpoint on its test split."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from axon.errors import RunDirError
from axon.run.load import load_run
from axon.run.metrics import ClassificationMetrics
from axon.run.folder import write_atomically
from axon.train.trainable import predict_outputs


@dataclass
class Evaluation:
    metrics: ClassificationMetrics
    confusion_png: Path
    metrics_json: Path
    not_written: str | None = None
    """Why the PNG and JSON could not be written (a read-only run folder); None when they were."""


def test_outputs(run, batch_size: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """(outputs (N, C), targets (N,)) of a loaded run's model on its config's test split."""
    data = run.data()
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
    path = run_dir / f"eval_{checkpoint}.json"
    try:
        plot_confusion(metrics.confusion.numpy(), metrics.classes, png,
                       title=f"{run_dir.name} ({checkpoint}): test confusion")
        write_atomically(path, json.dumps(metrics.as_dict(), indent=1) + "\n")
    except (OSError, RunDirError) as err:  # evaluating only reads: the metrics stand without the files
        reason = f"{err.filename}: {err.strerror}" if isinstance(err, OSError) else str(err)
        return Evaluation(metrics, png, path, not_written=reason)
    return Evaluation(metrics, png, path)
