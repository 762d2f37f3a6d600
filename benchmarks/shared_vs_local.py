"""Shared against unshared weights (seed 003): the same small network built with Conv
(one kernel shared by every location) and with LocallyConnected2d (a kernel per location).

Printed side by side, for 8x8 digits and for 32x32 colour images:
- parameters, and the bytes of gradient a data-parallel step must all-reduce (float32);
- the gradient sums across locations inside the layer: a shared kernel's gradient is the sum
  of its H*W locations' gradients (checked numerically against a tied LocallyConnected2d);
- forward + backward time per batch;
- and (digits) test accuracy and time after the same short training.

    .venv/bin/python benchmarks/shared_vs_local.py [--threads N] [--epochs 10]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from axon.bench.timing import forward_backward, time_interleaved
from axon.data import load_digits_splits
from axon.nn import (Activation, Conv, Dense, Flatten, Input, LocallyConnected2d, Model, Subsample,
                     count_parameters)


def build(kind: str, bands: int, size: int, classes: int = 10) -> Model:
    """(bands, size, size) -> 3x3 (16) -> relu -> 3x3 (32) -> relu -> 2x2 max pool -> dense -> classes."""

    def layer(c_in: int, c_out: int, name: str):
        if kind == "conv":
            return Conv(c_in, c_out, 3, name=name)
        return LocallyConnected2d(c_in, c_out, 3, size, name=name)

    x = image = Input((bands, size, size), name="image")
    x = Activation("relu", name="relu1")(layer(bands, 16, "layer1")(x))
    x = Activation("relu", name="relu2")(layer(16, 32, "layer2")(x))
    x = Flatten(name="flatten")(Subsample(2, name="pool")(x))
    return Model(image, Dense(32 * (size // 2) ** 2, classes, name="logits")(x))


def location_sums(model: Model) -> int:
    """Gradient numbers summed across locations per step: each shared weight sums H*W terms."""
    total = 0
    for name in ("layer1", "layer2"):
        layer = model.layer(name)
        if isinstance(layer, Conv):
            height, width = model.shapes[name][1:]
            total += layer.weight.numel() * height * width
    return total


def check_shared_gradient_is_the_sum_of_local_ones(bands: int, size: int) -> float:
    """Conv's weight gradient against the location-sum of a tied LocallyConnected2d's gradients."""
    conv = Conv(bands, 16, 3)
    local = LocallyConnected2d.from_conv(conv, size)
    x = torch.randn(4, bands, size, size)
    target = torch.randn(4, 16, size, size)
    F.mse_loss(conv(x), target).backward()
    F.mse_loss(local(x), target).backward()
    summed = local.weight.grad.sum(0).reshape(conv.weight.shape)
    return ((summed - conv.weight.grad).abs().max() / conv.weight.grad.abs().max()).item()


def compare(bands: int, size: int, batch: int, repeats: int) -> None:
    shared, local = build("conv", bands, size), build("local", bands, size)
    x = torch.randn(batch, bands, size, size)
    times = time_interleaved({"conv": forward_backward(shared, x), "local": forward_backward(local, x)}, repeats)
    print(f"\n{bands}x{size}x{size} input, batch {batch}")
    print(f"{'':44s} {'Conv (shared)':>16s} {'LocallyConnected':>17s} {'ratio':>8s}")
    rows = [
        ("parameters", count_parameters(shared), count_parameters(local)),
        ("gradient bytes all-reduced per step (float32)", 4 * count_parameters(shared), 4 * count_parameters(local)),
        ("gradient terms summed across locations", location_sums(shared), location_sums(local)),
    ]
    for label, a, b in rows:
        ratio = f"{b / a:7.1f}x" if a and b else "-"
        print(f"{label:44s} {a:16,d} {b:17,d} {ratio:>8s}")
    print(f"{'forward + backward, ms per batch':44s} {times['conv'] * 1e3:16.2f} {times['local'] * 1e3:17.2f} "
          f"{times['local'] / times['conv']:7.1f}x")
    print(f"shared gradient = sum over locations of the tied local gradients: max relative difference "
          f"{check_shared_gradient_is_the_sum_of_local_ones(bands, size):.1e}")


def train_digits(epochs: int) -> None:
    print(f"\ndigits (8x8), AdamW lr 3e-3, One Cycle, batch 64, {epochs} epochs, seed 0")
    splits = load_digits_splits()
    for kind in ("conv", "local"):
        torch.manual_seed(0)
        model = build(kind, 1, 8)
        loader = DataLoader(splits.train, batch_size=64, shuffle=True)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=epochs * len(loader))
        start = time.perf_counter()
        for _ in range(epochs):
            model.train()
            for xb, yb in loader:
                opt.zero_grad()
                F.cross_entropy(model(xb), yb).backward()
                opt.step()
                sched.step()
        seconds = time.perf_counter() - start
        model.eval()
        xt, yt = splits.test.tensors
        with torch.no_grad():
            acc = (model(xt).argmax(1) == yt).float().mean().item()
        label = "Conv (shared)" if kind == "conv" else "LocallyConnected2d"
        print(f"{label:20s} test accuracy {acc:.4f}, training {seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    parser.add_argument("--repeats", type=int, default=10, help="timed rounds per candidate")
    parser.add_argument("--epochs", type=int, default=10, help="digits training epochs (0: skip)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU thread(s)")
    compare(1, 8, 64, args.repeats)
    compare(3, 32, 64, args.repeats)
    if args.epochs:
        train_digits(args.epochs)


if __name__ == "__main__":
    main()
