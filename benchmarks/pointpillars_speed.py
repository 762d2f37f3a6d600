"""PointPillars per-frame time on one synthetic KITTI-like sweep (64 beams, about 65k points),
full KITTI configuration (OpenPCDet's pointpillar.yaml), in eval mode: pillarization, Pillar
Feature Net + scatter, backbone + head, post-processing (decoding and rotated NMS); and
pillarization against the CPU voxelizer of `spconv` (`PointToVoxel`) where it is installed,
side by side (interleaved rounds, median ratio).

    .venv/bin/python benchmarks/pointpillars_speed.py [--device cpu|cuda] [--precision fp32|bf16]
        [--threads N] [--repeats 5] [--run RUN_DIR] [--tiny] [--train-memory] [--clock wall|cpu]

`--run` loads a trained run's weights (post-processing time depends on how many boxes pass the
score threshold; an untrained head passes none). `--tiny` uses a small grid and backbone (for
the CPU test of benchmarks/gpu_check.sh). `--train-memory` also measures the peak host memory
(max RSS) of training steps at batch 2 in a fresh process. Prints Markdown table rows.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from axon.threads import sleep_while_waiting

sleep_while_waiting()  # as the axon command does: waiting OpenMP threads sleep (before torch loads)

import numpy as np
import torch

from axon import zoo
from axon.bench.timing import paired_ratio, time_rounds
from axon.data.kitti_synth import kitti_like_calibration, make_scene
from axon.detect.anchors import make_anchors
from axon.detect.postprocess import decode_detections
from axon.nn.pillars import pad_pillars

TINY = dict(point_range=(0.0, -10.24, -3.0, 20.48, 10.24, 1.0), pillar_size=(0.32, 0.32, 4.0),
            max_pillars=(2000, 4000), layer_nums=(1, 1, 1), num_filters=(16, 32, 64),
            upsample_filters=(32, 32, 32), pfn_channels=16)


def sweep(seed: int = 0) -> torch.Tensor:
    scene = make_scene(np.random.default_rng(seed), kitti_like_calibration())
    return torch.from_numpy(scene.points)


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def timed(fn, repeats: int, clock=time.perf_counter) -> float:
    """Best seconds of `repeats` calls after one warm-up, on `clock`."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = clock()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, clock() - start)
    return best


def spconv_voxelizer(model):
    """spconv's CPU PointToVoxel with the model's grid, or None when spconv does not import."""
    try:
        from spconv.pytorch.utils import PointToVoxel
    except ImportError:
        return None
    grid = model.grid
    return PointToVoxel(vsize_xyz=list(grid.pillar_size), coors_range_xyz=list(grid.point_range),
                        num_point_features=4, max_num_voxels=model.max_pillars[1],
                        max_num_points_per_voxel=model.max_points)


