"""Progress: a rich bar on a terminal, one plain line per epoch otherwise."""

from __future__ import annotations

import math
import sys
import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from axon.train.callbacks.base import Callback


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _number(value: float) -> str:
    """At most 9 characters: 4 decimals below 1, 5 significant digits up to 1e5,
    scientific notation beyond."""
    if value == 0 or not math.isfinite(value) or 1e-3 <= abs(value) < 1:
        return f"{value:.4f}"
    if 1 <= abs(value) < 1e5:
        return f"{value:.{4 - int(math.log10(abs(value)))}f}"
    return f"{value:.3e}"


# The per-epoch table: (metrics key, header, width, format); other metrics follow.
COLUMNS = [
    ("train_loss", "loss", 9, _number),
    ("train_acc", "acc", 6, "{:.4f}".format),
    ("val_loss", "val_loss", 9, _number),
    ("val_acc", "val_acc", 7, "{:.4f}".format),
    ("lr", "lr", 8, "{:.2e}".format),
    ("samples_per_s", "samples/s", 9, "{:.0f}".format),
    ("seconds", "time", 7, "{:.1f}s".format),
]
HIDDEN = {"epoch", "step", "data_wait"}  # in metrics.csv, not in the table
LINE_WIDTH = 80
ETA_WIDTH = 7


def epoch_table(metrics: dict, epochs: int) -> list[tuple[str, int, str]]:
    """(header, width, cell) of each column of one epoch's row: fits 80 columns for a
    classification run (extra metrics add columns)."""
    known = {key for key, *_ in COLUMNS}
    cells = [("epoch", len(f"{epochs}/{epochs}"), f"{metrics['epoch']}/{epochs}")]
    cells += [(head, width, fmt(metrics[key])) for key, head, width, fmt in COLUMNS if key in metrics]
    cells += [(key, max(len(key), 9), _number(value) if isinstance(value, float) else str(value))
              for key, value in metrics.items() if key not in known and key not in HIDDEN]
    return cells


def fit_row(cells: list[tuple[str, int, str]], width: int = LINE_WIDTH) -> tuple[list, list[str]]:
    """The columns that fit in `width` characters (the first ones, in order), and the others
    as indented `name value` lines of at most `width` characters each."""
    used, count = 0, 0
    for _, cell_width, _ in cells:
        if used + cell_width + (count > 0) > width:
            break
        used, count = used + cell_width + (count > 0), count + 1
    lines, line = [], ""
    for head, _, cell in cells[count:]:
        pair = f"{head} {cell}"
        if line and len(line) + 2 + len(pair) > width:
            lines.append(line)
            line = ""
        line = f"{line}  {pair}" if line else f"      {pair}"
    return cells[:count], lines + ([line] if line else [])


class ProgressBar(Callback):
    """Epoch, step, loss, accuracy, samples/s and ETA while training.

    On a terminal a rich bar is redrawn (at most 10 times a second). When stdout is not a
    terminal (a log file, CI) a plain line says where training is every `plain_every`
    seconds within an epoch. Either way each epoch ends with one row of a table (a header
    row first) that fits an 80-column terminal."""

    changes_training = False

    main_process_only = True

    def __init__(self, console: Console | None = None, plain_every: float = 30.0):
        self.console = console or Console(file=sys.stdout)
        self.live = self.console.is_terminal
        self.plain_every = plain_every
        self._last_plain = 0.0
        self._header_printed = False
        self._progress: Progress | None = None
        self._task = None
        self._fit_start = 0.0
        self._steps_at_start = 0
        self._last_draw = 0.0

    def on_fit_start(self, trainer) -> None:
        self._fit_start = self._last_plain = time.perf_counter()
        self._steps_at_start = trainer.global_step
        self._header_printed = False
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
        now = time.perf_counter()
        if self._progress is None:
            if now - self._last_plain >= self.plain_every and trainer.batch_in_epoch < trainer.steps_per_epoch:
                self._last_plain = now
                running = trainer.running_metrics()
                acc = f"  acc {running['acc']:.4f}" if "acc" in running else ""
                print(f"epoch {trainer.epoch + 1}/{trainer.epochs}  step {trainer.batch_in_epoch}/"
                      f"{trainer.steps_per_epoch}  loss {_number(running['loss'])}{acc}  "
                      f"{running['samples_per_s']:.0f} samples/s  eta {self._eta(trainer)}", flush=True)
            return
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
        self._last_plain = time.perf_counter()
        cells, overflow = fit_row(epoch_table(metrics, trainer.epochs), LINE_WIDTH - ETA_WIDTH - 1)
        cells.append(("eta", ETA_WIDTH, self._eta(trainer)))
        lines = [" ".join(cell.rjust(width) for _, width, cell in cells), *overflow]
        if not self._header_printed:
            lines.insert(0, " ".join(head.rjust(width) for head, width, _ in cells))
            self._header_printed = True
        if self._progress is not None:
            self._progress.remove_task(self._task)
            for line in lines:
                self._progress.console.print(line, highlight=False)
        else:
            print("\n".join(lines), flush=True)

    def on_fit_end(self, trainer, status) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
