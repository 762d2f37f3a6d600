"""Units stored together: a `UnitBatch` holds the weights and running buffers of the
units of one or more layers whose units have the same signal size S and hidden size H,
so that one kernel call steps all of them (the pipelined step merges every layer of
one unit shape; the bottom-up step has one batch per layer).

Layers of one batch may differ in context width, so in input width `D_l`. The batch's
input rows are as wide as its widest layer's, `D = max D_l`; a narrower layer's units
get zero rows after their bias row (weights, momentum and input), which stay zero: a
zero input adds exact zeros at the end of a unit's dot product and a zero update. Each
layer keeps views of its own rows `[:, :D_l]`, so snapshots and every per-layer
computation see the layer's own shapes, and a batch changes no file format.

Every unit's block of every batch tensor starts at a multiple of UNIT_ALIGN bytes, so
what a unit computes does not depend on where it sits in a batch or a chunk: MKL's
batched products round differently for differently aligned rows, and element-wise
kernels split vector and scalar work by position within a contiguous run. With this
layout a merged batch computes, bit for bit, what its layers compute one by one, and a
chunked step what a whole-batch step computes (tested in float64 and float32).
"""

from __future__ import annotations

import math

import torch

UNIT_ALIGN = 128  # bytes: two AVX-512 vectors, four AVX2 vectors, a multiple of a cache line


def unit_tensor(n: int, shape: tuple[int, ...], like: torch.Tensor,
                fill: float = 0.0) -> torch.Tensor:
    """A `(n, *shape)` tensor of `fill` on `like`'s device and dtype, each unit's block
    starting at a multiple of UNIT_ALIGN bytes (a view of padded storage)."""
    size = math.prod(shape)
    step = max(1, UNIT_ALIGN // like.element_size())
    stride = -(-size // step) * step
    storage = torch.full((n, stride), fill, device=like.device, dtype=like.dtype)
    return storage[:, :size].view(n, *shape)


class UnitBatch:
    """The units of `layers` (LayerStates of equal S and H, global indices `ids`), in
    order: layer `ids[k]` holds units `spans[k] = (a, b)`. Tensors (N units, D input
    rows): `w1, m1 (N, D, H)`, `w2, m2 (N, H + 1, S)`, `x_in, x_next (N, D)`,
    `h1 = [hidden, 1] (N, H + 1)`, `out`, `pred`, `signal (N, S)`, and per-step scratch:
    the pre-activations `pre_hidden (N, H)`, `pre_out (N, S)`, the output deltas
    `delta_o`, `delta_o_rate (N, S)`, `slope_rate`, `back (N, H)`. The layers' tensors
    become views of these (their contents are copied in). Units are stepped in chunks
    of about `chunk_bytes` of weights and momentum (None: all at once), so the weights
    a chunk's update writes are still in cache when its forward pass reads them."""

    def __init__(self, ids: list[int], layers: list, chunk_bytes: int | None):
        first = layers[0]
        S, H = first.S, first.H
        if any((layer.S, layer.H) != (S, H) for layer in layers):
            raise ValueError(f"layers {ids} do not share one unit shape (signal, hidden)")
        self.ids = ids
        self.N = N = sum(layer.n for layer in layers)
        self.D = D = max(layer.D for layer in layers)
        self.S, self.H = S, H
        self.spans = []
        for layer in layers:
            a = self.spans[-1][1] if self.spans else 0
            self.spans.append((a, a + layer.n))
            layer.batch, layer.span = self, (a, a + layer.n)
        like = first.w1

        def new(*shape: int, fill: float = 0.0) -> torch.Tensor:
            return unit_tensor(N, shape, like, fill)

        def adopt(name: str, *shape: int, input_rows: bool = False) -> torch.Tensor:
            """The batch tensor `name`, each layer's contents copied in and the layer's
            tensor replaced by a view of its units (`input_rows`: of its own D_l input
            rows); one tensor at a time, so the layers' own tensors are freed as the
            batch's fill."""
            whole = new(*shape)
            for layer, (a, b) in zip(layers, self.spans):
                view = whole[a:b, :layer.D] if input_rows else whole[a:b]
                view.copy_(getattr(layer, name))
                setattr(layer, name, view)
            return whole

        self.w1, self.m1 = (adopt(name, D, H, input_rows=True) for name in ("w1", "m1"))
        self.w2, self.m2 = adopt("w2", H + 1, S), adopt("m2", H + 1, S)
        self.x_in, self.x_next = adopt("x_in", D, input_rows=True), new(D)
        self.h1 = new(H + 1, fill=1.0)
        self.hidden = self.h1[:, :H]
        self.pred = adopt("pred", S)
        self.out = adopt("out", S) if first.change else self.pred
        # contiguous, so a layer's view can take the layer below's states as (n * 4, H)
        self.signal = torch.zeros(N, S, device=like.device, dtype=like.dtype)
        for layer, (a, b) in zip(layers, self.spans):
            self.h1[a:b, :H] = layer.hidden
            layer.h1, layer.hidden = self.h1[a:b], self.h1[a:b, :H]
            layer.out = self.out[a:b]
            layer.signal = self.signal[a:b]
            layer.x_next = self.x_next[a:b, :layer.D]
            layer.x_in[:, -1] = layer.x_next[:, -1] = 1  # the bias input
        self.pre_hidden, self.pre_out = new(H), new(S)
        self.delta_o, self.delta_o_rate = new(S), new(S)
        self.slope_rate, self.back = new(H), new(H)
        per_unit = 2 * (D * H + (H + 1) * S) * like.element_size()
        size = max(1, N if chunk_bytes is None else chunk_bytes // per_unit)
        self.chunks = [(a, min(a + size, N)) for a in range(0, N, size)]
