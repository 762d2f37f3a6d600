"""The `axon` command. Thin: each subcommand module parses its options and calls one
function of a package.

Adding a command: write `axon/cli/<name>.py` with `add_parser(subparsers)` (the parser
it adds sets `func`, called with the parsed arguments) and list `<name>` in COMMANDS.
Every listed module is imported to build the parser, also for `axon --help` and for an
argument error, which must answer in well under a second: so a command module imports
at its top only the standard library, `axon.cli` and `axon.errors`, and imports torch,
numpy and axon's packages inside the function that runs the command
(tests/cli/test_startup.py checks this)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from axon.errors import AxonError, one_line

# Each module defines add_parser(subparsers); the parser it adds sets `func`.
COMMANDS = ["train", "eval", "predict", "export", "models", "datasets", "bench", "classic", "pvm", "lr_find",
            "batch_find", "spark_train", "detect"]


def common_options(threads: bool = True) -> argparse.ArgumentParser:
    """Options every subcommand takes; pass as `parents=[common_options()]`. main() makes
    torch use `args.threads` threads before running the command; a command with another
    default adds its own --threads and passes threads=False."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    if threads:
        # SUPPRESS: a nested subcommand's parser does not reset a value given before it.
        common.add_argument("--threads", type=int, metavar="N", default=argparse.SUPPRESS,
                            help="CPU threads torch computes with (default: the cores this process "
                            "may use, shared among the processes of a multi-process run)")
    return common


def build_parser() -> argparse.ArgumentParser:
    from axon import __version__

    parser = argparse.ArgumentParser(
        prog="axon",
        description="axon: train neural networks fast on PyTorch, and run the "
        "brain-inspired learning systems.",
    )
    parser.add_argument("--version", action="version", version=f"axon {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"axon.cli.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the `axon` command; returns its exit code (2 for a user error)."""
    try:
        return _run(sys.argv[1:] if argv is None else argv)
    except BrokenPipeError:
        # stdout went to a reader that stopped reading (`axon eval RUN | head`): stop quietly,
        # and keep the interpreter's final flush from raising again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _run(argv: list[str]) -> int:
    from axon.threads import set_threads, sleep_while_waiting

    sleep_while_waiting()  # before anything imports torch
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        set_threads(getattr(args, "threads", None))
        return args.func(args) or 0
    except AxonError as err:
        if getattr(args, "debug", False):
            raise
        print(f"axon {args.command}: error: {one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"axon {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
