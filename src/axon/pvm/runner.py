"""The PVM runner: steps a model over a video source and writes what it sees.

Output folder:
    model.json                    the model being run
    metrics.csv                   every K steps: steps/s, learning rate, per-layer mean
                                  absolute and mean squared prediction error over the
                                  last K steps, and each layer's squared error of
                                  predicting "next signal = this signal" (copy_mse_l;
                                  layer 0: "next frame = this frame") for comparison
    snapshots/step_NNNNNNNN.safetensors   resumable snapshots (weights + JSON state)
    display/step_NNNNNNNN.png     the display grid (input, states, predictions, errors,
                                  readout heatmaps, one-frame-ahead prediction)

The runner also executes commands from the debug shell between steps (`call`), so a
shell never sees a model half-way through a step.
"""

from __future__ import annotations

import csv
import math
import queue
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from axon.data.video import Frame, FrameSource
from axon.errors import CheckpointError, ConfigError, RunDirError
from axon.pvm.config import PVMConfig
from axon.pvm.engine import PVMEngine
from axon.pvm.graph import GraphedStep
from axon.pvm.snapshot import load_snapshot, save_snapshot


def check_new_output(out_dir: str | Path, resume: str | Path | None = None) -> None:
    """Refuse to start a run in `out_dir` when it holds an earlier run's output (it would
    replace that run's metrics.csv and snapshots and mix in its displays). A run resumed
    from a snapshot inside `out_dir` continues there."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise RunDirError(f"--out {out_dir}: exists and is not a folder")
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return
    if resume is not None and out_dir.resolve() in Path(resume).resolve().parents:
        return
    snapshots = sorted((out_dir / "snapshots").glob("step_*.safetensors"))
    how = f", or continue it with --resume {snapshots[-1]}" if snapshots else ""
    raise RunDirError(f"--out {out_dir}: folder exists and holds an earlier run's output; "
                      f"give another --out, remove the folder{how}")


class Local:
    """The single-process collective: every unit is here."""

    rank, world, is_root = 0, 1, True

    def owned(self, cfg: PVMConfig) -> None:
        return None

    def sum(self, t: torch.Tensor) -> torch.Tensor:
        return t

    def gather_units(self, layer: int, owned: torch.Tensor) -> torch.Tensor:
        return owned


def check_merge_layers(cfg: PVMConfig, merge_layers: bool | str) -> None:
    """Raise ConfigError unless `merge_layers` is True, False or "auto", and True only
    with the pipelined step (the bottom-up step reads each layer's states before the
    next layer's units run, so layers cannot be stepped as one batch)."""
    if merge_layers not in (True, False, "auto"):
        raise ConfigError(f"merge_layers: expected True, False or 'auto', got {merge_layers!r}")
    if merge_layers is True and cfg.step != "pipelined":
        raise ConfigError(f"merge_layers on: model {cfg.name!r} has step {cfg.step!r}; merging "
                          "layers needs step \"pipelined\" (e.g. --set step=pipelined)")


class PVMRunner:
    """Run `cfg` over `source`, writing into `out_dir` (see module docstring).

    `metrics_every`, `display_every`, `snapshot_every`: intervals in steps (0 = never).
    `collective` splits the units over processes (see axon.pvm.parallel); only the root
    process writes files. `video`: also append each display to this video file (PyAV).
    `graphs`: on CUDA with one process, replay each step from a CUDA graph
    (axon.pvm.graph; falls back to eager steps with a warning if capturing fails).
    `merge_layers`: True, False or "auto" (see `PVMEngine`); True needs the pipelined step.
    """

    def __init__(self, cfg: PVMConfig, source: FrameSource, out_dir: str | Path,
                 device: str = "cpu", metrics_every: int = 100, display_every: int = 0,
                 snapshot_every: int = 0, collective=None, progress: bool = True,
                 video: str | Path | None = None, graphs: bool = True,
                 merge_layers: bool | str = "auto"):
        want = (cfg.input_size, cfg.input_size)
        if tuple(source.size) != want or source.bands != cfg.input_channels:
            raise ConfigError(
                f"source {source.describe()}: gives {source.bands}x{source.size[0]}x"
                f"{source.size[1]} frames, model {cfg.name} needs {cfg.input_channels}x"
                f"{want[0]}x{want[1]}")
        for name, value in (("metrics_every", metrics_every), ("display_every", display_every),
                            ("snapshot_every", snapshot_every)):
            if value < 0:
                raise ConfigError(f"{name}: expected >= 0 steps, got {value}")
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(f"--device {device}: CUDA is not available on this machine")
        check_merge_layers(cfg, merge_layers)
        self.cfg, self.source, self.out_dir = cfg, source, Path(out_dir)
        self.collective = collective or Local()
        single = isinstance(self.collective, Local)  # no exchanges: CUDA graphs possible
        self.engine = PVMEngine(cfg, device, owned=self.collective.owned(cfg),
                                exchange=None if single else self.collective.exchange,
                                exchange_all=None if single else self.collective.exchange_all,
                                merge_layers=merge_layers)
        self.stepper: PVMEngine | GraphedStep = self.engine
        if graphs and self.engine.device.type == "cuda" and single:
            self.stepper = GraphedStep(self.engine)
        self.metrics_every, self.display_every = metrics_every, display_every
        self.snapshot_every, self.progress = snapshot_every, progress
        # input modes
        self.dream = self.blindspot = self.noise = False
        self.blindspot_fraction = 1 / 3
        self.noise_std = 0.1
        # shell control
        self.paused = False
        self.stop_requested = False
        self.finished = False
        self._commands: queue.Queue = queue.Queue()
        self.last_metrics: dict[str, float] = {}
        self._rate_clock = (time.perf_counter(), 0)
        self.steps_per_s = 0.0
        self.last_frame: Frame | None = None
        self.video = None
        if video is not None and self.collective.is_root:
            from axon.data.video import VideoWriter

            self.video = VideoWriter(video)
        if self.collective.is_root:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / "model.json").write_text(cfg.to_json())

    @property
    def step_count(self) -> int:
        return self.engine.step_count

    # -- input --------------------------------------------------------------
    def blindspot_box(self) -> tuple[int, int, int, int]:
        """(y0, y1, x0, x1) of the central blanked square."""
        n = self.cfg.input_size
        side = max(1, round(n * self.blindspot_fraction))
        a = (n - side) // 2
        return a, a + side, a, a + side

    def prediction_image(self) -> torch.Tensor:
        """Layer 0's prediction of the next frame `(bands, H, W)`, from every process."""
        eng = self.engine
        pred = self.collective.gather_units(0, eng.layers[0].pred)
        cfg = self.cfg
        b, g, c = cfg.input_block_size, cfg.layer_shapes[0], cfg.input_channels
        return pred.reshape(g, g, c, b, b).permute(2, 0, 3, 1, 4).reshape(c, g * b, g * b)

    def input_frame(self) -> Frame:
        """The frame the model reads at the current step, after the input modes."""
        t = self.step_count
        frame = self.source.frame(t)
        image = frame.image
        if self.dream and self.engine.has_pred:
            image = self.prediction_image().cpu()
        if self.noise:
            g = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + t)
            image = (image + self.noise_std * torch.randn(image.shape, generator=g)).clamp(0, 1)
        if self.blindspot:
            y0, y1, x0, x1 = self.blindspot_box()
            image = image.clone()
            image[:, y0:y1, x0:x1] = 0.5
        return Frame(image, frame.mask, frame.box)

    # -- stepping -------------------------------------------------------------
    def step(self) -> None:
        frame = self.input_frame()
        self.last_frame = frame
        self.stepper.step(frame.image, frame.mask)
        t = self.step_count
        if self.metrics_every and t % self.metrics_every == 0:
            self._metrics()
        if self.display_every and t % self.display_every == 0:
            self.write_display(self.out_dir / "display" / f"step_{t:08d}.png")
        if self.snapshot_every and t % self.snapshot_every == 0:
            self.snapshot(self.snapshot_path(t))

    def snapshot_path(self, step: int) -> Path:
        return self.out_dir / "snapshots" / f"step_{step:08d}.safetensors"

    def run(self, steps: int, log: Callable[[str], None] | None = None,
            final_snapshot: bool = True) -> None:
        """Run until `steps` steps in total have been taken (or the shell says quit),
        executing shell commands between steps; then write a final snapshot (unless
        `final_snapshot` is False)."""
        if steps < 0:
            raise ConfigError(f"--steps: expected >= 0, got {steps}")
        log = log or (lambda line: print(line, flush=True))
        if self.collective.is_root:
            self._trim_metrics()
            self._clean_interrupted_writes()
        self._rate_clock = (time.perf_counter(), self.step_count)
        bar = _Progress(steps, self.step_count, self.progress and self.collective.is_root
                        and sys.stdout.isatty())
        with bar:
            while not self.stop_requested:
                self._drain_commands(block=self.paused)
                if self.stop_requested:
                    break
                if self.paused:
                    continue
                if self.step_count >= steps:
                    break
                self.step()
                bar.update(self.step_count, self.status_line())
                if (self.metrics_every and self.step_count % self.metrics_every == 0
                        and not bar.live and self.collective.is_root):
                    log(self.status_line())
        if final_snapshot:
            self.snapshot(self.snapshot_path(self.step_count))
        if self.video is not None:
            self.video.close()
        self.finished = True
        self._drain_commands(block=False, ended=True)

    # -- metrics --------------------------------------------------------------
    def _metrics(self) -> None:
        eng, col = self.engine, self.collective
        sums = col.sum(torch.cat([eng.err_abs, eng.err_sq, eng.err_count,
                                  eng.copy_sq]))
        n = len(eng.layers)
        abs_, sq, count, copy = sums[:n], sums[n:2 * n], sums[2 * n:3 * n], sums[3 * n:]
        eng.reset_metrics()
        now, step = time.perf_counter(), self.step_count
        t0, s0 = self._rate_clock
        self.steps_per_s = (step - s0) / max(now - t0, 1e-9)
        self._rate_clock = (now, step)
        row = {"step": step, "steps_per_s": round(self.steps_per_s, 3),
               "learning_rate_0": eng.learning_rate(0)}
        for l in range(n):
            c = count[l].item()
            row[f"mae_{l}"] = abs_[l].item() / c if c else math.nan
            row[f"mse_{l}"] = sq[l].item() / c if c else math.nan
        for l in range(n):
            c = count[l].item()
            row[f"copy_mse_{l}"] = copy[l].item() / c if c else math.nan
        self.last_metrics = row
        if col.is_root:
            path = self.out_dir / "metrics.csv"
            new = not path.exists()
            with open(path, "a", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(row))
                if new:
                    writer.writeheader()
                writer.writerow(row)

    def _trim_metrics(self) -> None:
        """Keep only the metrics rows of steps up to the current one, so a fresh run
        starts a new metrics.csv and a resumed run continues its own history."""
        path = self.out_dir / "metrics.csv"
        if not path.exists():
            return
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        keep = [r for r in rows if int(r["step"]) <= self.step_count]
        if len(keep) == len(rows):
            return
        if not keep:
            path.unlink()
            return
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(keep[0]))
            writer.writeheader()
            writer.writerows(keep)
        tmp.replace(path)

    def _clean_interrupted_writes(self) -> None:
        """Delete the temporary files of snapshot and display writes a kill interrupted."""
        for folder in (self.out_dir / "snapshots", self.out_dir / "display"):
            if folder.is_dir():
                for path in folder.glob(".*.tmp-*"):
                    path.unlink(missing_ok=True)

    def status_line(self) -> str:
        m = self.last_metrics
        if not m:
            return f"step {self.step_count}"
        errs = " ".join(f"L{l} {m[f'mse_{l}']:.4g}" for l in range(len(self.engine.layers)))
        return (f"step {m['step']}  {m['steps_per_s']:.1f} steps/s  mse {errs}  "
                f"(copy-last-frame {m['copy_mse_0']:.4g})")

    # -- snapshots --------------------------------------------------------------
    def full_tensors(self) -> dict[str, torch.Tensor]:
        """Every state tensor of the whole model (gathered from all processes), and the
        metric sums since the last metrics row, `metrics (4, layers)`: absolute and
        squared error, value count and copy-baseline squared error (summed over processes)."""
        out = {}
        for name, t in self.engine.state_tensors().items():
            if name == "hidden_prev":
                out[name] = t
            else:
                out[name] = self.collective.gather_units(int(name.split(".")[0][5:]), t)
        eng = self.engine
        sums = self.collective.sum(torch.cat([eng.err_abs, eng.err_sq, eng.err_count, eng.copy_sq]))
        out["metrics"] = sums.reshape(4, len(eng.layers))
        return out

    def state(self) -> dict:
        eng = self.engine
        return {
            "model": self.cfg.model_dump(mode="json"), "step": eng.step_count,
            "has_pred": eng.has_pred, "source": self.source.describe(),
            "switches": {"frozen": eng.frozen, "lr_override": eng.lr_override,
                         "lateral": eng.lateral, "feedback": eng.feedback,
                         "deep_dream": eng.deep_dream, "dream": self.dream,
                         "blindspot": self.blindspot, "noise": self.noise},
        }

    def snapshot(self, path: str | Path) -> Path | None:
        tensors = self.full_tensors()
        if not self.collective.is_root:
            return None
        return save_snapshot(path, tensors, self.state())

    def resume(self, path: str | Path) -> None:
        """Continue from a snapshot of the same model (anything else is an error and
        changes nothing)."""
        _, state, tensors = load_snapshot(path, expect=self.cfg)
        eng = self.engine
        sums = tensors.get("metrics", torch.zeros(4, len(eng.layers), dtype=torch.float64))
        if sums.shape != (4, len(eng.layers)) or sums.dtype != torch.float64 or not sums.isfinite().all():
            raise CheckpointError(f"{path}: snapshot tensor metrics has shape {tuple(sums.shape)} "
                                  f"({sums.dtype}), expected finite float64 (4, {len(eng.layers)})")
        eng.load_state_tensors(tensors)
        if not self.collective.is_root:  # the root carries the sums of every process
            sums = torch.zeros_like(sums)
        for accumulator, saved in zip((eng.err_abs, eng.err_sq, eng.err_count, eng.copy_sq), sums):
            accumulator.copy_(saved)
        eng.step_count, eng.has_pred = int(state["step"]), bool(state["has_pred"])
        sw = state["switches"]
        eng.frozen, eng.lr_override = sw["frozen"], sw["lr_override"]
        eng.lateral, eng.feedback, eng.deep_dream = sw["lateral"], sw["feedback"], sw["deep_dream"]
        self.dream, self.blindspot, self.noise = sw["dream"], sw["blindspot"], sw["noise"]

    # -- display ----------------------------------------------------------------
    def display_panels(self) -> dict:
        from axon.pvm.display import panels

        return panels(self)

    def write_display(self, path: Path) -> None:
        from axon.viz.pvm import display_figure, figure_pixels, save_display

        p = self.display_panels()
        if self.collective.is_root:
            save_display(path, p)
            if self.video is not None:
                self.video.write(figure_pixels(display_figure(p)))

    # -- shell commands -----------------------------------------------------------
    def call(self, fn: Callable[[], str]) -> str:
        """Run `fn` on the runner's thread between steps; return its reply. Called from
        shell threads."""
        reply: queue.Queue = queue.Queue(maxsize=1)
        self._commands.put((fn, reply))
        while True:
            try:
                return reply.get(timeout=1.0)
            except queue.Empty:
                if self.finished:
                    return "error: the run has ended"

    def _drain_commands(self, block: bool, ended: bool = False) -> None:
        while True:
            try:
                fn, reply = self._commands.get(block=block)
            except queue.Empty:
                return
            if ended:
                reply.put("error: the run has ended")
                continue
            try:
                out = fn()
            except Exception as err:  # a shell command must never bring the run down
                out = f"error: {err}"
            reply.put(out)
            block = False


class _Progress:
    """A rich progress bar on a terminal; nothing otherwise (plain lines are logged)."""

    def __init__(self, total: int, done: int, live: bool):
        self.live, self.total, self.done = live, total, done
        self._bar = None

    def __enter__(self):
        if self.live:
            from rich.progress import BarColumn, Progress, TextColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                 TextColumn("{task.completed}/{task.total}"))
            self._bar.start()
            self._task = self._bar.add_task("pvm", total=self.total, completed=self.done)
        return self

    def update(self, done: int, text: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done, description=text)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()