def stage_times(model, points: torch.Tensor, device: torch.device, precision: str, repeats: int,
                clock=time.perf_counter) -> dict:
    anchors = make_anchors(model.feature_size, model.grid.point_range, model.anchor_config).to(device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
    batch = [t.to(device) for t in pad_pillars([model.pillarize(points)])]
    with torch.no_grad(), autocast:
        image = model.encode(*batch)
        outputs = model.detect_from_image(image)
        found = decode_detections(outputs, anchors)[0]
        times = {
            "pillarize": timed(lambda: model.pillarize(points.to(device)), repeats, clock),
            "pfn + scatter": timed(lambda: model.encode(*batch), repeats, clock),
            "backbone + head": timed(lambda: model.detect_from_image(image), repeats, clock),
            "post-processing": timed(lambda: decode_detections(outputs, anchors), repeats, clock),
        }
    times["pillars"] = int((batch[1] > 0).sum())
    times["detections"] = len(found.scores)
    return times


def train_memory(tiny: bool) -> None:
    """Peak RSS of 3 training steps at batch 2 (fresh process, so nothing else is counted)."""
    code = f"""
import resource, torch, numpy as np
from axon import zoo
from axon.data.kitti_synth import kitti_like_calibration, make_scene
from axon.detect.anchors import anchor_classes, make_anchors
from axon.detect.loss import DetectionLoss
from axon.detect.targets import assign_targets
from axon.nn.pillars import pad_pillars
model = zoo.create("pointpillars", **{TINY if tiny else {}!r})
anchors = make_anchors(model.feature_size, model.grid.point_range, model.anchor_config)
classes = anchor_classes(model.anchor_config).repeat(model.feature_size[0] * model.feature_size[1])
opt = torch.optim.AdamW(model.parameters(), 1e-3)
calib = kitti_like_calibration()
for step in range(3):
    frames, labels, boxes, dirs = [], [], [], []
    for b in range(2):
        points = torch.from_numpy(make_scene(np.random.default_rng(step * 2 + b), calib).points)
        frames.append(model.pillarize(points, torch.Generator().manual_seed(b)))
        t = assign_targets(anchors.reshape(-1, 7), classes, torch.zeros(0, 7), torch.zeros(0, dtype=torch.long),
                           (0.6, 0.5, 0.5), (0.45, 0.35, 0.35))
        labels.append(t.labels); boxes.append(t.boxes); dirs.append(t.directions)
    targets = {{"labels": torch.stack(labels), "boxes": torch.stack(boxes), "directions": torch.stack(dirs)}}
    loss = DetectionLoss()(model(*pad_pillars(frames)), targets)
    opt.zero_grad(); loss.backward(); opt.step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2)
"""
    peak = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                 .stdout.split()[-1])
    print(f"| training peak host memory, batch 2 ({'tiny' if tiny else 'full'} config) | {peak:.2f} GiB |"
          f" target <= 8 GiB |")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--run", help="a trained pointpillars run folder whose weights to load")
    parser.add_argument("--tiny", action="store_true", help="small grid and backbone (CPU smoke test)")
    parser.add_argument("--train-memory", action="store_true")
    parser.add_argument("--clock", choices=list(CLOCKS), default="wall",
                        help="wall time, or this process's CPU time (steadier on a shared machine; "
                             "with N threads it counts up to N x the wall time)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.run:
        from axon.run import load_run
        model = load_run(args.run).model
    else:
        model = zoo.create("pointpillars", **(TINY if args.tiny else {}))
    model = model.to(device).eval()
    points = sweep()
    clock = CLOCKS[args.clock]
    times = stage_times(model, points, device, args.precision, args.repeats, clock)
    total = sum(v for k, v in times.items() if isinstance(v, float))
    print(f"PointPillars, {'tiny' if args.tiny else 'full KITTI'} config, {args.device} {args.precision}, "
          f"{torch.get_num_threads()} threads, {len(points)} points, {times['pillars']} pillars, "
          f"{times['detections']} detections, {args.clock} time")
    print(f"| stage | ms per frame ({args.clock}) |\n| --- | ---: |")
    for stage, seconds in times.items():
        if isinstance(seconds, float):
            print(f"| {stage} | {seconds * 1e3:.1f} |")
    print(f"| total | {total * 1e3:.1f} ({1 / total:.1f} frames/s; the paper's plain PyTorch: 42 Hz on a GTX 1080 Ti) |")

    voxelizer = spconv_voxelizer(model) if device.type == "cpu" else None
    if voxelizer is None:
        print("spconv: not installed (pip install spconv) or not on CPU; no voxelizer comparison")
    else:
        samples = time_rounds({"axon": lambda: model.pillarize(points), "spconv": lambda: voxelizer(points)},
                              repeats=args.repeats * 2, warmup=2, clock=clock)
        print(f"| pillarize: axon {min(samples['axon']) * 1e3:.1f} ms, spconv PointToVoxel "
              f"{min(samples['spconv']) * 1e3:.1f} ms | axon / spconv time: "
              f"{paired_ratio(samples['axon'], samples['spconv']):.2f} |")
    if args.train_memory:
        train_memory(args.tiny)
    print(f"(load average {' '.join(open('/proc/loadavg').read().split()[:3])})")


if __name__ == "__main__":
    main()
