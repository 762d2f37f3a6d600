"""Elementwise activations (`Activation("relu")`, ...) and `Softmax` over bands/features."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from axon.nn.layer import Layer, Shape

ACTIVATIONS = ("relu", "sigmoid", "tanh", "gelu", "silu", "elu", "leaky_relu", "softplus", "identity")


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
        # An if-chain rather than a table of functions, so torch.jit.script compiles it.
        kind = self.kind
        if kind == "relu":
            return F.relu(x)
        if kind == "sigmoid":
            return torch.sigmoid(x)
        if kind == "tanh":
            return torch.tanh(x)
        if kind == "gelu":
            return F.gelu(x)
        if kind == "silu":
            return F.silu(x)
        if kind == "elu":
            return F.elu(x)
        if kind == "leaky_relu":
            return F.leaky_relu(x)
        if kind == "softplus":
            return F.softplus(x)
        return x  # identity

    def extra_repr(self) -> str:
        return repr(self.kind)


class Softmax(Layer):
    """Softmax over dimension 1 (classes, or bands at each pixel): (N, C, ...) -> same shape."""

    def infer_shape(self, shape: Shape) -> Shape:
        return tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(x, dim=1)
