"""The PVM step replayed from CUDA graphs.

A step of a small model launches hundreds of small kernels, so on a GPU the launch
overhead, not the arithmetic, sets the speed. `GraphedStep` captures the engine's
`step_body` once per structure (which layers learn, context switches, first step or
not, ...) and replays it; the frame, mask and learning-rate factors are copied into
static buffers before each replay. This works because `step_body` changes the model's
state only in place (checked by tests on CPU).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch

from axon.pvm.engine import PVMEngine

Key = tuple
Replay = Callable[[], None]


def cuda_record(body: Replay) -> Replay:
    """Warm `body` up on a side stream, capture it in a CUDA graph, return its replay."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(2):
            body()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        body()
    return graph.replay


def eager_record(body: Replay) -> Replay:
    """The same warm-up as `cuda_record`, and `body` itself as the replay: lets tests
    check the capture bookkeeping on CPU."""
    for _ in range(2):
        body()
    return body


def capture(engine: PVMEngine, body: Replay, record: Callable[[Replay], Replay]) -> Replay:
    """Record `body` with `record`. Warming up changes the model, so every tensor a
    step changes is saved first and restored afterwards (also when recording fails)."""
    state = engine.mutable_tensors()
    saved = [t.clone() for t in state]
    try:
        return record(body)
    finally:
        for t, s in zip(state, saved):
            t.copy_(s)


class GraphedStep:
    """Steps `engine` by replaying recorded steps, one per structure key. `record`
    turns a step function into its replay: `cuda_record` (the default) captures a
    CUDA graph, `eager_record` lets tests check the bookkeeping on CPU. If recording
    fails, a warning names the error and every later step runs eagerly."""

    def __init__(self, engine: PVMEngine, record: Callable[[Replay], Replay] = cuda_record):
        if engine.exchanges:
            raise ValueError("graphed PVM steps need a single-process engine (no exchange)")
        cfg, dev, dt = engine.cfg, engine.device, engine.dtype
        self.engine, self.record = engine, record
        self.frame = torch.zeros(cfg.input_channels, cfg.input_size, cfg.input_size,
                                 device=dev, dtype=dt)
        self.mask = torch.zeros(cfg.input_size, cfg.input_size, device=dev, dtype=dt)
        n = len(engine.layers)
        self.factors = torch.zeros(2, n, device=dev, dtype=dt)  # rates, inverse scales
        self.norm_weight = torch.zeros((), device=dev, dtype=dt)
        self.replays: dict[Key, Replay] = {}
        self.failed: str | None = None

    def step(self, frame: torch.Tensor, mask: torch.Tensor | None = None) -> None:
        """Advance one frame, as `PVMEngine.step` does."""
        eng = self.engine
        if self.failed:
            eng.step(frame, mask)
            return
        rates, inv = eng.update_factors()
        key = (eng.has_pred, eng.deep_dream, eng.frozen, eng.context_switches(),
               mask is not None, tuple(r != 0 for r in rates), tuple(i is None for i in inv),
               tuple(_shares_scale(inv, l) for l in range(len(inv))))
        self.frame.copy_(frame)
        if mask is not None:
            self.mask.copy_(mask)
        host = [rates, [0.0 if i is None else i for i in inv]]
        self.factors.copy_(torch.tensor(host, dtype=self.factors.dtype))
        norm = eng.norm_weight()
        if norm is not None:
            self.norm_weight.fill_(norm)
        if key not in self.replays:
            try:
                self.replays[key] = capture(eng, self._body(rates, inv, mask is not None),
                                            self.record)
            except RuntimeError as err:
                self.failed = f"CUDA graph capture failed ({err}); stepping eagerly"
                warnings.warn(self.failed, stacklevel=2)
                self.replays[key] = self._body(rates, inv, mask is not None)
        self.replays[key]()
        eng.has_pred = True
        eng.step_count += 1

    def _body(self, rates: list, inv: list, with_mask: bool) -> Replay:
        """`step_body` reading the static buffers (zero rates and absent momentum are
        structure, so they stay Python constants; a layer with the momentum scale of
        the layer before it reads that layer's buffer, so a merged batch updates both
        in one call)."""
        r = [0.0 if rate == 0 else self.factors[0, l] for l, rate in enumerate(rates)]
        s: list = []
        for l, i in enumerate(inv):
            s.append(None if i is None else s[-1] if _shares_scale(inv, l) else self.factors[1, l])
        mask = self.mask if with_mask else None
        norm = None if self.engine.cfg.input_norm is None else self.norm_weight
        return lambda: self.engine.step_body(self.frame, mask, r, s, norm)


def _shares_scale(inv: list, l: int) -> bool:
    """Whether layer l has momentum with the same scale as layer l - 1."""
    return l > 0 and inv[l] is not None and inv[l] == inv[l - 1]
