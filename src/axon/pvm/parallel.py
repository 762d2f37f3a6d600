"""The multi-process PVM runner: `--procs P` splits every layer's units into P
contiguous slices, one per process. After each layer's forward pass the processes
all-gather that layer's hidden states over torch.distributed (gloo), so every process
has the signals of the next layer and next step's context (with the pipelined step,
every layer's states in one all-gather at the end of the step); results equal the
single-process run within float32 rounding. The collectives block in gloo, so nothing
busy-waits.

The processes are started and supervised by axon.dist (torch.distributed's elastic
agent, as for data-parallel training): one node with `--procs P`, several with
`--nnodes/--node-rank/--master`, or under torchrun. When a process fails or dies, the
others are stopped and the failure is reported once, with its rank; no process is left
behind. Process 0 writes the metrics, displays and snapshots (gathering the units from
all processes); snapshots are the same files a single-process run writes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
import torch.distributed as dist

from axon.dist import join, launch, leave
from axon.dist.group import collective, launched
from axon.errors import ConfigError
from axon.pvm.config import PVMConfig, parse_model
from axon.pvm.topology import build_topology
from axon.threads import default_threads


def split_bounds(units: int, parts: int) -> list[int]:
    """Boundaries of `parts` near-equal contiguous slices of `units`."""
    return [round(i * units / parts) for i in range(parts + 1)]


class GlooCollective:
    """The collective of one process among `world` (see module docstring)."""

    def __init__(self, rank: int, world: int, cfg: PVMConfig, timeout: float = 600):
        self.rank, self.world, self.is_root = rank, world, rank == 0
        self.bounds = [split_bounds(t.units, world) for t in build_topology(cfg)]
        self.timeout = timeout  # seconds, quoted when a collective times out

    def owned(self, cfg: PVMConfig) -> list[tuple[int, int]]:
        return [(b[self.rank], b[self.rank + 1]) for b in self.bounds]

    def gather_units(self, layer: int, owned: torch.Tensor) -> torch.Tensor:
        """All processes' rows of a per-unit tensor `(owned, ...)` -> `(units, ...)`."""
        b = self.bounds[layer]
        widest = max(b[i + 1] - b[i] for i in range(self.world))
        padded = owned.new_zeros((widest, *owned.shape[1:]))
        padded[: len(owned)] = owned
        parts = [torch.empty_like(padded) for _ in range(self.world)]
        with collective(f"the all-gather of layer {layer}'s units", self.timeout):
            dist.all_gather(parts, padded.contiguous())
        return torch.cat([parts[i][: b[i + 1] - b[i]] for i in range(self.world)])

    exchange = gather_units

    def exchange_all(self, owned: list[torch.Tensor]) -> list[torch.Tensor]:
        """Every layer's hidden states in one all-gather (the pipelined step's one
        exchange per step): `[(owned_l, H)]` -> `[(units_l, H)]`."""
        widths = [max(b[i + 1] - b[i] for i in range(self.world)) for b in self.bounds]
        packed = owned[0].new_zeros(sum(widths), owned[0].shape[1])
        at = 0
        for h, width in zip(owned, widths):
            packed[at:at + len(h)] = h
            at += width
        parts = [torch.empty_like(packed) for _ in range(self.world)]
        with collective("the all-gather of every layer's units", self.timeout):
            dist.all_gather(parts, packed)
        out, at = [], 0
        for b, width in zip(self.bounds, widths):
            out.append(torch.cat([parts[i][at:at + b[i + 1] - b[i]] for i in range(self.world)]))
            at += width
        return out

    def sum(self, t: torch.Tensor) -> torch.Tensor:
        t = t.clone()
        with collective("the all-reduce of the metrics", self.timeout):
            dist.all_reduce(t)
        return t


def _process(job: dict) -> None:
    """Body of every process: join the group, then run this process's units. Process 0
    writes `workers.json` (every process's id) into the output folder."""
    from axon.data.video import open_source
    from axon.pvm.runner import PVMRunner

    torch.set_num_threads(job["threads"])
    join("gloo", job["timeout_s"])
    try:
        rank, world = dist.get_rank(), dist.get_world_size()
        pids = [None] * world
        dist.all_gather_object(pids, os.getpid())
        if rank == 0:
            (Path(job["out_dir"]) / "workers.json").write_text(json.dumps(pids))
        cfg = parse_model(json.loads(job["model"]))
        size = (cfg.input_size, cfg.input_size)
        source = open_source(job["source"], size, cfg.input_channels)
        runner = PVMRunner(cfg, source, job["out_dir"], "cpu", metrics_every=job["metrics_every"],
                           display_every=job["display_every"], snapshot_every=job["snapshot_every"],
                           collective=GlooCollective(rank, world, cfg, job["timeout_s"]),
                           progress=False, merge_layers=job["merge_layers"])
        if job["resume"]:
            runner.resume(job["resume"])
        runner.run(job["steps"], log=None if rank == 0 else (lambda line: None))
    finally:
        leave()


def run_parallel(cfg: PVMConfig, source: str, out_dir: str | Path, procs: int, steps: int,
                 metrics_every: int = 100, display_every: int = 0, snapshot_every: int = 0,
                 resume: str | None = None, threads: int | None = None, timeout_s: float = 600,
                 nnodes: int = 1, node_rank: int = 0, master: str | None = None,
                 merge_layers: bool | str = "auto") -> None:
    """Run `cfg` on `procs` processes on this node (of `nnodes`; node 0 at `master`
    HOST:PORT), or, when this process was itself started by torchrun, as one of its
    processes (`procs` is then torchrun's). `merge_layers`: see `PVMRunner`. The output
    folder must be one every node sees.
    Raises axon.dist.DistributedError naming the rank that failed first; a collective that
    waits longer than `timeout_s` seconds fails."""
    if procs < 1:
        raise ConfigError(f"--procs: expected >= 1, got {procs}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    job = {"model": cfg.to_json(), "source": source, "out_dir": str(out_dir), "steps": steps,
           "metrics_every": metrics_every, "display_every": display_every,
           "snapshot_every": snapshot_every, "resume": resume,
           "threads": threads or default_threads(procs), "timeout_s": timeout_s,
           "merge_layers": merge_layers}
    if launched():
        _process(job)
    else:
        launch(_process, (job,), nproc=procs, nnodes=nnodes, node_rank=node_rank, master=master,
               backend="gloo", timeout=timeout_s)
