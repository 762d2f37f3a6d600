"""Callbacks that stop training: the NaN/inf guard and early stopping."""

from __future__ import annotations

import math
import sys

import torch

from axon.errors import ConfigError, TrainingDiverged
from axon.train.callbacks.base import Callback


class NaNGuard(Callback):
    """Stop with TrainingDiverged, naming the step, as soon as a batch loss is NaN or
    infinite (before any checkpoint of the poisoned weights can be written)."""

    changes_training = False

    def on_batch_end(self, trainer, result) -> None:
        if not torch.isfinite(result.loss):
            raise TrainingDiverged(
                f"loss became {result.loss.item()} at step {trainer.global_step} "
                f"(epoch {trainer.epoch + 1}); training stopped (try a lower learning rate)",
                step=trainer.global_step,
            )


def improved(value: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    """Whether `value` beats `best` by more than `min_delta` in direction `mode`."""
    if math.isnan(value):
        return False
    if best is None:
        return True
    return value > best + min_delta if mode == "max" else value < best - min_delta


def monitored(metrics: dict[str, float], name: str, owner: str) -> float:
    """`metrics[name]`, or a ConfigError naming `owner` and the metrics there are."""
    if name not in metrics:
        raise ConfigError(f"{owner}: metric {name!r} is not logged (available: {', '.join(metrics)})")
    return metrics[name]


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by `min_delta` for `patience` epochs."""

    def __init__(self, monitor: str = "val_loss", mode: str = "min", patience: int = 10, min_delta: float = 0.0):
        if patience < 1:
            raise ValueError(f"early_stopping.patience: expected >= 1, got {patience}")
        self.monitor, self.mode, self.patience, self.min_delta = monitor, mode, patience, min_delta
        self.best: float | None = None
        self.bad_epochs = 0

    def on_epoch_end(self, trainer, metrics) -> None:
        value = monitored(metrics, self.monitor, "early_stopping.monitor")
        if improved(value, self.best, self.mode, self.min_delta):
            self.best, self.bad_epochs = value, 0
            return
        self.bad_epochs += 1
        if self.bad_epochs >= self.patience:
            trainer.stop(f"early stopping: {self.monitor} did not improve for {self.patience} epochs")

    def state_dict(self) -> dict:
        return {"best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.bad_epochs = state["best"], state["bad_epochs"]


class DataStarvation(Callback):
    """Warn (on stderr) when an epoch spent more than `threshold` of its training time
    waiting for data, and at least `min_seconds` in all: the model is starved; add loader
    workers or prefetch. (Tiny in-memory epochs wait a large fraction of almost nothing.)"""

    changes_training = False

    main_process_only = True

    def __init__(self, threshold: float = 0.2, min_seconds: float = 0.5):
        self.threshold, self.min_seconds = threshold, min_seconds

    def on_epoch_end(self, trainer, metrics) -> None:
        wait = metrics.get("data_wait", 0.0)
        if wait > self.threshold and wait * metrics.get("seconds", 0.0) >= self.min_seconds:
            print(f"warning: epoch {metrics['epoch']} spent {wait:.0%} of its time waiting for data "
                  f"(> {self.threshold:.0%}); raise data.num_workers or prefetch_factor", file=sys.stderr)
