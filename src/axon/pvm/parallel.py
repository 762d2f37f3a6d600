"""The multi-process PVM runner: `--procs P` splits every layer's units into P
contiguous slices, one per process. After each layer's forward pass the processes
all-gather that layer's hidden states over torch.distributed (gloo), so every process
has the signals of the next layer and next step's context; results equal the
single-process run within float32 rounding. The collectives block in gloo, so nothing
busy-waits.

The parent process only supervises: it waits on the workers' exit sentinels; when one
fails, it terminates the others and raises, so no worker is left behind. Process 0
writes the metrics, displays and snapshots (gathering the units from all processes);
snapshots are the same files a single-process run writes.

This module uses torch.distributed directly (axon.dist, for data-parallel training,
was not there when it was written). Across machines, start `_worker` under torchrun.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from datetime import timedelta
from multiprocessing.connection import wait
from pathlib import Path

import torch
import torch.distributed as dist

from axon.errors import AxonError, ConfigError
from axon.pvm.config import PVMConfig, parse_model
from axon.pvm.topology import build_topology


def split_bounds(units: int, parts: int) -> list[int]:
    """Boundaries of `parts` near-equal contiguous slices of `units`."""
    return [round(i * units / parts) for i in range(parts + 1)]


class GlooCollective:
    """The collective of one process among `world` (see module docstring)."""

    def __init__(self, rank: int, world: int, cfg: PVMConfig):
        self.rank, self.world, self.is_root = rank, world, rank == 0
        self.bounds = [split_bounds(t.units, world) for t in build_topology(cfg)]

    def owned(self, cfg: PVMConfig) -> list[tuple[int, int]]:
        return [(b[self.rank], b[self.rank + 1]) for b in self.bounds]

    def gather_units(self, layer: int, owned: torch.Tensor) -> torch.Tensor:
        """All processes' rows of a per-unit tensor `(owned, ...)` -> `(units, ...)`."""
        b = self.bounds[layer]
        widest = max(b[i + 1] - b[i] for i in range(self.world))
        padded = owned.new_zeros((widest, *owned.shape[1:]))
        padded[: len(owned)] = owned
        parts = [torch.empty_like(padded) for _ in range(self.world)]
        dist.all_gather(parts, padded.contiguous())
        return torch.cat([parts[i][: b[i + 1] - b[i]] for i in range(self.world)])

    exchange = gather_units

    def sum(self, t: torch.Tensor) -> torch.Tensor:
        t = t.clone()
        dist.all_reduce(t)
        return t


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, job: dict) -> None:
    """One process of a multi-process run (the entry point of each spawned worker)."""
    from axon.data.video import open_source
    from axon.pvm.runner import PVMRunner

    torch.set_num_threads(job["threads"])
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world, timeout=timedelta(seconds=job["timeout_s"]))
    try:
        cfg = parse_model(json.loads(job["model"]))
        size = (cfg.input_size, cfg.input_size)
        source = open_source(job["source"], size, cfg.input_channels)
        runner = PVMRunner(cfg, source, job["out_dir"], "cpu",
                           metrics_every=job["metrics_every"],
                           display_every=job["display_every"],
                           snapshot_every=job["snapshot_every"],
                           collective=GlooCollective(rank, world, cfg), progress=False)
        if job["resume"]:
            runner.resume(job["resume"])
        quiet = lambda line: None  # noqa: E731
        runner.run(job["steps"], log=None if rank == 0 else quiet)
    except AxonError as err:
        print(f"axon pvm run (process {rank}): error: {err}", file=sys.stderr, flush=True)
        sys.exit(2)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def run_parallel(cfg: PVMConfig, source: str, out_dir: str | Path, procs: int, steps: int,
                 metrics_every: int = 100, display_every: int = 0, snapshot_every: int = 0,
                 resume: str | None = None, threads: int | None = None,
                 timeout_s: int = 600) -> None:
    """Run `cfg` on `procs` processes (see module docstring). Writes `workers.json`
    (the workers' process ids) into `out_dir`. Raises AxonError if a worker fails;
    the other workers are then terminated."""
    import torch.multiprocessing as mp

    if procs < 2:
        raise ConfigError(f"--procs: run_parallel needs >= 2 processes, got {procs}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    job = {"model": cfg.to_json(), "source": source, "out_dir": str(out_dir), "steps": steps,
           "metrics_every": metrics_every, "display_every": display_every,
           "snapshot_every": snapshot_every, "resume": resume,
           "threads": threads or max(1, (os.cpu_count() or 1) // procs),
           "timeout_s": timeout_s}
    ctx = mp.get_context("spawn")
    port = _free_port()
    workers = [ctx.Process(target=_worker, args=(r, procs, port, job), name=f"pvm-worker-{r}")
               for r in range(procs)]
    for w in workers:
        w.start()
    (out_dir / "workers.json").write_text(json.dumps([w.pid for w in workers]))
    try:
        alive = {w.sentinel: w for w in workers}
        while alive:
            for sentinel in wait(list(alive)):
                w = alive.pop(sentinel)
                w.join()
                if w.exitcode != 0:
                    raise AxonError(
                        f"worker {workers.index(w)} (pid {w.pid}) exited with code "
                        f"{w.exitcode}; the run was stopped")
    finally:
        _stop(workers)


def _stop(workers) -> None:
    """Terminate and reap every worker still running (SIGTERM, then SIGKILL)."""
    for w in workers:
        if w.is_alive():
            w.terminate()
    for w in workers:
        w.join(timeout=10)
        if w.is_alive():
            os.kill(w.pid, signal.SIGKILL)
            w.join()
