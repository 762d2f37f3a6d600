"""Conv and LocallyConnected2d speed, side by side with their baselines (same process).

- axon Conv against torch.nn.Conv2d (padding k // 2), forward + backward, several shapes:
  the ratio should be 1.00 (within 2%): Conv runs on the same conv2d.
- LocallyConnected2d (unfold + one batched matmul) against a per-location loop computing the
  same thing, and against Conv on the same shape (the cost of not sharing weights).

    .venv/bin/python benchmarks/conv_speed.py [--threads N] [--repeats R]
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from axon.bench.timing import forward_backward, paired_ratio, time_interleaved, time_rounds
from axon.nn import Conv, LocallyConnected2d

CONV_SHAPES = [  # (batch, in bands, out bands, size, kernel)
    (32, 16, 32, 32, 3),
    (16, 64, 64, 28, 3),
    (8, 32, 64, 56, 5),
    (64, 3, 16, 32, 7),
]


class PerLocationLoop(torch.nn.Module):
    """The baseline: each output pixel computed by its own matmul, in a Python loop."""

    def __init__(self, local: LocallyConnected2d):
        super().__init__()
        self.local = local

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kh, kw = self.local.kernel_size
        height, width = self.local.input_size
        padded = F.pad(x, (kw // 2, kw // 2, kh // 2, kh // 2))
        pixels = []
        for i in range(height):
            for j in range(width):
                patch = padded[:, :, i : i + kh, j : j + kw].reshape(x.shape[0], -1)
                pixels.append(patch @ self.local.weight[i * width + j].T)
        out = torch.stack(pixels, dim=-1).reshape(x.shape[0], -1, height, width)
        return out + self.local.bias


def conv_vs_conv2d(repeats: int) -> None:
    print("Conv vs torch.nn.Conv2d, forward + backward (best round, ms per batch; ratio: median of "
          "per-round ratios)")
    print(f"{'batch x in -> out, size, kernel':34s} {'Conv2d':>9s} {'axon Conv':>10s} {'ratio':>6s}")
    for batch, c_in, c_out, size, k in CONV_SHAPES:
        ours = Conv(c_in, c_out, k)
        ref = torch.nn.Conv2d(c_in, c_out, k, padding=k // 2)
        x = torch.randn(batch, c_in, size, size)
        with torch.no_grad():
            ours.weight.copy_(ref.weight)
            ours.bias.copy_(ref.bias)
        rounds = time_rounds({"ref": forward_backward(ref, x), "ours": forward_backward(ours, x)}, repeats)
        label = f"{batch} x {c_in} -> {c_out}, {size}x{size}, {k}x{k}"
        print(f"{label:34s} {min(rounds['ref']) * 1e3:9.2f} {min(rounds['ours']) * 1e3:10.2f} "
              f"{paired_ratio(rounds['ours'], rounds['ref']):6.3f}")


def local_vs_loop(repeats: int) -> None:
    print("\nLocallyConnected2d, forward + backward (best round, ms per batch)")
    print(f"{'batch x in -> out, size, kernel':34s} {'loop':>9s} {'axon LC':>9s} {'speed-up':>9s} "
          f"{'Conv':>8s} {'LC / Conv':>9s}")
    for batch, c_in, c_out, size, k in [(32, 8, 8, 16, 3), (16, 16, 16, 24, 3), (8, 3, 8, 32, 5)]:
        local = LocallyConnected2d(c_in, c_out, k, size)
        conv = Conv(c_in, c_out, k)
        x = torch.randn(batch, c_in, size, size)
        t = time_interleaved({"loop": forward_backward(PerLocationLoop(local), x),
                              "local": forward_backward(local, x),
                              "conv": forward_backward(conv, x)}, repeats, warmup=1)
        label = f"{batch} x {c_in} -> {c_out}, {size}x{size}, {k}x{k}"
        print(f"{label:34s} {t['loop'] * 1e3:9.2f} {t['local'] * 1e3:9.2f} {t['loop'] / t['local']:8.1f}x "
              f"{t['conv'] * 1e3:8.2f} {t['local'] / t['conv']:8.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    parser.add_argument("--repeats", type=int, default=40, help="timed rounds per candidate")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU thread(s)\n")
    conv_vs_conv2d(args.repeats)
    local_vs_loop(max(3, args.repeats // 4))


if __name__ == "__main__":
    main()
