"""`axon train [CONFIG] [overrides]` and `axon train --resume RUN_DIR`."""

from __future__ import annotations

import argparse

from axon.cli import common_options, distributed
from axon.errors import ConfigError

DESCRIPTION = """\
Train a model as a run config (YAML) says. With no CONFIG, the defaults train the
digits CNN (zoo name digits-cnn) on scikit-learn's bundled 8x8 digits, on the
config's device (default auto: CUDA when available, else CPU).

Each run gets a new folder OUT/NAME (NAME from --name, the config's `name`, or a
timestamp) holding config.yaml, metrics.csv, curves.png, tensorboard/ and
checkpoints/{last,best}. An existing run folder is never overwritten."""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train a model from a run config (default: digits CNN on 8x8 digits)",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common_options()],
    )
    parser.add_argument("config", nargs="?", metavar="CONFIG.yaml",
                        help="run config; keys not given take their defaults (see README)")
    parser.add_argument("--resume", metavar="RUN_DIR",
                        help="continue the run in RUN_DIR from checkpoints/last with its own config.yaml")
    parser.add_argument("--epochs", type=int, help="number of epochs (config: epochs)")
    parser.add_argument("--lr", type=float, help="peak learning rate (config: optimizer.lr)")
    parser.add_argument("--batch-size", type=int, help="mini-batch size (config: batch_size)")
    parser.add_argument("--seed", type=int, help="seed of the run's random generators (config: seed)")
    parser.add_argument("--out", metavar="DIR", help="parent folder of run folders (config: out; default runs)")
    parser.add_argument("--name", help="run folder name (config: name; default a timestamp)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress output at all (the summary is still printed)")
    distributed.add_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from axon.run import RunConfig, apply_overrides, load_config, read_run_config, resume_run, start_run

    overrides = {"epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size,
                 "seed": args.seed, "out": args.out, "name": args.name}
    progress = not args.no_progress
    if args.resume:
        given = [f"--{k.replace('_', '-')}" for k, v in overrides.items() if v is not None]
        if args.config or given:
            raise ConfigError(
                f"--resume continues a run with its own config.yaml; it takes no CONFIG or "
                f"overrides (got {', '.join(given) or args.config})"
            )
        config = read_run_config(args.resume)
        if distributed.requested(args):
            summary = distributed.train(args, None, progress)
        else:
            summary = resume_run(args.resume, progress)
    else:
        config = load_config(args.config) if args.config else RunConfig()
        config = apply_overrides(config, **overrides, threads=getattr(args, "threads", None))
        if distributed.requested(args):
            summary = distributed.train(args, config, progress)
        else:
            summary = start_run(config, progress)
    if summary is None:  # a process other than rank 0 of a data-parallel run
        return 0
    best = f" (epoch {summary.best_epoch}, {config.checkpoint.monitor} {summary.best_val:.4f})" \
        if summary.best_epoch is not None else ""
    print(
        f"done: {summary.status}, {summary.timing()}\n"
        f"  {summary.test_metric}: best checkpoint {summary.best_test:.4f}{best}, "
        f"final {summary.final_test:.4f}\n"
        f"  run folder: {summary.run_dir}"
    )
    return 0
