"""`axon classic ...`: the classic learning systems' experiments. Two modules add
their subcommands: axon.cli.classic_models (perceptrons, Hopfield, Boltzmann, RBM,
DBN) and axon.cli.classic_td (Rescorla-Wagner, TD, conditioning, TD-Gammon)."""

import importlib

from axon.cli import common_options

GROUPS = ["classic_models", "classic_td"]


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "classic", help="classic learning systems: perceptrons, Hopfield, Boltzmann, RBM, TD",
        parents=[common_options()],
    )
    commands = parser.add_subparsers(dest="classic_command", metavar="EXPERIMENT", required=True)
    for group in GROUPS:
        try:
            module = importlib.import_module(f"axon.cli.{group}")
        except ModuleNotFoundError as err:
            if err.name != f"axon.cli.{group}":
                raise
            continue  # that group is not written yet
        module.add_commands(commands)
