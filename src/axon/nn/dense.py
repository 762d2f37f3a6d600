"""The fully connected head: `Flatten`, `Dense`, `Dropout`."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from axon.nn.conv import _init_uniform
from axon.nn.layer import Layer, Shape, check_positive_int


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...)."""

    def infer_shape(self, shape: Shape) -> Shape:
        return (math.prod(shape),)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)


class Dense(Layer):
    """Fully connected: (N, in_features) -> (N, out_features), y = x W^T + b.

    Parameters: weight (out_features, in_features) and bias (out_features,)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, name: str | None = None):
        super().__init__(name)
        owner = self.label
        self.in_features = check_positive_int(owner, "in_features", in_features)
        self.out_features = check_positive_int(owner, "out_features", out_features)
        if not isinstance(bias, bool):
            raise ValueError(f"{owner}: bias must be true or false, got {bias!r}")
        self.bias_enabled = bias
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        _init_uniform(self.weight, self.bias, in_features)

    def spec_args(self) -> dict:
        return {"in_features": self.in_features, "out_features": self.out_features, "bias": self.bias_enabled}

    def infer_shape(self, shape: Shape) -> Shape:
        if tuple(shape) != (self.in_features,):
            raise self.shape_error(shape, f"({self.in_features},) (flatten images first)")
        return (self.out_features,)

    def multiply_adds(self, shape: Shape) -> int:
        return self.in_features * self.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, bias={self.bias_enabled}"


class Dropout(Layer):
    """Zero each element with probability p in training (scaling the rest by 1/(1-p));
    the identity in eval mode. Any shape."""

    def __init__(self, p: float = 0.5, name: str | None = None):
        super().__init__(name)
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
            owner = self.label
            raise ValueError(f"{owner}: p must be a probability in [0, 1), got {p!r}")
        self.p = float(p)

    def infer_shape(self, shape: Shape) -> Shape:
        return tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
