"""Checkpoint callback: `last` every few epochs (or steps) and `best` by a chosen metric."""

from __future__ import annotations

import threading
from pathlib import Path

from axon.train.callbacks.base import Callback
from axon.train.callbacks.guards import improved, monitored
from axon.train.checkpoint import clean_checkpoints, write_checkpoint


class ModelCheckpoint(Callback):
    """Write `<directory>/last` every `every` epochs, every `every_steps` optimizer steps
    (mid-epoch: resuming from it continues the epoch exactly) and at the end, and
    `<directory>/best` whenever `monitor` improves (mode max or min).

    The weights and state are copied at once; the files are written by a background
    thread while training goes on (`background=False` writes in the loop). A write
    finishes before the next begins and before `fit` returns, and its error, if any, is
    raised then. It runs on every process of a data-parallel job (a sharded model is
    gathered by all of them); only the main process writes."""

    changes_training = False

    order = 100

    def __init__(self, directory: str | Path, monitor: str = "val_loss", mode: str = "min", every: int = 1,
                 every_steps: int | None = None, background: bool = True):
        if every < 1:
            raise ValueError(f"checkpoint.every: expected >= 1, got {every}")
        if every_steps is not None and every_steps < 1:
            raise ValueError(f"checkpoint.every_steps: expected >= 1, got {every_steps}")
        self.directory = Path(directory)
        self.monitor, self.mode, self.every, self.every_steps = monitor, mode, every, every_steps
        self.background = background
        self.best: float | None = None
        self.best_epoch: int | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def _save(self, trainer, names: list[str]) -> None:
        self.wait()
        payload = trainer.checkpoint_payload()
        if payload is None:  # not the main process
            return
        weights, state = payload
        folders = [self.directory / name for name in names]
        if not self.background:
            write_checkpoint(folders, weights, state)
            return

        def write() -> None:
            try:
                write_checkpoint(folders, weights, state)
            except BaseException as err:  # re-raised in the training loop by wait()
                self._error = err

        self._thread = threading.Thread(target=write, name="axon-checkpoint", daemon=False)
        self._thread.start()

    def wait(self) -> None:
        """Finish the write in progress; raise its error if it failed."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def on_fit_start(self, trainer) -> None:
        if trainer.is_main_process:
            clean_checkpoints(self.directory)

    def on_batch_end(self, trainer, result) -> None:
        if self._thread is not None and not self._thread.is_alive():
            self.wait()  # a failed write (e.g. a full disk) stops training at once, not an epoch later
        steps = self.every_steps
        if steps and trainer.global_step % steps == 0 and trainer.batch_in_epoch < trainer.steps_per_epoch:
            self._save(trainer, ["last"])

    def on_epoch_end(self, trainer, metrics) -> None:
        value = monitored(metrics, self.monitor, "checkpoint.monitor")
        is_best = improved(value, self.best, self.mode)
        if is_best:
            self.best, self.best_epoch = value, trainer.epoch
        # `best` first: a crash between the two leaves `last` at the previous checkpoint,
        # so the resumed run redoes this epoch and writes both again; never a stale `best`.
        names = ["best"] if is_best else []
        if trainer.epoch % self.every == 0 or trainer.epoch == trainer.epochs or trainer.should_stop:
            names.append("last")
        if names:
            self._save(trainer, names)  # the state includes this callback's update above

    def on_fit_end(self, trainer, status) -> None:
        self.wait()

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch = state["best"], state["best_epoch"]
