"""Metric logs: metrics.csv (one row per epoch) and TensorBoard event files."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

from axon.train.callbacks.base import Callback

COLUMNS = ["epoch", "step", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds", "samples_per_s",
           "data_wait"]


class CSVLogger(Callback):
    """Write `metrics.csv` with one row per epoch: the COLUMNS, then any other metric a
    callback or task adds (e.g. a detector's AP), in order of first appearance; absent
    metrics are left empty.

    The file is rewritten (atomically) from the trainer's history at the start of a fit
    (or a resume) and after every epoch, so rows of epochs that a crash lost from the
    checkpoint never linger and a new column gets its header."""

    changes_training = False

    main_process_only = True

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def _write(self, history: list[dict]) -> None:
        extras = list(dict.fromkeys(key for row in history for key in row if key not in COLUMNS))
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, COLUMNS + extras, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(history)
        os.replace(tmp, self.path)

    def on_fit_start(self, trainer) -> None:
        self._write(trainer.history)

    def on_epoch_end(self, trainer, metrics) -> None:
        self._write(trainer.history)


class TensorBoardLogger(Callback):
    """Scalars per epoch in TensorBoard event files under `log_dir` (x axis: epoch), and
    the training loss and learning rate of every step under `log_dir/steps` (x axis:
    optimizer step; a run of its own in TensorBoard, so each file is purged on resume by
    its own counter)."""

    changes_training = False

    main_process_only = True

    def __init__(self, log_dir: str | Path):
        self.log_dir = Path(log_dir)
        self._writer = None
        self._steps = None

    def on_fit_start(self, trainer) -> None:
        from torch.utils.tensorboard import SummaryWriter

        # Events past the restored epoch/step (from a killed run; all of them when a run stopped
        # before its first checkpoint starts again) are discarded.
        self._writer = SummaryWriter(str(self.log_dir), purge_step=trainer.epoch + 1,
                                     flush_secs=10)  # its own thread flushes; closed (flushed) at the end
        self._steps = SummaryWriter(str(self.log_dir / "steps"), flush_secs=10,
                                    purge_step=trainer.global_step + 1)

    def on_batch_end(self, trainer, result) -> None:
        self._steps.add_scalar("loss", result.loss.item(), global_step=trainer.global_step)
        self._steps.add_scalar("lr", trainer.optimizer.param_groups[0]["lr"], global_step=trainer.global_step)

    def on_epoch_end(self, trainer, metrics) -> None:
        for key, value in metrics.items():
            if key not in ("epoch", "step") and isinstance(value, float) and not math.isnan(value):
                self._writer.add_scalar(key, value, global_step=trainer.epoch)

    def on_fit_end(self, trainer, status) -> None:
        for writer in (self._writer, self._steps):
            if writer is not None:
                writer.close()
        self._writer = self._steps = None
