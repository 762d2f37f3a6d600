"""The callback interface: every optional behaviour of training is a callback."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from axon.train.trainable import StepResult
    from axon.train.trainer import Trainer


class Callback:
    """Hooks the Trainer calls, in ascending `order` (checkpointing runs last, so the
    state it saves includes every other callback's update for the epoch).

    `state_dict`/`load_state_dict` carry a callback's state through checkpoints. In
    data-parallel training a `main_process_only` callback (one that writes files or
    prints) runs on rank 0 alone; the others run on every process. A callback that only
    observes (logs, plots, checkpoints, guards) sets `changes_training = False`: a run
    folder written from Python can then be continued by `axon train --resume` without it."""

    order: int = 0
    main_process_only: bool = False
    changes_training: bool = True

    def on_fit_start(self, trainer: Trainer) -> None:
        """Before the first epoch (also after a resume has restored the state)."""

    def on_epoch_start(self, trainer: Trainer) -> None:
        """Before an epoch's first batch; `trainer.epoch` is the number of epochs done."""

    def on_batch_end(self, trainer: Trainer, result: StepResult) -> None:
        """After the optimizer step of a batch; `trainer.global_step` counts it."""

    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        """After validation; `metrics` is the row appended to `trainer.history`."""

    def on_fit_end(self, trainer: Trainer, status: str) -> None:
        """Always, last: status is completed, stopped, diverged, interrupted or failed."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict` returned."""
