"""`axon eval RUN_DIR`: top-1/top-5 accuracy, per-class report and confusion matrix of a run."""

from __future__ import annotations

import argparse

from axon.cli import common_options


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval", help="top-1/top-5 accuracy, per-class report and confusion matrix PNG of a run",
        description="Evaluate a run's checkpoint on its test split: print the top-1 and top-5 accuracy "
        "and a per-class report (precision, recall, F1), write a confusion matrix PNG and the metrics "
        "as RUN_DIR/eval_<checkpoint>.json.",
        parents=[common_options()],
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by `axon train`")
    parser.add_argument("--checkpoint", choices=["best", "last"], default="best",
                        help="which checkpoint to evaluate (default: best)")
    parser.add_argument("--out", metavar="PNG",
                        help="where to write the confusion matrix (default: RUN_DIR/confusion_<checkpoint>.png)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from axon.run import evaluate_run, load_run, run_task

    if run_task(args.run_dir) == "detection":
        from axon.run.detection import evaluate_detector

        print(evaluate_detector(load_run(args.run_dir, args.checkpoint), args.checkpoint).format())
        return 0

    result = evaluate_run(args.run_dir, checkpoint=args.checkpoint, out=args.out)
    metrics = result.metrics
    print(f"test accuracy ({args.checkpoint} checkpoint): {metrics.top1:.4f} (top-5 {metrics.top5:.4f})\n")
    print(metrics.report())
    if result.not_written:
        print(f"\nconfusion matrix and metrics file not written ({result.not_written})")
    else:
        print(f"\nconfusion matrix: {result.confusion_png}\nmetrics: {result.metrics_json}")
    return 0
