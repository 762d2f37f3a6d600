"""Config-driven data-parallel runs: the body of every process, and the launcher side of
`axon train CONFIG --nproc N` (one node, or many with --nnodes/--node-rank/--master).

The run folder must be on a file system every node sees (rank 0 writes it; every rank
reads checkpoints/last when it resumes or restarts)."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Callable

import torch.distributed as dist
import yaml

from axon.dist.group import broadcast_text, check_same_config, collective, join, leave
from axon.dist.launch import check_options, launch
from axon.dist.pipeline_trainer import PipelineTrainer, check_pipeline_options
from axon.dist.trainer import DistributedTrainer
from axon.errors import ConfigError
from axon.run.config import RunConfig, dump_config, validate_config
from axon.run.folder import read_run_config
from axon.run.runs import RunSummary, announce_resume, continue_run, prepare_run
from axon.train.trainer import Trainer


def trainer_factory(config: RunConfig) -> Callable[..., Trainer]:
    """What builds each process's Trainer."""
    d = config.distributed
    if d.strategy == "pipeline":
        return partial(PipelineTrainer, timeout=d.timeout, stages=d.stages, microbatches=d.microbatches,
                       pipeline_schedule=d.schedule, split_at=d.split_at, balance=d.balance,
                       data_parallel=d.data_parallel)
    return partial(DistributedTrainer, timeout=d.timeout, strategy=d.strategy)


def check_pipeline_config(config: RunConfig, processes: int) -> None:
    """A pipeline config that cannot run with `processes` processes is a ConfigError now,
    before any folder is made or process started."""
    d = config.distributed
    if d.strategy != "pipeline":
        return
    options = {"grad_accum": config.grad_accum, "precision": config.precision, "compile": config.compile,
               "clip_grad_norm": config.clip_grad_norm, "channels_last": config.channels_last,
               "optimizer": config.optimizer}
    check_pipeline_options(processes, d.stages, d.data_parallel, d.microbatches, d.schedule, options)


def describe_layout(config: RunConfig, world_size: int) -> str:
    """The start-up line: processes, strategy and global batch."""
    d = config.distributed
    if d.strategy == "pipeline":
        return (f"pipeline: {world_size} processes = {d.stages} stages x {d.data_parallel} pipeline(s), "
                f"{d.microbatches} micro-batches ({d.schedule}), global batch {config.batch_size * d.data_parallel}")
    return f"data-parallel: {world_size} processes, global batch {config.batch_size * world_size}"


def restart_count() -> int:
    """How many times the launcher has restarted this job's processes."""
    return int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))


def _run_folder(config: RunConfig) -> Path:
    """Rank 0 makes the run folder on the first attempt (or finds it again after a
    restart); every rank gets its path."""
    if dist.get_rank() == 0:
        if restart_count() == 0:
            _, path = prepare_run(config)
        else:
            path = Path(config.out) / config.name
            read_run_config(path)
    path = broadcast_text(str(path) if dist.get_rank() == 0 else None, config.distributed.timeout)
    return Path(path)


def run_process(config_yaml: str | None, run_dir: str | None, progress: bool) -> RunSummary | None:
    """Body of one process: join the group, check that every process has the same config,
    then train in `run_dir` (from checkpoints/last if there is one), or, given a config
    (YAML text) instead, in a new run folder that rank 0 creates. Returns rank 0's summary
    (None on the other ranks)."""
    if run_dir is not None:
        config = read_run_config(run_dir)
    else:
        config = validate_config(yaml.safe_load(config_yaml), source="config")
        restarts = int(os.environ.get("TORCHELASTIC_MAX_RESTARTS", "0"))
        if restarts and config.name is None:
            raise ConfigError("name: a run with restarts needs a run name (config name or --name), so "
                              "restarted processes find its folder")
    join(config.distributed.backend, config.distributed.timeout)
    try:
        rank = dist.get_rank()
        check_same_config(dump_config(config), config.distributed.timeout)
        path = Path(run_dir) if run_dir is not None else _run_folder(config)
        if rank == 0 and progress:
            again = f", restart {restart_count()}" if restart_count() else ""
            print(f"{describe_layout(config, dist.get_world_size())} ({dist.get_backend()}{again}), "
                  f"run folder {path}", flush=True)
        summary = continue_run(path, progress and rank == 0,
                               trainer_factory(config))
        # Leave together: a process that tears its gloo connections down while a peer is
        # still finishing can be aborted in gloo's threads ("terminate called ...").
        with collective("the final barrier", config.distributed.timeout):
            dist.barrier()
        return summary if rank == 0 else None
    finally:
        leave()


def launch_run(*, config: RunConfig | None = None, resume: str | Path | None = None,
               nproc: int, max_restarts: int = 0, nnodes: int = 1, node_rank: int = 0,
               master: str | None = None, progress: bool = True, debug: bool = False) -> RunSummary | None:
    """Train `config` (a new run) or continue the run folder `resume` with `nproc`
    processes on this node. On one node the folder is made here, before any process
    starts; with several nodes rank 0 makes it. Returns the summary on the node of rank 0."""
    if (config is None) == (resume is None):
        raise ValueError("launch_run: give a config or a run folder to resume, not both")
    backend = (config or read_run_config(resume)).distributed.backend
    check_options(nproc, max_restarts, nnodes, node_rank, master, backend)  # before making a folder
    check_pipeline_config(config or read_run_config(resume), nproc * nnodes)
    if resume is not None:
        resume = Path(resume)
        config = read_run_config(resume)
        announce_resume(resume, progress)
        args = (None, str(resume), progress)
    elif nnodes == 1:
        config, run_dir = prepare_run(config)
        args = (None, str(run_dir), progress)
    else:
        args = (dump_config(config), None, progress)
    results = launch(run_process, args, nproc=nproc, max_restarts=max_restarts, nnodes=nnodes,
                     node_rank=node_rank, master=master, backend=config.distributed.backend,
                     timeout=config.distributed.timeout, debug=debug)
    return results.get(0)
