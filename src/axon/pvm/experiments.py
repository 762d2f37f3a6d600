"""The seed's experiments on a trained snapshot: dreaming, blind-spot filling, tracking
with the readout heatmaps; and the scaling experiment (several models trained for the
same number of steps, error curves on one plot)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from axon.data.video import open_source
from axon.errors import ConfigError
from axon.pvm.config import PVMConfig
from axon.pvm.runner import PVMRunner
from axon.pvm.snapshot import read_snapshot_state


def _image(t: torch.Tensor) -> np.ndarray:
    """`(bands, H, W)` -> `(H, W, 3)` or `(H, W)` NumPy in [0, 1]."""
    a = t.detach().float().cpu().clamp(0, 1).permute(1, 2, 0).numpy()
    return a[:, :, 0] if a.shape[2] == 1 else a


def runner_from_snapshot(snapshot: str | Path, out_dir: str | Path, source: str = "camera",
                         device: str = "cpu") -> PVMRunner:
    """A runner holding a snapshot's model and state, reading `source`, learning frozen."""
    from axon.pvm.config import parse_model

    state = read_snapshot_state(snapshot)
    cfg = parse_model(state["model"], f"{snapshot} (model)")
    src = open_source(source, (cfg.input_size, cfg.input_size), cfg.input_channels)
    runner = PVMRunner(cfg, src, out_dir, device, metrics_every=0, progress=False)
    runner.resume(snapshot)
    runner.dream = runner.blindspot = runner.noise = runner.engine.deep_dream = False
    runner.engine.frozen = True
    return runner


def dream(snapshot, out_dir, steps: int = 40, warmup: int = 10, source: str = "camera",
          columns: int = 10, device: str = "cpu", video: str | Path | None = None) -> dict:
    """Let the model see `warmup` real frames, then feed its own predicted frame back as
    input for `steps` steps. Writes `dream.png`: the real continuation above the dream;
    with `video`, also a video of real | dream side by side."""
    if steps < 1 or warmup < 1:
        raise ConfigError(f"dream: expected steps >= 1 and warmup >= 1, got {steps}, {warmup}")
    runner = runner_from_snapshot(snapshot, out_dir, source, device)
    for _ in range(warmup):
        runner.step()
    start = runner.step_count
    runner.dream = True
    real, dreamed = [], []
    for _ in range(steps):
        real.append(runner.source.frame(runner.step_count).image)
        dreamed.append(runner.prediction_image().cpu())
        runner.step()
    if video is not None:
        from axon.data.video import VideoWriter

        writer = VideoWriter(video)
        for r, d in zip(real, dreamed):
            pair = np.concatenate([_image(r), _image(d)], axis=1)
            pair = np.repeat(np.repeat(pair, 4, 0), 4, 1)
            writer.write((np.atleast_3d(pair) * 255).round().astype(np.uint8)
                         .repeat(3 if pair.ndim == 2 else 1, axis=2))
        writer.close()
    stride = max(1, math.ceil(steps / columns))
    from axon.viz.pvm import save_image_rows

    idx = list(range(0, steps, stride))
    path = save_image_rows(
        Path(out_dir) / "dream.png",
        [("real video", [_image(real[i]) for i in idx]), ("dream", [_image(dreamed[i]) for i in idx])],
        [f"t+{i}" for i in idx], f"dream from step {start} of {runner.cfg.name}")
    drift = [float(((d - r) ** 2).mean()) for d, r in zip(dreamed, real)]
    return {"path": str(path), "mse_vs_real": drift}


