"""PVM: what the runner around the engine costs (`axon pvm run` against the engine
alone), measured side by side in one process.

- engine: `PVMEngine.step` on the same camera frames, generated beforehand;
- runner: `PVMRunner.run` (frames from the camera source, metrics every
  `--metrics-every` steps written to metrics.csv, the loop's shell-command and progress
  bookkeeping), without its final snapshot.

Both start from the same model with every layer learning; rounds of `--round` steps
alternate between them (wall-clock rounds, then CPU-time rounds). Prints steps/s of each (best round) and the runner's overhead
as the median over rounds of runner time / engine time - 1, in wall-clock time and in
the process's CPU time (steadier on a shared machine); the target: within 5%.

    .venv/bin/python benchmarks/pvm_runner_overhead.py [--model experiment-1]
        [--threads 1] [--round 50] [--repeats 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from axon.bench.timing import paired_ratio, time_rounds
from axon.data.video import open_source
from axon.pvm.config import apply_overrides, load_model
from axon.pvm.engine import PVMEngine
from axon.pvm.runner import PVMRunner

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "pvm"
ALL_LEARNING = ["schedule.delay_each_layer=0", "schedule.enable_lateral_at=0",
                "schedule.enable_feedback_at=0"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="experiment-1")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--round", type=int, default=50, help="steps per timed round")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--metrics-every", type=int, default=100)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    path = Path(args.model) if args.model.endswith(".json") else EXAMPLES / f"{args.model}.json"
    cfg = apply_overrides(load_model(path), ALL_LEARNING + args.set)
    size = (cfg.input_size, cfg.input_size)
    source = open_source("camera", size, cfg.input_channels)
    video = [source.frame(t).image for t in range(len(source))]
    engine = PVMEngine(cfg)
    with tempfile.TemporaryDirectory() as out:
        runner = PVMRunner(cfg, source, out, metrics_every=args.metrics_every, progress=False)

        def engine_round() -> None:
            for _ in range(args.round):
                engine.step(video[engine.step_count % len(video)])

        def runner_round() -> None:
            runner.run(runner.step_count + args.round, log=lambda line: None,
                       final_snapshot=False)

        rounds = {"engine": engine_round, "runner": runner_round}
        t = time_rounds(rounds, args.repeats, warmup=1)
        cpu = time_rounds(rounds, args.repeats, warmup=0, clock=time.process_time)
    load = Path("/proc/loadavg").read_text().split()[:3]
    rates = {k: args.round / min(v) for k, v in t.items()}
    print(f"{cfg.name} ({cfg.step}, {cfg.activation}), {args.threads} thread(s), load "
          f"{' '.join(load)}: engine {rates['engine']:.1f} steps/s, runner "
          f"{rates['runner']:.1f} steps/s (best of {args.repeats} rounds of {args.round}); "
          f"runner overhead: wall {100 * (paired_ratio(t['runner'], t['engine']) - 1):+.1f}%, "
          f"CPU time {100 * (paired_ratio(cpu['runner'], cpu['engine']) - 1):+.1f}% "
          "(medians of paired rounds)")


if __name__ == "__main__":
    main()
