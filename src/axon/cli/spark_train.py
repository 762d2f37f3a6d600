"""`axon spark-train CONFIG --num-processes N`: data-parallel training on a Spark cluster."""

from __future__ import annotations

import argparse

from axon.cli import common_options
from axon.errors import ConfigError

DESCRIPTION = """\
Run the training a config describes (as `axon train`) with N processes that Spark starts
through pyspark's TorchDistributor (needs the spark extra: pip install 'axon[spark]').
Each process takes batch_size samples per step (global batch batch_size * N). The run
folder (OUT/NAME) must be on a file system every Spark executor sees.

Examples:
  axon spark-train config.yaml --num-processes 2 --master 'local[2]'
  spark-submit --master spark://head:7077 $(which axon) spark-train config.yaml --num-processes 8"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "spark-train", help="data-parallel training on a Spark cluster (TorchDistributor)",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common_options()],
    )
    parser.add_argument("config", nargs="?", metavar="CONFIG.yaml", help="run config (as for axon train)")
    parser.add_argument("--num-processes", type=int, required=True, metavar="N",
                        help="number of training processes (Spark barrier tasks)")
    parser.add_argument("--master", metavar="URL",
                        help="Spark master, e.g. local[2] or spark://host:7077 (default: the session "
                             "spark-submit made, else Spark's default)")
    parser.add_argument("--local-mode", action="store_true",
                        help="run the processes on the driver instead of on the executors")
    parser.add_argument("--use-gpu", action="store_true", help="one GPU per process (nccl)")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from checkpoints/last")
    parser.add_argument("--epochs", type=int, help="number of epochs (config: epochs)")
    parser.add_argument("--out", metavar="DIR", help="parent folder of run folders (config: out)")
    parser.add_argument("--name", help="run folder name (config: name; default a timestamp)")
    parser.add_argument("--no-progress", action="store_true", help="no per-epoch progress lines")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from axon.run.spark import spark_train
    from axon.run.config import RunConfig, apply_overrides, load_config

    overrides = {"epochs": args.epochs, "out": args.out, "name": args.name}
    config = None
    if args.resume:
        if args.config or any(v is not None for v in overrides.values()):
            raise ConfigError("--resume continues a run with its own config.yaml; it takes no CONFIG or overrides")
    else:
        config = apply_overrides(load_config(args.config) if args.config else RunConfig(), **overrides)
    summary = spark_train(num_processes=args.num_processes, config=config, resume=args.resume,
                          master=args.master, local_mode=args.local_mode, use_gpu=args.use_gpu,
                          progress=not args.no_progress)
    print(f"done: {summary.status}, {summary.timing()}\n"
          f"  {summary.test_metric}: best checkpoint {summary.best_test:.4f}, final {summary.final_test:.4f}\n"
          f"  run folder: {summary.run_dir}")
    return 0
