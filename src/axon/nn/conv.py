"""Same-size convolution (`Conv`) and its unshared twin (`LocallyConnected2d`).

Both follow the image tensor rules: kernels are odd (a same-size output needs a centre
pixel), edges are zero-padded by kernel // 2, and every input band connects to every
output band. `Conv` shares one kernel over all locations; `LocallyConnected2d` gives
every output location its own kernel (no parameter sharing)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from axon.nn.layer import Layer, Shape, as_pair, check_positive_int


def _odd_kernel(owner: str, kernel_size) -> tuple[int, int]:
    kernel = as_pair(owner, "kernel_size", kernel_size)
    if kernel[0] % 2 == 0 or kernel[1] % 2 == 0:
        raise ValueError(
            f"{owner}: kernel_size must be odd, got {kernel_size!r}: a same-size output needs a "
            "centre pixel, so an even kernel has no pixel to centre on"
        )
    return kernel


def _init_uniform(weight: torch.Tensor, bias: torch.Tensor | None, fan_in: int) -> None:
    """PyTorch's default for Conv2d/Linear: U(-b, b) with b = 1/sqrt(fan_in) (Kaiming uniform, a=sqrt(5))."""
    bound = 1.0 / math.sqrt(fan_in)
    with torch.no_grad():
        weight.uniform_(-bound, bound)
        if bias is not None:
            bias.uniform_(-bound, bound)


def _set_geometry(layer: Layer, in_bands, out_bands, kernel_size, bias) -> str:
    """Validate and store the arguments Conv and LocallyConnected2d share; returns the
    layer's label for further error messages."""
    owner = layer.label
    layer.in_bands = check_positive_int(owner, "in_bands", in_bands)
    layer.out_bands = check_positive_int(owner, "out_bands", out_bands)
    layer.kernel_size = _odd_kernel(owner, kernel_size)
    if not isinstance(bias, bool):
        raise ValueError(f"{owner}: bias must be true or false, got {bias!r}")
    layer.bias_enabled = bias
    return owner


