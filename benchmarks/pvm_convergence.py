"""PVM convergence: a model trained on the default panning camera, with each layer's
mean squared prediction error per camera loop against predicting "the next signal
equals this signal" on the same steps (layer 0: "the next frame equals this frame").

The error follows the content of the video, so whole camera loops are compared. The
run is an ordinary `axon pvm run` (metrics.csv, final snapshot, display, plot) in OUT;
the table is printed in Markdown.

The defaults run axon's unit: it predicts the change of its signal, with its signal
inputs standardised (model keys `prediction: "change"`, `input_norm`), at learning rate
0.05. `--prediction signal --input-norm off --lr 3` runs the original's unit.

    .venv/bin/python benchmarks/pvm_convergence.py [--model examples/pvm/seed-small.json]
        [--steps 20000] [--lr 0.05] [--delay-each-layer 2000] [--context-at 0]
        [--prediction signal|change] [--input-norm DECAY|off] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from axon.data.video import open_source
from axon.pvm.config import apply_overrides, load_model
from axon.pvm.experiments import plot_run, read_metrics
from axon.pvm.runner import PVMRunner

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "pvm"


def loop_means(metrics: dict[str, list[float]], key: str, loop: int, steps: int) -> list[float]:
    """Mean of a metrics column over each `loop`-step window (rows by their end step)."""
    out = []
    for start in range(0, steps, loop):
        vals = [v for s, v in zip(metrics["step"], metrics[key]) if start < s <= start + loop]
        out.append(sum(vals) / len(vals) if vals else float("nan"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(EXAMPLES / "seed-small.json"))
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--lr", type=float, default=0.05,
                    help="learning rate of every layer once it starts (default 0.05)")
    ap.add_argument("--delay-each-layer", type=int, default=2000,
                    help="layer i starts learning at step i x this (default 2000)")
    ap.add_argument("--context-at", type=int, default=0,
                    help="step at which lateral and feedback context switch on (default 0)")
    ap.add_argument("--prediction", choices=["signal", "change"], default="change",
                    help="what a unit's output predicts (model key `prediction`; default change)")
    ap.add_argument("--input-norm", default="0.999", metavar="DECAY|off",
                    help="standardise the units' signal inputs with running statistics of "
                         "this decay (model key `input_norm`; default 0.999)")
    ap.add_argument("--metrics-every", type=int, default=500)
    ap.add_argument("--out", default="runs/pvm/convergence")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = apply_overrides(load_model(args.model), [
        f"schedule.initial_learning_rate={args.lr}",
        f"schedule.intermediate_learning_rate={args.lr}",
        f"schedule.delay_each_layer={args.delay_each_layer}",
        f"schedule.enable_lateral_at={args.context_at}",
        f"schedule.enable_feedback_at={args.context_at}",
        f"prediction={args.prediction}",
        "input_norm=" + ("null" if args.input_norm == "off" else f'{{"decay": {args.input_norm}}}'),
    ])
    source = open_source("camera", (cfg.input_size, cfg.input_size), cfg.input_channels)
    runner = PVMRunner(cfg, source, args.out, metrics_every=args.metrics_every,
                       display_every=args.steps, progress=False)
    runner.run(args.steps, log=lambda line: None)
    m = read_metrics(Path(args.out) / "metrics.csv")
    loop = len(source)
    starts = range(0, args.steps, loop)
    print(f"{cfg.name} on {source.describe()}, {args.steps} steps, prediction "
          f"{cfg.prediction}, input_norm {cfg.input_norm}, lr {args.lr}, layer i "
          f"from step {args.delay_each_layer} i, context from step {args.context_at}; "
          f"{runner.steps_per_s:.1f} steps/s at the end")
    print("| loop (steps) | " + " | ".join(f"{s // 1000}-{(s + loop) // 1000}k" for s in starts)
          + " |")
    print("| --- |" + " --- |" * len(starts))
    for l in range(len(cfg.layer_shapes)):
        for key, label in ((f"mse_{l}", f"layer {l}"), (f"copy_mse_{l}", f"layer {l} copy")):
            means = loop_means(m, key, loop, args.steps)
            print(f"| {label} | " + " | ".join(f"{v:.2g}" for v in means) + " |")
    print(f"plot: {plot_run(args.out)}")


if __name__ == "__main__":
    main()
