"""Joining branches: `Concat` over bands, and `Inception` (Szegedy et al. 2015), whose
parallel branches are concatenated."""

from __future__ import annotations

import torch
from torch import nn

from axon.nn.activation import ACTIVATIONS, Activation
from axon.nn.conv import Conv
from axon.nn.layer import Layer, Shape, ShapeError, check_positive_int
from axon.nn.pool import Subsample


class Concat(Layer):
    """Concatenate over bands: (N, C1, H, W), (N, C2, H, W), ... -> (N, C1 + C2 + ..., H, W).

    Also joins feature vectors: (N, F1), (N, F2) -> (N, F1 + F2). All inputs must agree
    on everything but dimension 1."""

    arity = None

    def graph_call(self, graph: torch.fx.Graph, target: str, args: tuple) -> torch.fx.Node:
        return graph.call_function(torch.cat, (list(args),), {"dim": 1})  # varargs forward is not scriptable

    def infer_shape(self, *shapes: Shape) -> Shape:
        first = shapes[0]
        for other in shapes[1:]:
            if len(other) != len(first) or tuple(other[1:]) != tuple(first[1:]):
                raise ShapeError(
                    f"{self.label}: cannot concatenate shapes {tuple(first)} and {tuple(other)}: "
                    "all but the band count must be equal"
                )
        return (sum(s[0] for s in shapes), *first[1:])

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        for x in xs[1:]:
            if x.shape[2:] != xs[0].shape[2:] or x.shape[0] != xs[0].shape[0]:
                raise ShapeError(f"{self.label}: cannot concatenate shapes {tuple(xs[0].shape)} and "
                                 f"{tuple(x.shape)}: all but the band count must be equal")
        return torch.cat(xs, dim=1)


class Inception(Layer):
    """An Inception block (GoogLeNet, Szegedy et al. 2015, Figure 2b): four parallel
    branches on the same input, concatenated over bands:

    - 1x1 conv to `bands_1x1`;
    - 1x1 conv to `bands_3x3_reduce`, then 3x3 conv to `bands_3x3`;
    - 1x1 conv to `bands_5x5_reduce`, then 5x5 conv to `bands_5x5`;
    - 3x3 max pool (stride 1), then 1x1 conv to `bands_pool_proj`.

    Every conv is followed by `activation`. (N, in_bands, H, W) ->
    (N, bands_1x1 + bands_3x3 + bands_5x5 + bands_pool_proj, H, W).
    """

    def __init__(self, in_bands: int, bands_1x1: int, bands_3x3_reduce: int, bands_3x3: int,
                 bands_5x5_reduce: int, bands_5x5: int, bands_pool_proj: int, activation: str = "relu",
                 name: str | None = None):
        super().__init__(name)
        owner = self.label
        bands = {"in_bands": in_bands, "bands_1x1": bands_1x1, "bands_3x3_reduce": bands_3x3_reduce,
                 "bands_3x3": bands_3x3, "bands_5x5_reduce": bands_5x5_reduce, "bands_5x5": bands_5x5,
                 "bands_pool_proj": bands_pool_proj}
        for field, value in bands.items():
            setattr(self, field, check_positive_int(owner, field, value))
        if activation not in ACTIVATIONS:
            raise ValueError(f"{owner}: activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        self.activation = activation

        def conv(i: int, o: int, k: int) -> list[nn.Module]:
            return [Conv(i, o, k), Activation(activation)]

        self.branch_1x1 = nn.Sequential(*conv(in_bands, bands_1x1, 1))
        self.branch_3x3 = nn.Sequential(*conv(in_bands, bands_3x3_reduce, 1), *conv(bands_3x3_reduce, bands_3x3, 3))
        self.branch_5x5 = nn.Sequential(*conv(in_bands, bands_5x5_reduce, 1), *conv(bands_5x5_reduce, bands_5x5, 5))
        self.branch_pool = nn.Sequential(Subsample(3, stride=1, padding=1, mode="max"),
                                         *conv(in_bands, bands_pool_proj, 1))

    @property
    def out_bands(self) -> int:
        return self.bands_1x1 + self.bands_3x3 + self.bands_5x5 + self.bands_pool_proj

    def infer_shape(self, shape: Shape) -> Shape:
        if len(shape) != 3 or shape[0] != self.in_bands:
            raise self.shape_error(shape, f"({self.in_bands}, height, width)")
        return (self.out_bands, shape[1], shape[2])

    def multiply_adds(self, shape: Shape) -> int:
        convs = [m for m in self.modules() if isinstance(m, Conv)]
        return sum(c.multiply_adds((c.in_bands, shape[1], shape[2])) for c in convs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch_1x1(x), self.branch_3x3(x), self.branch_5x5(x), self.branch_pool(x)], dim=1)

    def extra_repr(self) -> str:
        return (f"{self.in_bands} -> {self.bands_1x1} + {self.bands_3x3_reduce}/{self.bands_3x3} + "
                f"{self.bands_5x5_reduce}/{self.bands_5x5} + pool/{self.bands_pool_proj}")
