"""Checkpoint callback: `last` every few epochs and `best` by a chosen metric."""

from __future__ import annotations

from pathlib import Path

from axon.train.callbacks.base import Callback
from axon.train.callbacks.guards import improved, monitored
from axon.train.checkpoint import write_checkpoint


class ModelCheckpoint(Callback):
    """Write `<directory>/last` every `every` epochs and at the end, and
    `<directory>/best` whenever `monitor` improves (mode max or min)."""

    order = 100

    def __init__(self, directory: str | Path, monitor: str = "val_loss", mode: str = "min", every: int = 1):
        if every < 1:
            raise ValueError(f"checkpoint.every: expected >= 1, got {every}")
        self.directory = Path(directory)
        self.monitor, self.mode, self.every = monitor, mode, every
        self.best: float | None = None
        self.best_epoch: int | None = None

    def on_epoch_end(self, trainer, metrics) -> None:
        value = monitored(metrics, self.monitor, "checkpoint.monitor")
        is_best = improved(value, self.best, self.mode)
        if is_best:
            self.best, self.best_epoch = value, trainer.epoch
        state = trainer.state_dict()  # includes this callback's updated state
        if is_best:
            write_checkpoint(self.directory / "best", trainer.model, state)
        if trainer.epoch % self.every == 0 or trainer.epoch == trainer.epochs or trainer.should_stop:
            write_checkpoint(self.directory / "last", trainer.model, state)

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch = state["best"], state["best_epoch"]
