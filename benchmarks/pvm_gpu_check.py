"""PVM on a GPU: the bottom-up step, the pipelined step looping over layers and the
pipelined step with the layers of one unit shape merged into one batch
(`PVMEngine(merge_layers=True)`), each replayed as one CUDA graph per step
(`axon.pvm.graph.GraphedStep`), against eager steps of the same engine.

For each step it prints the largest state difference between the graphed and the
eager engine after `--steps` steps (float32 rounding only), the number of graphs
captured, and steps/s of both (best of `--repeats` rounds of 50 steps), with every
layer learning. Without CUDA it runs the same bookkeeping on CPU, replaying the
recorded step eagerly (`eager_record`), so the script is tested with tiny sizes.

    .venv/bin/python benchmarks/pvm_gpu_check.py [--model seed-small] [--steps 30]
        [--repeats 5] [--device cuda|cpu]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from axon.bench.timing import time_interleaved
from axon.pvm.config import apply_overrides, load_model
from axon.pvm.engine import PVMEngine
from axon.pvm.graph import GraphedStep, cuda_record, eager_record

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "pvm"
ALL_LEARNING = ["schedule.delay_each_layer=0", "schedule.enable_lateral_at=0",
                "schedule.enable_feedback_at=0"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="seed-small")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--round", type=int, default=50, help="steps per timed round")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    path = Path(args.model) if args.model.endswith(".json") else EXAMPLES / f"{args.model}.json"
    record = cuda_record if args.device.startswith("cuda") else eager_record
    for step, merge in (("bottom_up", False), ("pipelined", False), ("pipelined", True)):
        cfg = apply_overrides(load_model(path), ALL_LEARNING + [f"step={step}"])
        label = f"{step}-merged" if merge else step
        g = torch.Generator().manual_seed(0)
        video = [torch.rand(3, cfg.input_size, cfg.input_size, generator=g).to(args.device)
                 for _ in range(8)]
        eager, graphed = (PVMEngine(cfg, args.device, merge_layers=merge) for _ in range(2))
        stepper = GraphedStep(graphed, record=record)
        for t in range(args.steps):
            eager.step(video[t % 8])
            stepper.step(video[t % 8])
        diff = max((a - b).abs().max().item() for a, b in
                   zip(eager.state_tensors().values(), graphed.state_tensors().values()))
        k = [0]

        def timed(s):
            def run() -> None:
                for _ in range(args.round):
                    s.step(video[k[0] % 8])
                    k[0] += 1
            return run

        t = time_interleaved({"eager": timed(eager), "graphed": timed(stepper)}, args.repeats,
                             warmup=1)
        failed = f", FAILED: {stepper.failed}" if stepper.failed else ""
        print(f"{cfg.name} {label} on {args.device}: graphed vs eager after {args.steps} steps, "
              f"max state difference {diff:.2e} ({len(stepper.replays)} graphs{failed}); "
              f"eager {args.round / t['eager']:.1f} steps/s, graphed "
              f"{args.round / t['graphed']:.1f} steps/s", flush=True)
        if diff > 1e-3 or stepper.failed:
            raise SystemExit(f"{label}: the graphed step differs from the eager step")


if __name__ == "__main__":
    main()
