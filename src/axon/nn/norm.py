"""Normalisation: `BatchNorm` (over the batch, per band or feature) and
`LocalResponseNorm` (across neighbouring bands, as in AlexNet and GoogLeNet)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from axon.nn.layer import Layer, Shape, check_positive_int


def _check_positive_number(owner: str, field: str, value, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{owner}: {field} must be a number {bound}, got {value!r}")
    return float(value)


class BatchNorm(Layer):
    """Batch normalisation per band: (N, bands, H, W) or (N, features) -> same shape.

    Training normalises with the batch's mean and (biased) variance and updates the
    running estimates with `momentum`; eval mode uses the running estimates.
    Parameters: weight and bias (bands,); buffers: running_mean, running_var."""

    def __init__(self, bands: int, eps: float = 1e-5, momentum: float = 0.1, name: str | None = None):
        super().__init__(name)
        owner = self.label
        self.bands = check_positive_int(owner, "bands", bands)
        self.eps = _check_positive_number(owner, "eps", eps)
        self.momentum = _check_positive_number(owner, "momentum", momentum)
        if self.momentum > 1:
            raise ValueError(f"{owner}: momentum must be in (0, 1], got {momentum!r}")
        self.weight = nn.Parameter(torch.ones(bands))
        self.bias = nn.Parameter(torch.zeros(bands))
        self.register_buffer("running_mean", torch.zeros(bands))
        self.register_buffer("running_var", torch.ones(bands))

    def infer_shape(self, shape: Shape) -> Shape:
        if len(shape) not in (1, 3) or shape[0] != self.bands:
            raise self.shape_error(shape, f"({self.bands}, height, width) or ({self.bands},)")
        return tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_scripting():  # compiled code skips the message; batch_norm still checks
            if x.shape[1] != self.bands:
                raise self.shape_error(tuple(x.shape[1:]), f"{self.bands} bands")
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training, self.momentum, self.eps)

    def extra_repr(self) -> str:
        return f"{self.bands}, eps={self.eps}, momentum={self.momentum}"


class LocalResponseNorm(Layer):
    """Local response normalisation across bands: (N, C, H, W) -> same shape,
    b_c = a_c / (k + alpha / size * sum_{c' within size/2 of c} a_c'^2) ** beta
    (Krizhevsky et al. 2012; the form Caffe and torch use)."""

    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0,
                 name: str | None = None):
        super().__init__(name)
        owner = self.label
        self.size = check_positive_int(owner, "size", size)
        self.alpha = _check_positive_number(owner, "alpha", alpha, allow_zero=True)
        self.beta = _check_positive_number(owner, "beta", beta, allow_zero=True)
        self.k = _check_positive_number(owner, "k", k)

    def infer_shape(self, shape: Shape) -> Shape:
        self.expect_rank(shape, 3, "(bands, height, width)")
        return tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The window sum over bands as a (size, 1) average pool on (N, 1, C, H*W); unlike
        # F.local_response_norm (avg_pool3d) this also runs in bfloat16 on CPU.
        n, c, h, w = x.shape
        squares = (x * x).reshape(n, 1, c, h * w)
        squares = F.pad(squares, (0, 0, self.size // 2, (self.size - 1) // 2))
        mean = F.avg_pool2d(squares, (self.size, 1), stride=1).reshape(n, c, h, w)
        return x / (self.k + self.alpha * mean) ** self.beta

    def extra_repr(self) -> str:
        return f"size={self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
