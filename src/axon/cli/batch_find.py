"""`axon batch-find [CONFIG]`: the largest batch that fits on a GPU, the fastest on a CPU."""

from __future__ import annotations

import argparse

from axon.cli import common_options

DESCRIPTION = """\
Find a batch size for a run config's model, data, loss and optimizer. On a GPU (the
config's device): the largest batch that fits in memory, by doubling from --start until
out of memory and then bisecting. On a CPU: the batch with the best training throughput
(samples/s), by doubling from --start until two doublings in a row bring no
improvement, measured with the threads `axon train` uses (--threads N, default: the cores
this process may use). Every trial times --steps full training steps after one warm-up step, and
a table of the trials is printed. Batches go up to --max-batch (default: the training
set's size). Nothing is written."""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "batch-find", help="largest batch that fits (GPU) or fastest batch (CPU) for a run config",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common_options()],
    )
    parser.add_argument("config", nargs="?", metavar="CONFIG.yaml",
                        help="run config (model, data, loss, optimizer, seed, device); default: the defaults")
    parser.add_argument("--start", type=int, default=8, help="first batch size tried (default 8)")
    parser.add_argument("--max-batch", type=int, help="largest batch size tried (default: the training set size)")
    parser.add_argument("--steps", type=int, default=5, help="timed training steps per batch size (default 5)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from axon.errors import ConfigError
    from axon.train.batch_find import batch_find, format_trials
    from axon.run import RunConfig, load_config, model_data_loss
    from axon.train.trainer import resolve_device

    config = load_config(args.config) if args.config else RunConfig()
    model, splits, loss = model_data_loss(config)
    try:
        result = batch_find(model, splits.train, loss, config.optimizer, device=resolve_device(config.device),
                            start=args.start, max_batch=args.max_batch, steps=args.steps)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    what = "largest batch that fits" if result.mode == "memory" else "fastest batch (samples/s)"
    count = torch.get_num_threads()
    threads = f", {count} thread{'s' if count != 1 else ''}" if result.mode != "memory" else ""
    print(f"batch-find: {config.model.name} on {result.device}{threads}, {config.optimizer.name}, "
          f"batches up to {result.limit}")
    print(format_trials(result))
    print(f"{what}: {result.best}  (config: batch_size)")
    return 0
