"""Checkpoint callback: `last` every few epochs (or steps) and `best` by a chosen metric."""

from __future__ import annotations

from pathlib import Path

from axon.train.callbacks.base import Callback
from axon.train.callbacks.guards import improved, monitored
from axon.train.checkpoint import write_checkpoint


class ModelCheckpoint(Callback):
    """Write `<directory>/last` every `every` epochs, every `every_steps` optimizer steps
    (mid-epoch: resuming from it continues the epoch exactly) and at the end, and
    `<directory>/best` whenever `monitor` improves (mode max or min)."""

    main_process_only = True
    order = 100

    def __init__(self, directory: str | Path, monitor: str = "val_loss", mode: str = "min", every: int = 1,
                 every_steps: int | None = None):
        if every < 1:
            raise ValueError(f"checkpoint.every: expected >= 1, got {every}")
        if every_steps is not None and every_steps < 1:
            raise ValueError(f"checkpoint.every_steps: expected >= 1, got {every_steps}")
        self.directory = Path(directory)
        self.monitor, self.mode, self.every, self.every_steps = monitor, mode, every, every_steps
        self.best: float | None = None
        self.best_epoch: int | None = None

    def on_batch_end(self, trainer, result) -> None:
        steps = self.every_steps
        if steps and trainer.global_step % steps == 0 and trainer.batch_in_epoch < trainer.steps_per_epoch:
            write_checkpoint(self.directory / "last", trainer.model, trainer.state_dict())

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
