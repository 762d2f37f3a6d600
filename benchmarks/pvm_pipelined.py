"""PVM: the pipelined step (the original's timing) against the bottom-up step.

1. One process, side by side in the same process (interleaved rounds): steps/s of the
   bottom-up step, the pipelined step looping over layers and the pipelined step with
   the layers of one unit shape merged into one batch (`PVMEngine(merge_layers=True)`),
   every layer learning (best round), and their speed ratios as medians of paired
   rounds, in wall-clock time and in the process's CPU time (steadier on a shared
   machine); the target for pipelined / bottom-up is >= 0.98.
2. `--procs 1` and `2`: each step run on P processes exchanging hidden states over
   gloo, as `axon pvm run --procs P` does (each process owns a slice of every layer);
   prints steps/s and the exchanges (all-gathers) per step: one per layer for the
   bottom-up step, one per step for the pipelined step. P = 1 exchanges nothing.
   The two steps alternate, `--rounds` times each; the best round is reported.

    .venv/bin/python benchmarks/pvm_pipelined.py [--model experiment-1] [--threads 1]
        [--repeats 10] [--procs 1 2] [--steps 40] [--rounds 2]

Every figure is printed with `/proc/loadavg` (this project's machine is shared).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from axon.bench.timing import paired_ratio, time_rounds
from axon.pvm.config import apply_overrides, load_model
from axon.pvm.engine import PVMEngine
from axon.pvm.parallel import GlooCollective

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "pvm"
ALL_LEARNING = ["schedule.delay_each_layer=0", "schedule.enable_lateral_at=0",
                "schedule.enable_feedback_at=0"]
STEPS = ("bottom_up", "pipelined")


def load(model: str, step: str):
    path = Path(model) if model.endswith(".json") else EXAMPLES / f"{model}.json"
    return apply_overrides(load_model(path), ALL_LEARNING + [f"step={step}"])


def frames(size: int, n: int = 8) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return [torch.rand(3, size, size, generator=g) for _ in range(n)]


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split(" ")[0]
    except OSError:
        return "?"


def side_by_side(model: str, repeats: int) -> None:
    """The bottom-up step, the pipelined step looping over layers, and the pipelined
    step with every layer of one unit shape merged into one batch (`merge_layers`),
    timed in interleaved rounds in this process."""
    engines = {"bottom_up": PVMEngine(load(model, "bottom_up")),
               "pipelined": PVMEngine(load(model, "pipelined"), merge_layers=False),
               "merged": PVMEngine(load(model, "pipelined"), merge_layers=True)}
    video = frames(engines["pipelined"].cfg.input_size)
    k = [0]

    def timed(engine):
        def run() -> None:
            engine.step(video[k[0] % len(video)])
            k[0] += 1
        return run

    candidates = {s: timed(e) for s, e in engines.items()}
    before = loadavg()
    wall = time_rounds(candidates, repeats, warmup=3)
    cpu = time_rounds(candidates, repeats, warmup=0, clock=time.process_time)
    rates = ", ".join(f"{s} {1 / min(wall[s]):.1f}" for s in engines)
    batches = {s: len(e.batches) for s, e in engines.items()}
    print(f"{model}, one process, {torch.get_num_threads()} thread(s), side by side "
          f"({repeats} interleaved rounds, load {before}-{loadavg()}): steps/s (best rounds) "
          f"{rates}; batches per step {batches}", flush=True)
    for num, den in (("pipelined", "bottom_up"), ("merged", "bottom_up"),
                     ("merged", "pipelined")):
        speed = [1 / paired_ratio(t[num], t[den]) for t in (wall, cpu)]
        print(f"  {num} speed / {den}: {speed[0]:.3f} wall-clock, {speed[1]:.3f} CPU time "
              "(medians of paired rounds)", flush=True)


def _worker(rank: int, world: int, job: dict) -> None:
    torch.set_num_threads(job["threads"])
    dist.init_process_group("gloo", init_method=f"file://{job['store']}", rank=rank,
                            world_size=world)
    try:
        cfg = load(job["model"], job["step"])
        col = GlooCollective(rank, world, cfg)
        engine = PVMEngine(cfg, owned=col.owned(cfg), exchange=col.exchange,
                           exchange_all=col.exchange_all)
        video = frames(cfg.input_size)
        for f in video[:3]:  # warm-up
            engine.step(f)
        dist.barrier()
        calls, start = engine.exchange_calls, time.perf_counter()
        for i in range(job["steps"]):
            engine.step(video[i % len(video)])
        dist.barrier()
        took = time.perf_counter() - start
        if rank == 0:
            Path(job["result"]).write_text(json.dumps(
                {"rate": job["steps"] / took,
                 "exchanges": (engine.exchange_calls - calls) / job["steps"]}))
    finally:
        dist.destroy_process_group()


def on_processes(model: str, step: str, procs: int, steps: int, threads: int) -> dict:
    """Steps/s and exchanges per step of `procs` processes (1: no exchange)."""
    if procs == 1:
        torch.set_num_threads(threads)
        engine = PVMEngine(load(model, step))
        video = frames(engine.cfg.input_size)
        for f in video[:3]:
            engine.step(f)
        start = time.perf_counter()
        for i in range(steps):
            engine.step(video[i % len(video)])
        return {"rate": steps / (time.perf_counter() - start), "exchanges": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        job = {"model": model, "step": step, "steps": steps, "threads": threads,
               "store": f"{tmp}/store", "result": f"{tmp}/result.json"}
        mp.spawn(_worker, args=(procs, job), nprocs=procs, join=True)
        return json.loads(Path(job["result"]).read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="experiment-1")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--procs", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--steps", type=int, default=40, help="timed steps per process run")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    side_by_side(args.model, args.repeats)
    for procs in args.procs:
        best: dict[str, dict] = {}
        loads = []
        for _ in range(args.rounds):
            for step in STEPS:
                loads.append(loadavg())
                r = on_processes(args.model, step, procs, args.steps, args.threads)
                if step not in best or r["rate"] > best[step]["rate"]:
                    best[step] = r
        print(f"{args.model}, --procs {procs} ({args.threads} thread(s) each, best of "
              f"{args.rounds}, load {', '.join(loads)}): " + "; ".join(
                  f"{s} {best[s]['rate']:.1f} steps/s, {best[s]['exchanges']:g} exchanges/step"
                  for s in STEPS), flush=True)


if __name__ == "__main__":
    main()