class Conv(Layer):
    """Same-size 2-D convolution with shared weights.

    (N, in_bands, H, W) -> (N, out_bands, ceil(H / stride), ceil(W / stride)); with
    stride 1 the output keeps the input's height and width. The kernel must be odd;
    edges are zero-padded by kernel_size // 2. Runs on torch's conv2d (cuDNN on GPU).

    Parameters: weight (out_bands, in_bands, kh, kw) and bias (out_bands,):
    out_bands * in_bands * kh * kw (+ out_bands) numbers.
    """

    def __init__(self, in_bands: int, out_bands: int, kernel_size=3, stride: int = 1, bias: bool = True,
                 name: str | None = None):
        super().__init__(name)
        owner = _set_geometry(self, in_bands, out_bands, kernel_size, bias)
        self.stride = check_positive_int(owner, "stride", stride)
        kh, kw = self.kernel_size
        self.weight = nn.Parameter(torch.empty(out_bands, in_bands, kh, kw))
        self.bias = nn.Parameter(torch.empty(out_bands)) if bias else None
        _init_uniform(self.weight, self.bias, in_bands * kh * kw)

    def spec_args(self) -> dict:
        return {"in_bands": self.in_bands, "out_bands": self.out_bands, "kernel_size": list(self.kernel_size),
                "stride": self.stride, "bias": self.bias_enabled}

    @property
    def padding(self) -> tuple[int, int]:
        return (self.kernel_size[0] // 2, self.kernel_size[1] // 2)

    def infer_shape(self, shape: Shape) -> Shape:
        if len(shape) != 3 or shape[0] != self.in_bands:
            raise self.shape_error(shape, f"({self.in_bands}, height, width)")
        s = self.stride
        return (self.out_bands, -(-shape[1] // s), -(-shape[2] // s))

    def multiply_adds(self, shape: Shape) -> int:
        out = self.infer_shape(shape)
        return out[0] * out[1] * out[2] * self.in_bands * self.kernel_size[0] * self.kernel_size[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (f"{self.in_bands}, {self.out_bands}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"bias={self.bias_enabled}")


class _LocationMatmul(torch.autograd.Function):
    """out[n, o, l] = sum_k cols[n, k, l] * weight[l, o, k], as one batched matmul over
    locations l. Written out (rather than einsum) so that forward and backward both hand
    bmm location-major contiguous operands; autograd's own backward would pass bmm a
    gradient whose batch dimension is innermost, which bmm copies matrix by matrix."""

    @staticmethod
    def forward(ctx, cols: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        cols_l = cols.permute(2, 0, 1).contiguous()  # (L, N, K)
        ctx.save_for_backward(cols_l, weight)
        return torch.bmm(cols_l, weight.transpose(1, 2)).permute(1, 2, 0).contiguous()  # (N, O, L)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        cols_l, weight = ctx.saved_tensors
        grad_l = grad.permute(2, 0, 1).contiguous()  # (L, N, O)
        grad_cols = grad_weight = None
        if ctx.needs_input_grad[0]:
            grad_cols = torch.bmm(grad_l, weight).permute(1, 2, 0)  # (N, K, L)
        if ctx.needs_input_grad[1]:
            grad_weight = torch.bmm(grad_l.transpose(1, 2), cols_l)  # (L, O, K)
        return grad_cols, grad_weight


class LocallyConnected2d(Layer):
    """Conv's geometry (odd kernel, same-size output, zero edges, stride 1) without
    parameter sharing: every output location has its own kernel and bias.

    (N, in_bands, H, W) -> (N, out_bands, H, W), where (H, W) = input_size is fixed
    at construction. Parameters: weight (H * W, out_bands, in_bands * kh * kw) and
    bias (out_bands, H, W): H * W * out_bands * (in_bands * kh * kw + 1) numbers,
    H * W times a Conv's. Computed as unfold (im2col) then one batched matmul over
    locations (bmm), not a loop over positions.
    """

    def __init__(self, in_bands: int, out_bands: int, kernel_size, input_size, bias: bool = True,
                 name: str | None = None):
        super().__init__(name)
        owner = _set_geometry(self, in_bands, out_bands, kernel_size, bias)
        self.input_size = as_pair(owner, "input_size", input_size)
        height, width = self.input_size
        fan_in = in_bands * self.kernel_size[0] * self.kernel_size[1]
        self.weight = nn.Parameter(torch.empty(height * width, out_bands, fan_in))
        self.bias = nn.Parameter(torch.empty(out_bands, height, width)) if bias else None
        _init_uniform(self.weight, self.bias, fan_in)

    def spec_args(self) -> dict:
        return {"in_bands": self.in_bands, "out_bands": self.out_bands, "kernel_size": list(self.kernel_size),
                "input_size": list(self.input_size), "bias": self.bias_enabled}

    @classmethod
    def from_conv(cls, conv: Conv, input_size, name: str | None = None) -> "LocallyConnected2d":
        """A layer whose every location holds `conv`'s kernel (and bias): computes what `conv` does."""
        if conv.stride != 1:
            raise ValueError(f"LocallyConnected2d.from_conv: {conv.label} has stride {conv.stride}, expected 1")
        layer = cls(conv.in_bands, conv.out_bands, conv.kernel_size, input_size, conv.bias_enabled, name)
        layer.tie_(conv.weight, conv.bias)
        return layer

    def tie_(self, kernel: torch.Tensor, bias: torch.Tensor | None = None) -> "LocallyConnected2d":
        """Set every location's weights to one shared `kernel` (out_bands, in_bands, kh, kw)
        and bias (out_bands,); the layer then computes a Conv with that kernel."""
        expected = (self.out_bands, self.in_bands, *self.kernel_size)
        if tuple(kernel.shape) != expected:
            raise ValueError(f"{self.label}.tie_: kernel shape {tuple(kernel.shape)}, expected {expected}")
        with torch.no_grad():
            self.weight.copy_(kernel.reshape(1, self.out_bands, -1).expand_as(self.weight))
            if self.bias is not None:
                if bias is None or tuple(bias.shape) != (self.out_bands,):
                    got = None if bias is None else tuple(bias.shape)
                    raise ValueError(f"{self.label}.tie_: bias shape {got}, expected ({self.out_bands},)")
                self.bias.copy_(bias.reshape(-1, 1, 1).expand_as(self.bias))
        return self

    def infer_shape(self, shape: Shape) -> Shape:
        expected = (self.in_bands, *self.input_size)
        if tuple(shape) != expected:
            raise self.shape_error(shape, f"{expected} (in_bands, *input_size)")
        return (self.out_bands, *self.input_size)

    def multiply_adds(self, shape: Shape) -> int:
        return self.weight.numel()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[1:]) != (self.in_bands, *self.input_size):
            raise self.shape_error(tuple(x.shape[1:]), f"{(self.in_bands, *self.input_size)} (in_bands, *input_size)")
        kh, kw = self.kernel_size
        cols = F.unfold(x, (kh, kw), padding=(kh // 2, kw // 2))  # (N, in*kh*kw, H*W)
        out = _LocationMatmul.apply(cols, self.weight)  # (N, out, H*W)
        out = out.reshape(x.shape[0], self.out_bands, *self.input_size)
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return (f"{self.in_bands}, {self.out_bands}, kernel_size={self.kernel_size}, "
                f"input_size={self.input_size}, bias={self.bias_enabled}")
