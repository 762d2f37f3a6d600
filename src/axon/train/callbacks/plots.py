"""Plot the loss and accuracy curves when training ends."""

from __future__ import annotations

from pathlib import Path

from axon.train.callbacks.base import Callback


class CurvesPlot(Callback):
    """Write `path` (PNG): loss and accuracy against epoch, from the trainer's history.

    Drawn once at the end of a fit (whatever its status), not every epoch: a plot costs
    about as much as an epoch of a small model."""

    changes_training = False

    main_process_only = True

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def on_fit_end(self, trainer, status) -> None:
        if trainer.history:
            from axon.viz.curves import plot_curves

            plot_curves(trainer.history, self.path)
