"""Options and dispatch of data-parallel `axon train`: `--nproc N` (this node starts N
processes), `--nnodes/--node-rank/--master` (many nodes), `--max-restarts`; and the
process side when `axon train` itself runs under torchrun."""

from __future__ import annotations

import argparse

from axon.errors import ConfigError


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "data-parallel training",
        "N processes, each with batch_size samples per step (global batch batch_size * N);\n"
        "gradients averaged; only rank 0 writes the run folder. Also runs under\n"
        "`torchrun ... -m axon train CONFIG` (see docs/distributed.md).")
    group.add_argument("--nproc", type=int, metavar="N",
                       help="start N processes on this node (gloo on CPU, nccl with one GPU each)")
    group.add_argument("--nnodes", type=int, default=1, metavar="M", help="number of nodes (default 1)")
    group.add_argument("--node-rank", type=int, default=0, metavar="R", help="this node's rank, 0..M-1 (default 0)")
    group.add_argument("--master", metavar="HOST:PORT",
                       help="address of node 0 that every node reaches (default on one node: a free local port)")
    group.add_argument("--max-restarts", type=int, default=0, metavar="R",
                       help="when a process dies or fails, restart all of them from checkpoints/last up to R times")


def requested(args: argparse.Namespace) -> bool:
    """Whether this `axon train` is data-parallel: --nproc given, or started by torchrun."""
    from axon.dist.group import launched

    return args.nproc is not None or launched()


def train(args: argparse.Namespace, config, progress: bool):
    """Run the data-parallel training `args` asks for; `config` is the resolved config of a
    new run (None with --resume). Returns rank 0's RunSummary (None on other processes)."""
    from axon.dist.group import launched
    from axon.run.distributed import launch_run, run_process
    from axon.run.config import dump_config

    if args.nproc is None:  # this process is one of torchrun's
        if args.nnodes != 1 or args.node_rank != 0 or args.master or args.max_restarts:
            raise ConfigError("under torchrun, give --nnodes, --node-rank, --master and --max-restarts "
                              "to torchrun, not to axon train")
        if args.resume:
            return run_process(None, args.resume, progress)
        return run_process(dump_config(config), None, progress)
    if launched():
        raise ConfigError("--nproc: this process was itself started by torchrun; leave out --nproc")
    return launch_run(config=config, resume=args.resume, nproc=args.nproc,
                      max_restarts=args.max_restarts, nnodes=args.nnodes, node_rank=args.node_rank,
                      master=args.master, progress=progress, debug=args.debug)
