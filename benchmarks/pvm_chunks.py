"""PVM on CPU: where a step's time goes, for the question of issue 19 (one machine's step
at 0.85 of the memory-bandwidth bound, another's at 0.66: chunk size against this
machine's cache? thread count?).

0. Cache: the bandwidth of an in-place update `w.add_(m)` (the step's commonest pass:
   read two arrays, write one) over working sets of 1-128 MiB, each repeated back to
   back, so a set that fits the cache this process really gets runs at cache speed.
1. Chunk size: engines that differ only in `chunk_bytes` (units stepped together, each
   chunk's update followed by its forward pass, so the forward pass can read the weights
   the update just wrote from cache) step the same frames in interleaved rounds; prints
   steps/s (best round) and the speed against the default chunk as medians of paired
   rounds, wall clock and CPU time, with this machine's cache sizes and the load.
2. Threads: the default engine timed with 1 and with 2 torch threads, interleaved.
3. Profile: torch.profiler's share of a step's CPU time per operator (default engine).

Every layer learns; the model's own step (experiment-1: pipelined). The figures are
only as good as the machine is quiet: the L3 cache and memory bandwidth are shared with
every other process (and, in a VM, with other machines' cores on the same chip).

    .venv/bin/python benchmarks/pvm_chunks.py [--model experiment-1] [--repeats 10]
        [--cache-mib 1 2 ... 128] [--chunks-mib 2 4 8 16 32 0] [--threads 1 2]
        [--profile-steps 5]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from axon.bench.timing import paired_ratio, time_rounds
from axon.pvm.config import apply_overrides, load_model
from axon.pvm.engine import CPU_CHUNK_BYTES, PVMEngine

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "pvm"
ALL_LEARNING = ["schedule.delay_each_layer=0", "schedule.enable_lateral_at=0",
                "schedule.enable_feedback_at=0"]


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split(" ")[0]
    except OSError:
        return "?"


def caches() -> str:
    """This machine's data and unified caches as the kernel reports them (per CPU 0)."""
    found = []
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            kind = (index / "type").read_text().strip()
            if kind != "Instruction":
                level = (index / "level").read_text().strip()
                found.append(f"L{level} {(index / 'size').read_text().strip()}")
        except OSError:
            continue
    return ", ".join(found) or "unknown"


def working_set_bandwidth(mib: float, repeats: int) -> float:
    """Bytes per second (2 read + 1 written per element) of `w.add_(m)` on two float32
    arrays of `mib` MiB together, best of `repeats` rounds of passes over 256 MiB."""
    n = int(mib * 2**20 / 8)
    w, m = torch.zeros(n), torch.ones(n)
    passes = max(1, int(256 / mib))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(passes):
            w.add_(m)
        best = min(best, time.perf_counter() - start)
    return 3 * 4 * n * passes / best


def stepper(engine: PVMEngine, video: list[torch.Tensor], threads: int | None = None):
    k = [0]

    def run() -> None:
        if threads:
            torch.set_num_threads(threads)
        engine.step(video[k[0] % len(video)])
        k[0] += 1
    return run


def report(title: str, samples: dict[str, dict[str, list[float]]], base: str) -> None:
    wall, cpu = samples["wall"], samples["cpu"]
    print(title, flush=True)
    for name in wall:
        speed = [1 / paired_ratio(t[name], t[base]) for t in (wall, cpu)]
        print(f"  {name:>12s}: {1 / min(wall[name]):6.1f} steps/s (best round); speed / {base}: "
              f"{speed[0]:.3f} wall-clock, {speed[1]:.3f} CPU time", flush=True)


def timed(candidates: dict, repeats: int) -> dict[str, dict[str, list[float]]]:
    return {"wall": time_rounds(candidates, repeats, warmup=2),
            "cpu": time_rounds(candidates, repeats, warmup=0, clock=time.process_time)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="experiment-1")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--chunks-mib", type=float, nargs="*", default=[2, 4, 8, 16, 32, 0],
                    help="chunk sizes in MiB of weights and momentum (0: whole batches)")
    ap.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--cache-mib", type=float, nargs="*", default=[1, 2, 4, 8, 16, 32, 64, 128],
                    help="working sets of the bandwidth sweep")
    ap.add_argument("--profile-steps", type=int, default=5)
    args = ap.parse_args()
    path = Path(args.model) if args.model.endswith(".json") else EXAMPLES / f"{args.model}.json"
    cfg = apply_overrides(load_model(path), ALL_LEARNING)
    g = torch.Generator().manual_seed(0)
    video = [torch.rand(3, cfg.input_size, cfg.input_size, generator=g) for _ in range(8)]
    print(f"{cfg.name} ({cfg.step} step), caches: {caches()}; default chunk "
          f"{CPU_CHUNK_BYTES / 2**20:g} MiB", flush=True)
    torch.set_num_threads(1)
    if args.cache_mib:
        before = loadavg()
        rates = [f"{mib:g} MiB {working_set_bandwidth(mib, 5) / 1e9:.1f}"
                 for mib in args.cache_mib]
        print(f"w.add_(m) bandwidth by working set, 1 thread (GB/s, load {before}-"
              f"{loadavg()}): " + ", ".join(rates), flush=True)
    if args.chunks_mib:
        engines = {(f"{mib:g} MiB" if mib else "whole"): PVMEngine(
            cfg, chunk_bytes=int(mib * 2**20) if mib else None) for mib in args.chunks_mib}
        base = f"{CPU_CHUNK_BYTES / 2**20:g} MiB"
        if base not in engines:
            engines[base] = PVMEngine(cfg)
        before = loadavg()
        samples = timed({n: stepper(e, video) for n, e in engines.items()}, args.repeats)
        report(f"chunk size, 1 thread ({args.repeats} interleaved rounds, load "
               f"{before}-{loadavg()}):", samples, base)
    if len(args.threads) > 1:
        engine = PVMEngine(cfg)
        before = loadavg()
        samples = timed({f"{n} thread(s)": stepper(engine, video, n) for n in args.threads},
                        args.repeats)
        report(f"threads, default chunk ({args.repeats} interleaved rounds, load "
               f"{before}-{loadavg()}):", samples, f"{args.threads[0]} thread(s)")
        torch.set_num_threads(1)
    if args.profile_steps:
        engine = PVMEngine(cfg)
        for frame in video[:2]:
            engine.step(frame)
        before = loadavg()
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            for i in range(args.profile_steps):
                engine.step(video[i % len(video)])
        rows = [(e.key, e.self_cpu_time_total) for e in prof.key_averages()]
        total = sum(t for _, t in rows)
        print(f"profile, 1 thread, {args.profile_steps} steps (load {before}-{loadavg()}): "
              "share of CPU time by operator: " + ", ".join(
                  f"{k} {100 * t / total:.1f}%" for k, t in sorted(rows, key=lambda r: -r[1])[:8]),
              flush=True)


if __name__ == "__main__":
    main()