def fill(snapshot, out_dir, steps: int = 60, warmup: int = 10, source: str = "camera",
         fraction: float = 1 / 3, device: str = "cpu") -> dict:
    """Blank the central square of every input frame and compare, inside the square,
    the model's prediction of each frame with the true frame (and with leaving the
    square blank). Writes `fill.png` (input, filled-in, truth)."""
    if not 0 < fraction < 1:
        raise ConfigError(f"fill --fraction: expected between 0 and 1, got {fraction}")
    runner = runner_from_snapshot(snapshot, out_dir, source, device)
    runner.blindspot, runner.blindspot_fraction = True, fraction
    y0, y1, x0, x1 = runner.blindspot_box()
    sq_fill = sq_blank = 0.0
    count = 0
    shown = []
    for k in range(warmup + steps):
        filled = runner.prediction_image().cpu()
        truth = runner.source.frame(runner.step_count).image
        runner.step()
        if k < warmup:
            continue
        inside_t, inside_f = truth[:, y0:y1, x0:x1], filled[:, y0:y1, x0:x1]
        sq_fill += float(((inside_f - inside_t) ** 2).sum())
        sq_blank += float(((0.5 - inside_t) ** 2).sum())
        count += inside_t.numel()
        if len(shown) < 8 and (k - warmup) % max(1, steps // 8) == 0:
            composite = runner.last_frame.image.clone()
            composite[:, y0:y1, x0:x1] = filled[:, y0:y1, x0:x1]
            shown.append((runner.last_frame.image, composite, truth))
    from axon.viz.pvm import save_image_rows

    result = {"mse_filled": sq_fill / count, "mse_blank": sq_blank / count}
    path = save_image_rows(
        Path(out_dir) / "fill.png",
        [("input", [_image(a) for a, _, _ in shown]),
         ("filled in", [_image(b) for _, b, _ in shown]),
         ("truth", [_image(c) for _, _, c in shown])],
        None, f"blind spot: mse inside {result['mse_filled']:.4f} filled vs "
              f"{result['mse_blank']:.4f} blank")
    result["path"] = str(path)
    return result


def heatmap(runner: PVMRunner, layers: list[int] | None = None) -> torch.Tensor:
    """The readout heatmaps of `layers` (default all), each resized to the input,
    averaged: `(H, W)`."""
    cfg, eng = runner.cfg, runner.engine
    maps = []
    for l, layer in enumerate(eng.layers):
        if layers is not None and l not in layers:
            continue
        t = cfg.readout.tile(l)
        side = layer.topo.side
        heat = runner.collective.gather_units(l, layer.heat).detach().float().cpu()
        img = heat.reshape(side, side, t, t).permute(0, 2, 1, 3).reshape(side * t, side * t)
        maps.append(F.interpolate(img[None, None], size=(cfg.input_size,) * 2,
                                  mode="bilinear", align_corners=False)[0, 0])
    return torch.stack(maps).mean(0)


def heatmap_box(heat: torch.Tensor) -> tuple[int, int, int, int]:
    """Threshold halfway between the heatmap's median and maximum, keep the connected
    region holding the peak, and return its box (x0, y0, x1, y1; x1, y1 exclusive)."""
    from scipy import ndimage

    h = heat.numpy()
    thr = 0.5 * (float(np.median(h)) + float(h.max()))
    labels, _ = ndimage.label(h >= thr)
    peak = np.unravel_index(int(np.argmax(h)), h.shape)
    ys, xs = np.nonzero(labels == labels[peak])
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def box_iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def track(snapshot, out_dir, steps: int = 100, source: str = "shapes",
          device: str = "cpu", layers: list[int] | None = None) -> dict:
    """Track the labelled object with the readout heatmaps of `layers` (default all)
    over `steps` frames: IoU of the heatmap box with the label box; accuracy = fraction
    of labelled frames with IoU >= 0.5. Writes `track.png`."""
    runner = runner_from_snapshot(snapshot, out_dir, source, device)
    if runner.cfg.readout is None:
        raise ConfigError(f"{snapshot}: the model has no readout; add a readout section")
    n_layers = len(runner.cfg.layer_shapes)
    for l in layers or []:
        if not 0 <= l < n_layers:
            raise ConfigError(f"track --layers: layer {l} does not exist (0..{n_layers - 1})")
    if not runner.source.labelled:
        raise ConfigError(f"track --source {source}: needs a labelled source (shapes)")
    ious, shown = [], []
    for k in range(steps):
        runner.step()
        frame = runner.last_frame
        heat = heatmap(runner, layers)
        box = heatmap_box(heat)
        if frame.box is not None:
            ious.append(box_iou(box, frame.box))
        if len(shown) < 8 and k % max(1, steps // 8) == 0:
            shown.append((_boxed(frame.image, box, frame.box), heat.numpy()))
    from axon.viz.pvm import save_image_rows

    result = {"frames": len(ious), "mean_iou": float(np.mean(ious)) if ious else math.nan,
              "accuracy": float(np.mean([i >= 0.5 for i in ious])) if ious else math.nan}
    path = save_image_rows(
        Path(out_dir) / "track.png",
        [("yellow: found\ncyan: label", [a for a, _ in shown]),
         ("heatmap", [np.clip((h - h.min()) / (np.ptp(h) + 1e-9), 0, 1) for _, h in shown])],
        None, f"tracking: accuracy {result['accuracy']:.2f}, mean IoU {result['mean_iou']:.2f}")
    result["path"] = str(path)
    return result


def _boxed(image: torch.Tensor, found, label) -> np.ndarray:
    img = _image(image)
    img = np.repeat(img[:, :, None], 3, 2) if img.ndim == 2 else img.copy()
    for box, colour in ((label, (0, 1, 1)), (found, (1, 1, 0))):
        if box is None:
            continue
        x0, y0, x1, y1 = box
        img[y0, x0:x1] = img[y1 - 1, x0:x1] = colour
        img[y0:y1, x0] = img[y0:y1, x1 - 1] = colour
    return img


def read_metrics(path: str | Path) -> dict[str, list[float]]:
    """A metrics.csv as columns."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ConfigError(f"{path}: no metrics rows yet")
    return {k: [float(r[k]) for r in rows] for k in rows[0]}


def plot_run(run_dir: str | Path) -> Path:
    """Per-layer squared prediction error of a run, with layer 0's copy-last-frame
    baseline: `RUN/errors.png`."""
    from axon.viz.pvm import plot_curves

    run_dir = Path(run_dir)
    m = read_metrics(run_dir / "metrics.csv")
    curves = {f"layer {k[4:]}": (m["step"], m[k]) for k in m if k.startswith("mse_")}
    curves["layer 0: next frame = this frame"] = (m["step"], m["copy_mse_0"])
    return plot_curves(run_dir / "errors.png", curves, "mean squared prediction error",
                       f"{run_dir.name}: per-layer prediction error")


def scale(models: list[PVMConfig], steps: int, out_dir, source: str = "camera",
          metrics_every: int = 100, device: str = "cpu", log=print) -> dict:
    """Train each model for `steps` steps on `source` (each in OUT/<name>) and plot their
    layer-0 and all-layer squared errors on one plot: OUT/scaling.png."""
    from axon.viz.pvm import plot_curves

    if steps < metrics_every:
        raise ConfigError(f"--steps {steps} is fewer than --metrics-every {metrics_every}: no error would be "
                          f"measured to plot; give at least {metrics_every} steps or a smaller --metrics-every")
    out_dir = Path(out_dir)
    curves, finals = {}, {}
    for cfg in models:
        src = open_source(source, (cfg.input_size, cfg.input_size), cfg.input_channels)
        runner = PVMRunner(cfg, src, out_dir / cfg.name, device, metrics_every=metrics_every,
                           progress=False)
        runner.run(steps, log=lambda line, n=cfg.name: log(f"{n}: {line}"))
        m = read_metrics(out_dir / cfg.name / "metrics.csv")
        layers = [k for k in m if k.startswith("mse_")]
        overall = [float(np.mean([m[k][i] for k in layers])) for i in range(len(m["step"]))]
        curves[f"{cfg.name}: layer 0"] = (m["step"], m["mse_0"])
        curves[f"{cfg.name}: mean of layers"] = (m["step"], overall)
        finals[cfg.name] = {"mse_0": m["mse_0"][-1], "mean_mse": overall[-1],
                            "copy_mse_0": m["copy_mse_0"][-1]}
    path = plot_curves(out_dir / "scaling.png", curves, "mean squared prediction error",
                       f"scaling: {len(models)} models, {steps} steps each")
    return {"path": str(path), "final": finals}
