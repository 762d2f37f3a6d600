"""GoogLeNet forward + backward on CPU at batch 8, 224x224: time, parameters, multiply-adds.

Side by side with the same network written directly in torch.nn (nn.Conv2d, nn.MaxPool2d,
nn.LocalResponseNorm, no graph), so the ratio is the cost of axon's graph and layers.

    .venv/bin/python benchmarks/googlenet_speed.py [--batch 8] [--size 224] [--threads N] [--repeats 3]
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

from axon import zoo
from axon.bench.timing import forward_backward, paired_ratio, time_rounds
from axon.nn import count_parameters
from axon.zoo.googlenet import INCEPTION_BANDS


def conv_relu(c_in: int, c_out: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, padding=k // 2), nn.ReLU())


class TorchInception(nn.Module):
    def __init__(self, c_in, b1, r3, b3, r5, b5, pp):
        super().__init__()
        self.b1 = conv_relu(c_in, b1, 1)
        self.b3 = nn.Sequential(conv_relu(c_in, r3, 1), conv_relu(r3, b3, 3))
        self.b5 = nn.Sequential(conv_relu(c_in, r5, 1), conv_relu(r5, b5, 5))
        self.bp = nn.Sequential(nn.MaxPool2d(3, 1, 1), conv_relu(c_in, pp, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], 1)


def torch_googlenet(num_classes: int = 1000) -> nn.Sequential:
    """The baseline: GoogLeNet (no auxiliary heads) as a plain nn.Sequential."""
    pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)  # noqa: E731
    layers = [conv_relu(3, 64, 7, 2), pool(), nn.LocalResponseNorm(5), conv_relu(64, 64, 1), conv_relu(64, 192, 3),
              nn.LocalResponseNorm(5), pool()]
    bands = 192
    for block, spec in INCEPTION_BANDS.items():
        if block in ("4a", "5a"):
            layers.append(pool())
        layers.append(TorchInception(bands, *spec))
        bands = spec[0] + spec[2] + spec[4] + spec[5]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.4), nn.Linear(bands, num_classes)]
    return nn.Sequential(*layers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8, help="images per batch")
    parser.add_argument("--size", type=int, default=224, help="image height and width")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per candidate")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ours = zoo.create("googlenet", image_size=args.size)
    baseline = torch_googlenet()
    x = torch.randn(args.batch, 3, args.size, args.size)
    rounds = time_rounds({"torch.nn": forward_backward(baseline, x), "axon": forward_backward(ours, x)},
                         args.repeats, warmup=1)
    times = {name: min(samples) for name, samples in rounds.items()}
    macs = ours.multiply_adds()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU thread(s); batch {args.batch}, "
          f"{args.size}x{args.size}, forward + backward, best of {args.repeats}")
    print(f"parameters: axon {count_parameters(ours):,}, torch.nn {count_parameters(baseline):,}")
    print(f"multiply-adds per image (forward): {macs / 1e9:.3f} G")
    for name, t in times.items():
        print(f"{name:9s} {t:7.3f} s per batch, {args.batch / t:6.2f} images/s, "
              f"{3 * macs * args.batch / t / 1e9:6.1f} G multiply-adds/s (forward + backward ~ 3x forward)")
    print(f"axon / torch.nn time ratio (median of per-round ratios): "
          f"{paired_ratio(rounds['axon'], rounds['torch.nn']):.3f}")


if __name__ == "__main__":
    main()
