"""Time to target accuracy: the baseline recipe against each training speed-up alone and
the combined recipe, on the 8x8 digits and on the 32x32 shapes-and-textures task, in one
run. Prints a ratio table (baseline seconds / recipe seconds; above 1 is faster).

    python benchmarks/speedups.py                      # both tasks, every recipe
    python benchmarks/speedups.py --tasks digits       # one task
    python benchmarks/speedups.py --recipes baseline combined --shapes-train 3000
    python benchmarks/speedups.py --tasks shapes-rare --recipes baseline repeat-factor combined

Recipes (each changes one thing from the baseline; "combined" takes those that help):
    baseline      SGD (momentum 0.9), constant LR, fp32, Xavier init, dropout on, full size
    adamw         AdamW instead of SGD (constant LR 1e-3)
    onecycle      One Cycle schedule (SGD, peak LR 5-10x the baseline's, a cycle of a few epochs)
    kaiming       Kaiming (fan-in, ReLU) initialisation instead of Xavier
    no-dropout    dropout switched off from the first epoch (DropoutOff)
    resize        progressive resizing 16 -> 24 -> 32 (shapes only: needs a fully convolutional model)
    repeat-factor repeat-factor sampling, t = 0.1 (shapes-rare only: the class-imbalanced task)
    bf16          bfloat16 autocast (not part of combined; run with --recipes baseline bf16)
    combined      AdamW + One Cycle (peak LR from `axon lr-find`) + Kaiming, plus on shapes
                  no dropout and progressive resizing (on digits dropout stays: without it
                  the model does not reach the target), and on shapes-rare repeat-factor sampling

Time counts training and the per-epoch validation from the start of `fit` until
validation accuracy first reaches the task's target, as wall-clock seconds and as this
process's CPU seconds (one torch thread by default, so CPU time is the work done and
stays steady on a machine shared with other jobs, where wall time is not). A recipe that
does not reach the target within its epoch budget is reported as not reached."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, replace

import torch
from torch.utils.data import ConcatDataset, DataLoader, Dataset

from axon import Trainer, zoo
from axon.data import load_digits_splits
from axon.data.resize import ResizedDataset
from axon.data.sampling import RepeatFactorSampler
from axon.data.shapes import load_shapes_splits
from axon.nn.init import init_weights
from axon.train.callbacks.base import Callback
from axon.train.callbacks.curriculum import DropoutOff, ProgressiveResizing
from axon.train.config import OptimizerConfig, ScheduleConfig
from axon.train.trainer import seed_everything


class TimeToTarget(Callback):
    """Record the time from fit start until `val_acc` first reaches `target`, then stop:
    wall-clock seconds and this process's CPU seconds (on a machine shared with other
    work the CPU time is the steadier measure of the work done)."""

    def __init__(self, target: float):
        self.target = target
        self.reached = False
        self.epochs = 0
        self.best = 0.0

    def on_fit_start(self, trainer) -> None:
        self.start = (time.perf_counter(), time.process_time())

    def on_epoch_end(self, trainer, metrics) -> None:
        if self.reached:
            return
        self.epochs = int(metrics["epoch"])
        self.best = max(self.best, metrics["val_acc"])
        self.wall = time.perf_counter() - self.start[0]
        self.cpu = time.process_time() - self.start[1]
        if metrics["val_acc"] >= self.target:
            self.reached = True
            trainer.stop(f"reached val_acc {self.target}")


@dataclass
class Task:
    name: str
    train: Dataset
    val: Dataset  # the target accuracy is measured on it after every epoch
    model: dict  # zoo name and args
    target: float
    sgd_lr: float  # baseline constant learning rate (SGD, momentum 0.9)
    onecycle_sgd_lr: float  # One Cycle peak learning rate with SGD
    combined_lr: float  # One Cycle peak learning rate with AdamW
    max_epochs: int  # budget of the constant-LR recipes
    cycle_epochs: int  # length of the One Cycle recipes
    combined: Recipe  # the speed-ups that help on this task, together
    resize: dict | None = None
    repeat_threshold: float | None = None  # repeat-factor sampling's t (class-imbalanced tasks)
    batch_size: int = 64


@dataclass
class Recipe:
    name: str
    optimizer: str = "sgd"
    schedule: str = "constant"
    init: str = "xavier"
    dropout: bool = True
    resize: bool = False
    precision: str = "fp32"
    repeat_factor: bool = False


RECIPES = {
    "baseline": Recipe("baseline"),
    "adamw": Recipe("adamw", optimizer="adamw"),
    "onecycle": Recipe("onecycle", schedule="onecycle"),
    "kaiming": Recipe("kaiming", init="kaiming"),
    "no-dropout": Recipe("no-dropout", dropout=False),
    "resize": Recipe("resize", resize=True),
    "bf16": Recipe("bf16", precision="bf16"),
    "repeat-factor": Recipe("repeat-factor", repeat_factor=True),
    "combined": Recipe("combined", optimizer="adamw", schedule="onecycle", init="kaiming", dropout=False, resize=True),
}


def make_task(name: str, args) -> Task:
    if name == "digits":
        digits = load_digits_splits()
        # validation and test splits together (504 images), so one image is 0.2% of accuracy
        return Task(
            "digits", digits.train, ConcatDataset([digits.val, digits.test]), {"name": "digits-cnn", "args": {"width": 16}},
            target=args.digits_target, sgd_lr=0.01, onecycle_sgd_lr=0.1, combined_lr=0.02, max_epochs=40,
            cycle_epochs=6, batch_size=32, combined=replace(RECIPES["combined"], dropout=True),
        )
    rare = name == "shapes-rare"  # class k has 10^(-k/9) of class 0's share of the training set
    shapes = load_shapes_splits(train=args.shapes_train, val=1000, test=10, imbalance=10.0 if rare else 1.0)
    return Task(
        name, shapes.train, shapes.val, {"name": "shapes-cnn", "args": {"width": 12, "dropout": 0.2}},
        target=args.rare_target if rare else args.shapes_target, sgd_lr=0.01, onecycle_sgd_lr=0.05,
        combined_lr=0.01, max_epochs=args.shapes_epochs, cycle_epochs=args.shapes_cycle,
        resize={0: 16, 2: 24, 4: 32}, repeat_threshold=0.1 if rare else None,
        combined=replace(RECIPES["combined"], repeat_factor=rare),
    )


class SamplerEpochs(Callback):
    """Tell a sampler of a ready-made DataLoader which epoch it is (the Trainer does this
    for the sampler of the loaders it makes itself)."""

    def __init__(self, sampler):
        self.sampler = sampler

    def on_epoch_start(self, trainer) -> None:
        self.sampler.set_epoch(trainer.epoch)


def run(task: Task, recipe: Recipe) -> TimeToTarget:
    seed_everything(0)
    model = zoo.create(task.model["name"], **task.model["args"])
    # Glorot's Xavier (gain 1), or Kaiming's fan-in ReLU scheme
    init_weights(model, recipe.init, "fan_in", "relu" if recipe.init == "kaiming" else "linear")
    timer = TimeToTarget(task.target)
    callbacks: list[Callback] = [timer]
    if not recipe.dropout:
        callbacks.append(DropoutOff(0))
    train = task.train
    if recipe.resize and task.resize:
        train = ResizedDataset(train)
        callbacks.append(ProgressiveResizing(task.resize, train))
    if recipe.repeat_factor and task.repeat_threshold:
        sampler = RepeatFactorSampler(task.train.tensors[1], task.repeat_threshold, seed=0)
        callbacks.append(SamplerEpochs(sampler))
        train = DataLoader(train, batch_size=task.batch_size, sampler=sampler)
    onecycle = recipe.schedule == "onecycle"
    if recipe.optimizer == "adamw":
        lr = task.combined_lr if onecycle else 1e-3
    else:
        lr = task.onecycle_sgd_lr if onecycle else task.sgd_lr
    trainer = Trainer(
        model, epochs=task.cycle_epochs if onecycle else task.max_epochs, batch_size=task.batch_size,
        optimizer=OptimizerConfig(name=recipe.optimizer, lr=lr, momentum=0.9, weight_decay=5e-4),
        schedule=ScheduleConfig(name=recipe.schedule), callbacks=callbacks, seed=0, device="cpu",
        precision=recipe.precision, progress=False, data_wait_warning=None,
    )
    trainer.fit(train, task.val)
    return timer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=["digits", "shapes"], choices=["digits", "shapes", "shapes-rare"],
                        help="tasks (default digits shapes; shapes-rare is the class-imbalanced shapes task)")
    parser.add_argument("--recipes", nargs="+", default=[r for r in RECIPES if r != "bf16"], choices=list(RECIPES),
                        help="recipes to run (baseline is always run; default: all but bf16)")
    parser.add_argument("--digits-target", type=float, default=0.985, help="target validation accuracy on digits")
    parser.add_argument("--shapes-target", type=float, default=0.7, help="target validation accuracy on shapes")
    parser.add_argument("--rare-target", type=float, default=0.6,
                        help="target validation accuracy (balanced validation set) on shapes-rare")
    parser.add_argument("--shapes-train", type=int, default=6000, help="shapes training images (fewer: faster)")
    parser.add_argument("--shapes-epochs", type=int, default=30, help="epoch budget of constant-LR shapes recipes")
    parser.add_argument("--shapes-cycle", type=int, default=8, help="One Cycle length (epochs) on shapes")
    parser.add_argument("--combined-bf16", action="store_true", help="add bf16 autocast to the combined recipe")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: CPU time then measures the work, not the waiting)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    recipes = ["baseline"] + [r for r in args.recipes if r != "baseline"]
    rows = []
    for task_name in args.tasks:
        task = make_task(task_name, args)
        for name in recipes:
            if name == "resize" and task.resize is None or name == "repeat-factor" and task.repeat_threshold is None:
                continue
            combined = replace(task.combined, precision="bf16") if args.combined_bf16 else task.combined
            timer = run(task, combined if name == "combined" else RECIPES[name])
            if name == "baseline":
                base = timer
            rows.append((task, name, timer, _ratio(base, timer, "cpu"), _ratio(base, timer, "wall")))
            print(f"{task_name:7s} {name:11s} reached {_reached(timer):18s} epochs {timer.epochs:3d}  "
                  f"cpu {timer.cpu:7.1f} s  wall {timer.wall:7.1f} s  speed-up cpu {rows[-1][3]} "
                  f"wall {rows[-1][4]}", flush=True)
    print()
    print("| task (target val acc) | recipe | reached | epochs | CPU s | wall s | speed-up (CPU) | speed-up (wall) |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for task, name, timer, cpu_ratio, wall_ratio in rows:
        print(f"| {task.name} ({task.target}) | {name} | {_reached(timer)} | {timer.epochs} | {timer.cpu:.1f} | "
              f"{timer.wall:.1f} | {cpu_ratio} | {wall_ratio} |")
    return 0


def _reached(timer: TimeToTarget) -> str:
    return "yes" if timer.reached else f"no (best {timer.best:.3f})"


def _ratio(base: TimeToTarget, timer: TimeToTarget, clock: str) -> str:
    """Baseline time / recipe time; a lower bound when the baseline missed the target."""
    if not timer.reached:
        return "n/a"
    ratio = getattr(base, clock) / getattr(timer, clock)
    return f"{ratio:.2f}x" if base.reached else f"> {ratio:.2f}x"


if __name__ == "__main__":
    sys.exit(main())
