"""`axon eval RUN_DIR`: test accuracy, per-class report and confusion matrix of a run."""

from __future__ import annotations

import argparse

from axon.cli import build_model, common_options


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval", help="test accuracy, per-class report and confusion matrix PNG of a run",
        description="Evaluate a run's checkpoint on its test split: print the accuracy and a "
        "per-class report, and write a confusion matrix PNG.",
        parents=[common_options()],
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by `axon train`")
    parser.add_argument("--checkpoint", choices=["best", "last"], default="best",
                        help="which checkpoint to evaluate (default: best)")
    parser.add_argument("--out", metavar="PNG",
                        help="where to write the confusion matrix (default: RUN_DIR/confusion_<checkpoint>.png)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from axon.train.run import evaluate_run, read_run_config

    config = read_run_config(args.run_dir)
    result = evaluate_run(args.run_dir, build_model(config),
                          checkpoint=args.checkpoint, out=args.out)
    print(f"test accuracy ({args.checkpoint} checkpoint): {result.accuracy:.4f}\n")
    print(result.report)
    print(f"confusion matrix: {result.confusion_png}")
    return 0
