"""`axon lr-find [CONFIG]`: the learning-rate range test on a run config's model and data."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from axon.cli import common_options

DESCRIPTION = """\
Run the learning-rate range test on the model, data, optimizer and batch size of a run
config: train for --steps steps while the learning rate grows exponentially from
--min-lr to --max-lr, stop when the smoothed loss diverges (above 4x its minimum), write
the loss-against-learning-rate plot (PNG) and print the suggested maximum learning rate
(the config's optimizer.lr, e.g. One Cycle's peak).

Rules: min/10 (default) suggests the learning rate at the smoothed loss's minimum
divided by 10; steepest suggests where the loss falls fastest. Both are printed. The
model is built fresh from the config's seed and nothing is written but the plot. On a
task that learns slowly, 100 steps leave the curve flat: give more (e.g. --steps 400)."""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "lr-find", help="learning-rate range test: loss-vs-lr plot and a suggested max learning rate",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common_options()],
    )
    parser.add_argument("config", nargs="?", metavar="CONFIG.yaml",
                        help="run config (model, data, optimizer, batch_size, seed, device); default: the defaults")
    parser.add_argument("--min-lr", type=float, default=1e-7, help="first learning rate of the sweep (default 1e-7)")
    parser.add_argument("--max-lr", type=float, default=10.0, help="last learning rate of the sweep (default 10)")
    parser.add_argument("--steps", type=int, default=100, help="optimizer steps of the sweep (default 100)")
    parser.add_argument("--rule", choices=["min/10", "steepest"], default="min/10",
                        help="which rule gives the suggestion (default min/10)")
    parser.add_argument("--smoothing", type=float, default=0.9,
                        help="exponential moving-average factor of the loss curve (default 0.9)")
    parser.add_argument("--out", metavar="PNG",
                        help="plot file (default: OUT/lr_find-<timestamp>.png, OUT the config's `out`, runs)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from axon.errors import ConfigError
    from axon.run import RunConfig, load_config, model_data_loss
    from axon.train.lr_find import lr_range_test
    from axon.train.trainer import resolve_device
    from axon.viz.lr_find import plot_lr_find

    config = load_config(args.config) if args.config else RunConfig()
    model, splits, loss = model_data_loss(config)
    try:
        result = lr_range_test(
            model, splits.train, loss, config.optimizer,
            min_lr=args.min_lr, max_lr=args.max_lr, steps=args.steps, batch_size=config.batch_size,
            smoothing=args.smoothing, rule=args.rule, seed=config.seed, device=resolve_device(config.device),
        )
    except ValueError as err:
        raise ConfigError(str(err)) from None
    out = args.out or Path(config.out) / f"lr_find-{datetime.now():%Y%m%d-%H%M%S}.png"
    marks = {f"suggested ({result.rule})": result.suggestion, "min loss": result.min_loss_lr,
             "steepest": result.steepest_lr}
    plot_lr_find(result.lrs, result.raw_losses, result.losses, marks, out,
                 title=f"LR range test: {config.model.name}, {config.optimizer.name}, batch {config.batch_size}")
    print(
        f"lr-find: {len(result.lrs)} steps from {result.lrs[0]:.3g} to {result.lrs[-1]:.3g} ({result.stop_reason})\n"
        f"  minimum smoothed loss {min(result.losses):.4f} at lr {result.min_loss_lr:.3g}\n"
        f"  steepest descent at lr {result.steepest_lr:.3g}\n"
        f"  suggested max learning rate ({result.rule}): {result.suggestion:.3g}  (config: optimizer.lr)\n"
        f"  plot: {out}"
    )
    return 0
