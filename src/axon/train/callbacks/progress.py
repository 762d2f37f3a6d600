"""Progress: a rich bar on a terminal, one plain line per epoch otherwise."""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from axon.train.callbacks.base import Callback


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3e}" if value and abs(value) < 1e-3 else f"{value:.4f}"
    return str(value)


class ProgressBar(Callback):
    """Epoch, step, loss, accuracy, samples/s and ETA while training.

    On a terminal a rich bar is redrawn (at most 10 times a second); when stdout is not a
    terminal (a log file, CI) one plain line is printed per epoch instead."""

    main_process_only = True

    def __init__(self, console: Console | None = None):
        self.console = console or Console(file=sys.stdout)
        self.live = self.console.is_terminal
        self._progress: Progress | None = None
        self._task = None
        self._fit_start = 0.0
        self._steps_at_start = 0
        self._last_draw = 0.0

    def on_fit_start(self, trainer) -> None:
        self._fit_start = time.perf_counter()
        self._steps_at_start = trainer.global_step
        if self.live:
            self._progress = Progress(
                TextColumn("epoch {task.fields[epoch]}"),
                BarColumn(),
                TextColumn("step {task.completed}/{task.total}  loss {task.fields[loss]}  "
                           "acc {task.fields[acc]}  {task.fields[speed]} samples/s  ETA {task.fields[eta]}"),
                console=self.console,
                refresh_per_second=10,
                transient=True,  # the per-epoch lines stay; the bar goes when training ends
            )
            self._progress.start()

    def _eta(self, trainer) -> str:
        done = trainer.global_step - self._steps_at_start
        if done == 0:
            return "?"
        remaining = trainer.epochs * trainer.steps_per_epoch - trainer.global_step
        return _duration((time.perf_counter() - self._fit_start) / done * remaining)

    def on_epoch_start(self, trainer) -> None:
        if self._progress is not None:
            self._task = self._progress.add_task(
                "train", total=trainer.steps_per_epoch, epoch=f"{trainer.epoch + 1}/{trainer.epochs}",
                loss="-", acc="-", speed="-", eta=self._eta(trainer),
            )

    def on_batch_end(self, trainer, result) -> None:
        if self._progress is None:
            return
        now = time.perf_counter()
        if now - self._last_draw < 0.1 and trainer.batch_in_epoch < trainer.steps_per_epoch:
            self._progress.advance(self._task)
            return
        self._last_draw = now
        running = trainer.running_metrics()
        self._progress.update(
            self._task, completed=trainer.batch_in_epoch, loss=f"{running['loss']:.4f}",
            acc=f"{running['acc']:.3f}" if "acc" in running else "-",
            speed=f"{running['samples_per_s']:.0f}", eta=self._eta(trainer),
        )

    def on_epoch_end(self, trainer, metrics) -> None:
        line = "  ".join(f"{k} {_fmt(v)}" for k, v in metrics.items() if k != "epoch")
        line = f"epoch {metrics['epoch']}/{trainer.epochs}  {line}  eta {self._eta(trainer)}"
        if self._progress is not None:
            self._progress.remove_task(self._task)
            self._progress.console.print(line, highlight=False)
        else:
            print(line, flush=True)

    def on_fit_end(self, trainer, status) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
