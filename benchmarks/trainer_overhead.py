"""Overhead of axon's Trainer against a minimal hand-written PyTorch loop.

Both train the same model (zoo digits-cnn) on the same data (the 8x8 digits splits) with
the same seed, optimizer (AdamW), schedule (One Cycle), batch size and per-epoch
validation, in one process, alternating repeats. The Trainer runs with its default
callbacks as when writing to a log (plain progress lines to a file, NaN guard,
metrics.csv, TensorBoard, curves.png, checkpoints last and best).

Prints the median seconds per epoch of each and the ratio b/a (target <= 1.03), and the
whole-fit ratio including one-time costs (TensorBoard start-up, the final plot).

    python benchmarks/trainer_overhead.py [--epochs 10] [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time

import torch
from torch.utils.data import DataLoader

from axon import Trainer
from axon.data import load_digits_splits
from axon.train.callbacks import Callback
from axon.train.trainer import seed_everything
from axon.zoo import create

LR, BATCH = 3e-3, 64


def hand_written(splits, epochs: int, seed: int) -> tuple[list[float], float]:
    """Per-epoch seconds and total seconds of the plain loop."""
    start = time.perf_counter()
    seed_everything(seed)
    model = create("digits-cnn")
    generator = torch.Generator().manual_seed(seed)
    train = DataLoader(splits.train, batch_size=BATCH, shuffle=True, generator=generator)
    val = DataLoader(splits.val, batch_size=512)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=LR, total_steps=epochs * len(train), pct_start=0.3)
    loss_fn = torch.nn.CrossEntropyLoss()
    epoch_ends = [time.perf_counter()]
    for _ in range(epochs):
        model.train()
        total = 0.0
        for x, y in train:
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(y)
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in val:
                correct += int((model(x).argmax(1) == y).sum())
        epoch_ends.append(time.perf_counter())
    return [b - a for a, b in zip(epoch_ends, epoch_ends[1:])], time.perf_counter() - start


class EpochTimer(Callback):
    order = 1000  # after every other callback, checkpointing included

    def __init__(self):
        self.ends: list[float] = []

    def on_fit_start(self, trainer):
        self.ends = [time.perf_counter()]

    def on_epoch_end(self, trainer, metrics):
        self.ends.append(time.perf_counter())


def with_trainer(splits, epochs: int, seed: int) -> tuple[list[float], float]:
    """Per-epoch seconds and total seconds of axon's Trainer with its run-folder callbacks."""
    start = time.perf_counter()
    seed_everything(seed)
    model = create("digits-cnn")
    timer = EpochTimer()
    with tempfile.TemporaryDirectory() as run_dir, open(f"{run_dir}.log", "w") as log, contextlib.redirect_stdout(log):
        Trainer(model, epochs=epochs, batch_size=BATCH, lr=LR, run_dir=run_dir, callbacks=[timer],
                seed=seed, device="cpu").fit(splits.train, splits.val)
    return [b - a for a, b in zip(timer.ends, timer.ends[1:])], time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is steadiest)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    splits = load_digits_splits()
    plain_epochs, axon_epochs, plain_totals, axon_totals = [], [], [], []
    with_trainer(splits, 1, 0)  # warm-up: imports, TensorBoard start-up, allocator
    for repeat in range(args.repeats):
        for run, epochs_out, totals_out in ((hand_written, plain_epochs, plain_totals),
                                            (with_trainer, axon_epochs, axon_totals)):
            epoch_seconds, total = run(splits, args.epochs, seed=repeat)
            epochs_out.extend(epoch_seconds)
            totals_out.append(total)
        print(f"repeat {repeat + 1}/{args.repeats}: plain {statistics.median(plain_epochs):.4f} s/epoch, "
              f"axon {statistics.median(axon_epochs):.4f} s/epoch", flush=True)
    a, b = statistics.median(plain_epochs), statistics.median(axon_epochs)
    print(f"\nmedian seconds per epoch: (a) hand-written loop {a:.4f}, (b) axon Trainer {b:.4f}")
    print(f"ratio b/a per epoch: {b / a:.3f} (target <= 1.03)")
    ta, tb = statistics.median(plain_totals), statistics.median(axon_totals)
    print(f"whole fit of {args.epochs} epochs (incl. one-time costs): (a) {ta:.2f} s, (b) {tb:.2f} s, ratio {tb / ta:.3f}")


if __name__ == "__main__":
    main()
