"""PVM speed: steps/s of the batched engine with every layer learning, against the
memory-bandwidth bound measured in the same run, and against a per-unit loop baseline.

- Bound: a step must read every weight for the forward pass, read the output weights
  again for the backward pass, and read and write weights and momentum once each:
  5 passes over the input weights, 6 over the output weights (float32; real weights
  only, not the zero padding of units with fewer context sources). The bound is
  measured copy bandwidth (bytes read + written per second) divided by those bytes.
  The strict bound counts only what a fused kernel must move (4 passes over the input
  weights, whose forward read can share the update's pass, and 5 over the output
  weights, whose backward read can share theirs); the bandwidth of an in-place update
  (`a.mul_(s)`, which skips the copy's read of its destination) is printed beside.
- Baseline: the plain per-unit implementation (`axon.pvm.reference`, one small MLP per
  unit in a Python loop, NumPy float32), the structure of the original code.
- Memory: the size of an experiment-1 snapshot on disk and the process's peak RSS.

    .venv/bin/python benchmarks/pvm_speed.py [--models experiment-1 seed-small large]
        [--threads N] [--repeats R] [--device cpu|cuda] [--before OLD_ENGINE.py]

On CUDA each timed round is 50 steps, and the eager step is compared with the step
replayed from CUDA graphs (axon.pvm.graph).
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from axon.bench.timing import time_interleaved
from axon.pvm.config import apply_overrides, load_model
from axon.pvm.engine import PVMEngine
from axon.pvm.graph import GraphedStep
from axon.pvm.reference import ReferencePVM
from axon.pvm.snapshot import save_snapshot

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "pvm"
ALL_LEARNING = ["schedule.delay_each_layer=0", "schedule.enable_lateral_at=0",
                "schedule.enable_feedback_at=0"]


def bandwidths(device: str, mib: int = 256, repeats: int = 10) -> tuple[float, float]:
    """Bytes per second (read + written) of a large tensor copy and of an in-place
    scale of the same tensor."""
    src = torch.rand(mib * 2**18, device=device)
    dst = torch.empty_like(src)
    t = time_interleaved({"copy": lambda: dst.copy_(src), "scale": lambda: src.mul_(1.0)},
                         repeats, warmup=2)
    return 2 * src.numel() * 4 / t["copy"], 2 * src.numel() * 4 / t["scale"]


def step_bytes(engine: PVMEngine, strict: bool = False) -> int:
    """Bytes a step must move: 5 passes over input weights, 6 over output weights
    (`strict`: 4 and 5, see the module docstring)."""
    p1, p2 = (4, 5) if strict else (5, 6)
    total = 0
    for layer in engine.layers:
        real1 = sum(len(layer.real_rows(i)) for i in range(layer.n)) * layer.H
        total += p1 * real1 + p2 * layer.w2[0].numel() * layer.n
    return total * 4


def frames(size: int, n: int, device: str) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return [torch.rand(3, size, size, generator=g).to(device) for _ in range(n)]


def load_engine_class(path: str) -> type:
    """`PVMEngine` from another version of `axon/pvm/engine.py` (e.g. `git show
    REV:src/axon/pvm/engine.py > old.py`), to time it side by side."""
    spec = importlib.util.spec_from_file_location("pvm_engine_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PVMEngine


def bench_model(name: str, device: str, repeats: int, bandwidth: float,
                baseline_steps: int, before: type | None = None) -> None:
    cfg = apply_overrides(load_model(EXAMPLES / f"{name}.json"), ALL_LEARNING)
    engine = PVMEngine(cfg, device)
    video = frames(cfg.input_size, 8, device)
    steppers = {"axon": engine}
    if before is not None:
        steppers["before"] = before(cfg, device)
    if device.startswith("cuda"):  # eager launches vs CUDA-graph replays
        steppers = {"eager": engine, "graphed": GraphedStep(PVMEngine(cfg, device))}
    per_call = 50 if device.startswith("cuda") else 1  # steps per timed call
    k = [0]

    def timed(stepper):
        def run() -> None:
            for _ in range(per_call):
                stepper.step(video[k[0] % len(video)])
                k[0] += 1
        return run

    times = time_interleaved({n: timed(s) for n, s in steppers.items()}, repeats, warmup=3)
    bound = bandwidth / step_bytes(engine)
    strict = bandwidth / step_bytes(engine, strict=True)
    units = sum(layer.n for layer in engine.layers)
    for label, t in times.items():
        rate = per_call / t
        line = (f"{name:13s} {units:5d} units  {label:7s} {rate:8.1f} steps/s  bound "
                f"{bound:8.1f} steps/s  ratio to bound {rate / bound:5.2f}  (strict bound "
                f"{strict:8.1f}, ratio {rate / strict:5.2f})")
        if baseline_steps and device == "cpu" and label == "axon":
            tb = baseline_time(engine, cfg, video, baseline_steps)
            line += f"  per-unit loop {1 / tb:6.2f} steps/s  speedup x{tb * rate:6.1f}"
        print(line, flush=True)


def graph_check(name: str, device: str, steps: int = 30) -> None:
    """Largest difference between an eager and a graph-replayed engine after the
    same steps (float32 rounding only)."""
    cfg = apply_overrides(load_model(EXAMPLES / f"{name}.json"), ALL_LEARNING)
    eager, graphed = PVMEngine(cfg, device), PVMEngine(cfg, device)
    stepper = GraphedStep(graphed)
    for f in frames(cfg.input_size, steps, device):
        eager.step(f)
        stepper.step(f)
    diff = max((a - b).abs().max().item() for a, b in
               zip(eager.state_tensors().values(), graphed.state_tensors().values()))
    print(f"{name}: eager vs graphed after {steps} steps, max state difference {diff:.2e}"
          f" ({len(stepper.replays)} graphs{', FAILED: ' + stepper.failed if stepper.failed else ''})")


def baseline_time(engine: PVMEngine, cfg, video: list[torch.Tensor], steps: int) -> float:
    """Seconds per step of the per-unit loop reference from the engine's weights."""
    weights = [[tuple(w.numpy() for w in engine.unit_weights(l, i))
                for i in range(layer.n)] for l, layer in enumerate(engine.layers)]
    ref = ReferencePVM(cfg, weights, dtype=np.float32)
    np_frames = [f.cpu().numpy() for f in video]
    ref.step(np_frames[0])
    start = time.perf_counter()
    for i in range(steps):
        ref.step(np_frames[(i + 1) % len(np_frames)])
    return (time.perf_counter() - start) / steps


