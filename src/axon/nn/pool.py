"""Pooling: `Subsample` (max or average with a stride), `AdaptivePool` (to a fixed
output size, whatever the input size) and `GlobalAvgPool` (bands only)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from axon.nn.layer import Layer, Shape, as_pair, check_positive_int

POOL_MODES = ("max", "avg")


def _check_mode(owner: str, mode: str) -> str:
    if mode not in POOL_MODES:
        raise ValueError(f"{owner}: mode must be one of {POOL_MODES}, got {mode!r}")
    return mode


def pooled_size(size: int, kernel: int, stride: int, padding: int, ceil_mode: bool) -> int:
    """Output length of pooling along one axis, exactly as torch computes it."""
    span = size + 2 * padding - kernel
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1  # the last window must start inside the input or the left padding
    return out


class Subsample(Layer):
    """Max or average pooling with a stride: (N, C, H, W) -> (N, C, H', W').

    H' = floor((H + 2 * padding - kernel) / stride) + 1, or ceil instead of floor with
    `ceil_mode` (as GoogLeNet's 3x3/2 max pools use: 112 -> 56 -> 28). `stride`
    defaults to the kernel size. Average pooling counts padded zeros in the mean.
    """

    def __init__(self, kernel_size=2, stride: int | None = None, padding: int = 0, mode: str = "max",
                 ceil_mode: bool = False, name: str | None = None):
        super().__init__(name)
        owner = self.label
        self.kernel_size = as_pair(owner, "kernel_size", kernel_size)
        self.stride = self.kernel_size[0] if stride is None else check_positive_int(owner, "stride", stride)
        self.padding = check_positive_int(owner, "padding", padding, minimum=0)
        if 2 * self.padding > min(self.kernel_size):
            raise ValueError(f"{owner}: padding must be at most half the kernel size {self.kernel_size}, got {padding}")
        self.mode = _check_mode(owner, mode)
        if not isinstance(ceil_mode, bool):
            raise ValueError(f"{owner}: ceil_mode must be true or false, got {ceil_mode!r}")
        self.ceil_mode = ceil_mode

    def infer_shape(self, shape: Shape) -> Shape:
        self.expect_rank(shape, 3, "(bands, height, width)")
        kh, kw = self.kernel_size
        if shape[1] + 2 * self.padding < kh or shape[2] + 2 * self.padding < kw:
            raise self.shape_error(shape, f"height and width of at least the kernel {self.kernel_size} "
                                          f"(with padding {self.padding})")
        p, s, c = self.padding, self.stride, self.ceil_mode
        return (shape[0], pooled_size(shape[1], kh, s, p, c), pooled_size(shape[2], kw, s, p, c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "max":
            return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, ceil_mode=self.ceil_mode)
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, ceil_mode=self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"mode={self.mode!r}, ceil_mode={self.ceil_mode}")


class AdaptivePool(Layer):
    """Max or average pooling to a fixed `output_size`: (N, C, H, W) -> (N, C, *output_size).

    Lets a head built for one input size (GoogLeNet's auxiliary classifiers pool 14x14
    to 4x4) take smaller inputs."""

    def __init__(self, output_size, mode: str = "avg", name: str | None = None):
        super().__init__(name)
        owner = self.label
        self.output_size = as_pair(owner, "output_size", output_size)
        self.mode = _check_mode(owner, mode)

    def infer_shape(self, shape: Shape) -> Shape:
        self.expect_rank(shape, 3, "(bands, height, width)")
        return (shape[0], *self.output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "max":
            return F.adaptive_max_pool2d(x, self.output_size)
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}, mode={self.mode!r}"


class GlobalAvgPool(Layer):
    """Mean over height and width: (N, C, H, W) -> (N, C)."""

    def infer_shape(self, shape: Shape) -> Shape:
        self.expect_rank(shape, 3, "(bands, height, width)")
        return (shape[0],)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))
