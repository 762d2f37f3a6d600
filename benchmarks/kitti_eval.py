"""The KITTI evaluation of a KITTI-val-sized set: 3,769 frames of synthetic ground truth and
simulated detections, 3 classes, bbox/BEV/3D/AOS, both interpolations.

    python benchmarks/kitti_eval.py [--frames 3769] [--threads 2]

Ground truth comes from axon's synthetic scenes (labels only: a coarse front-facing lidar
decides occlusion), detections from `simulated_detections` (jittered boxes, misses, false
positives). Both are written as KITTI label files and evaluated through
`axon.detect.kitti_eval.evaluate_folders`, as `axon detect evaluate` does; the time per frame is
printed with where it goes (reading the files, packing frames into tensors, overlaps per metric,
the matching per metric).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from axon.data.kitti import write_label
from axon.data.kitti_synth import LidarSpec, kitti_like_calibration, make_scene, simulated_detections
from axon.detect.kitti_eval import evaluate_folders, format_table


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=3769)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", metavar="DIR", help="keep the generated files here and reuse them on the next run")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    calib = kitti_like_calibration()
    coarse = LidarSpec(beams=32, columns=256, fov=90)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.data) if args.data else Path(tmp)
        gt_dir, dt_dir = root / "label_2", root / "results"
        tic = time.perf_counter()
        counts = np.zeros(2, dtype=np.int64)
        have = len(list(gt_dir.glob("*.txt"))) if gt_dir.is_dir() else 0
        for index in range(args.frames if have != args.frames else 0):
            rng = np.random.default_rng(np.random.SeedSequence(args.seed, spawn_key=(index,)))
            labels = make_scene(rng, calib, coarse).labels
            detections = simulated_detections(labels, rng)
            write_label(gt_dir / f"{index:06d}.txt", labels)
            write_label(dt_dir / f"{index:06d}.txt", detections)
            counts += (len(labels), len(detections))
        print(f"generated {args.frames} frames ({counts[0]} objects, {counts[1]} detections) "
              f"in {time.perf_counter() - tic:.1f} s")
        print(f"load average before the evaluation {open('/proc/loadavg').read().split()[:3]}, "
              f"torch threads {args.threads}")
        timer: dict = {}
        tic, cpu = time.perf_counter(), time.process_time()
        report = evaluate_folders(gt_dir, dt_dir, timer=timer)
        total, cpu = time.perf_counter() - tic, time.process_time() - cpu
    print(format_table(report))
    print(f"load average after {open('/proc/loadavg').read().split()[:3]}")
    print(f"total {total:.2f} s wall ({cpu:.2f} s CPU, all threads) for {args.frames} frames: "
          f"{1000 * total / args.frames:.2f} ms per frame")
    timer["other"] = total - sum(timer.values())
    for name, seconds in timer.items():
        print(f"  {name:20s} {seconds:7.2f} s  {1000 * seconds / args.frames:6.3f} ms/frame")


if __name__ == "__main__":
    main()