def memory(device: str) -> None:
    cfg = apply_overrides(load_model(EXAMPLES / "experiment-1.json"), ALL_LEARNING)
    engine = PVMEngine(cfg, device)
    engine.step(frames(cfg.input_size, 1, device)[0])
    with tempfile.TemporaryDirectory() as tmp:
        path = save_snapshot(Path(tmp) / "s.safetensors", engine.state_tensors(),
                             {"model": cfg.model_dump(mode="json"), "step": 1})
        size = path.stat().st_size
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"experiment-1 (one step, all layers learning, snapshot written): snapshot "
          f"{size / 1e6:.0f} MB on disk; peak RSS {rss:.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["experiment-1", "seed-small", "large"])
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    ap.add_argument("--repeats", type=int, default=20, help="timed rounds (best is reported)")
    ap.add_argument("--baseline-steps", type=int, default=2,
                    help="steps of the per-unit loop baseline (0: skip)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--before", default=None, metavar="ENGINE.py",
                    help="also time the PVMEngine of this file, interleaved (side by side)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    memory(args.device)  # first, so the peak RSS is the model's, not the benchmark's
    bw, inplace = bandwidths(args.device)
    print(f"device {args.device}, {torch.get_num_threads()} threads, copy bandwidth "
          f"{bw / 1e9:.1f} GB/s (read + write; in-place scale {inplace / 1e9:.1f} GB/s)")
    if args.device.startswith("cuda"):
        graph_check("seed-small", args.device)
    for name in args.models:
        bench_model(name, args.device, args.repeats, bw, args.baseline_steps,
                    load_engine_class(args.before) if args.before else None)


if __name__ == "__main__":
    main()
