"""PVM convergence: a model trained on the default panning camera, with each layer's
mean squared prediction error per camera loop against predicting "the next signal
equals this signal" on the same steps (layer 0: "the next frame equals this frame").

The error follows the content of the video, so whole camera loops are compared
(`--window N`: N-step windows instead). Every layer's row is printed with its own copy
baseline and the ratio beside it, and the worst layer-0 ratio from `--from-step` on. The
run is an ordinary `axon pvm run` (metrics.csv, final snapshot, display, plot) in OUT;
the table is printed in Markdown.

The default model, examples/pvm/seed-small-axon.json, is seed-small with axon's unit: it
predicts the change of its signal, with its signal inputs standardised (model keys
`prediction: "change"`, `input_norm` decay 0.9999), at learning rate 0.2 without momentum,
layer i learning from step 2000 i, context from step 0. Each flag given overrides its model key;
`--model examples/pvm/seed-small.json --lr 0.05 --delay-each-layer 2000 --context-at 0`
runs the original's unit as the original runs it (rational activation, pipelined step);
`--set KEY=VALUE` overrides any other model key (as `axon pvm run --set`).

    .venv/bin/python benchmarks/pvm_convergence.py [--model examples/pvm/seed-small-axon.json]
        [--steps 20000] [--lr LR] [--delay-each-layer N] [--context-at STEP]
        [--prediction signal|change] [--input-norm DECAY|off] [--step bottom_up|pipelined]
        [--set KEY=VALUE ...] [--window N] [--from-step 5000] [--out DIR]
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
    ap.add_argument("--model", default=str(EXAMPLES / "seed-small-axon.json"))
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--lr", type=float,
                    help="learning rate of every layer once it starts (default: the model's)")
    ap.add_argument("--delay-each-layer", type=int,
                    help="layer i starts learning at step i x this (default: the model's)")
    ap.add_argument("--context-at", type=int,
                    help="step at which lateral and feedback context switch on "
                         "(default: the model's)")
    ap.add_argument("--prediction", choices=["signal", "change"],
                    help="what a unit's output predicts (model key `prediction`)")
    ap.add_argument("--input-norm", metavar="DECAY|off",
                    help="standardise the units' signal inputs with running statistics of "
                         "this decay, or not (model key `input_norm`)")
    ap.add_argument("--step", choices=["bottom_up", "pipelined"],
                    help="the step's timing (model key `step`)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override any model key, e.g. --set input_size=40")
    ap.add_argument("--window", type=int, help="steps per table column (default: a camera loop)")
    ap.add_argument("--from-step", type=int, default=5000,
                    help="report layer 0's worst error / copy ratio over windows from here on")
    ap.add_argument("--metrics-every", type=int, default=500)
    ap.add_argument("--out", default="runs/pvm/convergence")
    args = ap.parse_args()
    torch.set_num_threads(1)
    overrides = []
    if args.lr is not None:
        overrides += [f"schedule.initial_learning_rate={args.lr}",
                      f"schedule.intermediate_learning_rate={args.lr}"]
    if args.delay_each_layer is not None:
        overrides.append(f"schedule.delay_each_layer={args.delay_each_layer}")
    if args.context_at is not None:
        overrides += [f"schedule.enable_lateral_at={args.context_at}",
                      f"schedule.enable_feedback_at={args.context_at}"]
    if args.prediction is not None:
        overrides.append(f"prediction={args.prediction}")
    if args.input_norm is not None:
        overrides.append("input_norm=" + ("null" if args.input_norm == "off"
                                          else f'{{"decay": {args.input_norm}}}'))
    if args.step is not None:
        overrides.append(f"step={args.step}")
    cfg = apply_overrides(load_model(args.model), overrides + args.set)
    sched = cfg.schedule
    source = open_source("camera", (cfg.input_size, cfg.input_size), cfg.input_channels)
    runner = PVMRunner(cfg, source, args.out, metrics_every=args.metrics_every,
                       display_every=args.steps, progress=False)
    runner.run(args.steps, log=lambda line: None)
    m = read_metrics(Path(args.out) / "metrics.csv")
    loop = args.window or len(source)
    starts = range(0, args.steps, loop)
    print(f"{cfg.name} on {source.describe()}, {args.steps} steps, {cfg.step} step, "
          f"activation {cfg.activation}, prediction "
          f"{cfg.prediction}, input_norm {cfg.input_norm}, lr {sched.initial_learning_rate}, "
          f"layer i from step {sched.delay_each_layer} i, lateral context from step "
          f"{sched.enable_lateral_at}, feedback from {sched.enable_feedback_at}; "
          f"{runner.steps_per_s:.1f} steps/s at the end")
    print("| steps | " + " | ".join(f"{s / 1000:g}-{(s + loop) / 1000:g}k" for s in starts)
          + " |")
    print("| --- |" + " --- |" * len(starts))
    ratios = []
    for l in range(len(cfg.layer_shapes)):
        err = loop_means(m, f"mse_{l}", loop, args.steps)
        copy = loop_means(m, f"copy_mse_{l}", loop, args.steps)
        ratios.append([e / c if c else float("nan") for e, c in zip(err, copy)])
        for label, row, fmt in ((f"layer {l}", err, ".2g"), (f"layer {l} copy", copy, ".2g"),
                                (f"layer {l} / copy", ratios[-1], ".2f")):
            print(f"| {label} | " + " | ".join(f"{v:{fmt}}" for v in row) + " |")
    late = [r for s, r in zip(starts, ratios[0]) if s >= args.from_step]
    if late:
        print(f"layer 0 error / copy from step {args.from_step} on: worst {max(late):.2f}; "
              "last window, every layer: " + ", ".join(f"{r[-1]:.2f}" for r in ratios))
    print(f"plot: {plot_run(args.out)}")


if __name__ == "__main__":
    main()
