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


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "detect", help="3D detection on KITTI-format data: synthetic scenes, AP evaluation, BEV pictures",
        description="3D object detection tools on KITTI-format data (see docs/detect.md).")
    sub = parser.add_subparsers(dest="detect_command", metavar="SUBCOMMAND", required=True)

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
