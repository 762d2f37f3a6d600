"""Timing for side-by-side benchmarks: candidates are run interleaved (A, B, A, B, ...)
so that a busy or throttling machine slows them alike, and the fastest round is reported
(as `timeit` advises: slower rounds measure other processes, not the code)."""

from __future__ import annotations

import time
from typing import Callable

import torch


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def time_interleaved(candidates: dict[str, Callable[[], object]], repeats: int = 20,
                     warmup: int = 3) -> dict[str, float]:
    """Best (minimum) seconds per call of each candidate over interleaved rounds."""
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            _sync()
            start = time.perf_counter()
            fn()
            _sync()
            samples[name].append(time.perf_counter() - start)
    return {name: min(times) for name, times in samples.items()}


def forward_backward(model: torch.nn.Module, *inputs: torch.Tensor) -> Callable[[], None]:
    """A callable running one forward and backward pass (grads cleared first)."""

    def step() -> None:
        model.zero_grad(set_to_none=True)
        out = model(*inputs)
        outs = out if isinstance(out, tuple) else (out,)
        sum(o.float().square().mean() for o in outs).backward()

    return step
