"""Elementwise activations (`Activation("relu")`, ...) and `Softmax` over bands/features."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from axon.nn.layer import Layer, Shape

ACTIVATIONS = {
    "relu": F.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "gelu": F.gelu,
    "silu": F.silu,
    "elu": F.elu,
    "leaky_relu": F.leaky_relu,
    "softplus": F.softplus,
    "identity": lambda x: x,
}


class Activation(Layer):
    """An elementwise function named by `kind` (one of ACTIVATIONS): any shape to the same shape."""

    def __init__(self, kind: str = "relu", name: str | None = None):
        super().__init__(name)
        if kind not in ACTIVATIONS:
            owner = self.label
            raise ValueError(f"{owner}: kind must be one of {sorted(ACTIVATIONS)}, got {kind!r}")
        self.kind = kind

    def infer_shape(self, shape: Shape) -> Shape:
        return tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ACTIVATIONS[self.kind](x)

    def extra_repr(self) -> str:
        return repr(self.kind)


class Softmax(Layer):
    """Softmax over dimension 1 (classes, or bands at each pixel): (N, C, ...) -> same shape."""

    def infer_shape(self, shape: Shape) -> Shape:
        return tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(x, dim=1)
