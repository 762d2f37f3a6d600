"""`axon detect`: synthetic KITTI scenes, the KITTI AP evaluation and bird's-eye-view pictures."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from axon.cli import common_options
from axon.errors import AxonError


def run_evaluate(args) -> int:
    from axon.detect.kitti_eval import evaluate_folders, format_table

    timer: dict = {}
    report = evaluate_folders(args.gt_dir, args.results_dir, split=args.split,
                              classes=tuple(args.classes), timer=timer)
    print(format_table(report))
    out = Path(args.json) if args.json else Path(args.results_dir) / "kitti_eval.json"
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        tmp.write_text(json.dumps(report, indent=2) + "\n")
        os.replace(tmp, out)
    except OSError as err:
        raise AxonError(f"{out}: cannot write the JSON report ({err.strerror})") from None
    finally:
        tmp.unlink(missing_ok=True)
    print(f"written {out}", file=sys.stderr)
    return 0


def run_synth(args) -> int:
    from axon.data.kitti_synth import write_synthetic_kitti

    if args.scenes < 1:
        raise AxonError(f"--scenes: {args.scenes}; expected at least 1")
    if not 0 <= args.val_fraction <= 1:
        raise AxonError(f"--val-fraction: {args.val_fraction}; expected a value in [0, 1]")
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise AxonError(f"{out}: exists and is not empty; synthetic scenes go into a new folder")
    write_synthetic_kitti(out, args.scenes, seed=args.seed, val_fraction=args.val_fraction,
                          detections=args.detections)
    print(f"{args.scenes} scenes written to {out}" + (f" (simulated detections in {out / 'results'})"
                                                       if args.detections else ""))
    return 0


def run_show(args) -> int:
    from axon.detect.show import show_scene

    print(show_scene(args.scene, results=args.results, out=args.out, extent=args.extent))
    return 0


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "detect", help="3D detection on KITTI-format data: synthetic scenes, AP evaluation, BEV pictures",
        description="3D object detection tools on KITTI-format data (see docs/detect.md).")
    sub = parser.add_subparsers(dest="detect_command", metavar="SUBCOMMAND", required=True)

    synth = sub.add_parser(
        "synth", parents=[common_options()], help="write synthetic lidar scenes in the KITTI object layout",
        description="Generate seeded synthetic scenes (ground, cars, vans, pedestrians, cyclists) swept by "
        "a simulated 64-beam spinning lidar, with KITTI labels (2D boxes, truncation, occlusion) from a "
        "KITTI-like calibration, written as OUT/ImageSets and OUT/training/{velodyne,label_2,calib,image_2}.")
    synth.add_argument("out", metavar="OUT", help="a new (or empty) folder")
    synth.add_argument("--scenes", type=int, default=10, help="number of frames (default 10)")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--val-fraction", type=float, default=0.5, help="share of frames in val.txt (the last ones)")
    synth.add_argument("--detections", action="store_true",
                       help="also write a simulated detector's result files to OUT/results (to try `evaluate`)")
    synth.set_defaults(func=run_synth)

    show = sub.add_parser(
        "show", parents=[common_options()], help="bird's-eye-view PNG of a frame with its boxes",
        description="Draw a KITTI frame from above: the points of SCENE (a velodyne/<id>.bin file), the "
        "ground-truth boxes of ../label_2/<id>.txt and, with --results, the detections with their scores.")
    show.add_argument("scene", metavar="SCENE", help="a velodyne .bin file inside a KITTI folder")
    show.add_argument("--results", metavar="DIR", help="folder of result files to draw as detections")
    show.add_argument("--out", metavar="PNG", help="output file (default <id>_bev.png)")
    show.add_argument("--extent", type=float, default=70.0, help="metres shown ahead (default 70)")
    show.set_defaults(func=run_show)

    evaluate = sub.add_parser(
        "evaluate", parents=[common_options()],
        help="KITTI AP (bbox, BEV, 3D, AOS; easy/moderate/hard; 11-point and R40) of result files",
        description="Evaluate KITTI result files (label format with a 16th score column, one file per "
        "frame) against ground-truth labels with the official protocol; prints the familiar table and "
        "writes it as JSON.")
    evaluate.add_argument("gt_dir", metavar="GT_DIR", help="label_2 folder (or a folder holding one)")
    evaluate.add_argument("results_dir", metavar="RESULTS_DIR", help="folder of result files, same names")
    evaluate.add_argument("--split", metavar="FILE", help="ImageSets file naming the frames (default: every GT file)")
    evaluate.add_argument("--classes", nargs="+", default=["Car", "Pedestrian", "Cyclist"], metavar="CLASS",
                          choices=["Car", "Pedestrian", "Cyclist", "Van", "Person_sitting", "Truck"])
    evaluate.add_argument("--json", metavar="FILE", help="where to write the JSON (default RESULTS_DIR/kitti_eval.json)")
    evaluate.set_defaults(func=run_evaluate)
