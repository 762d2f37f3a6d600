"""Timing for side-by-side benchmarks on machines that may be busy.

Candidates run in interleaved rounds whose order alternates (A B, B A, A B, ...), so load
from other processes and the order of the calls fall on each alike. Per candidate the
fastest round is reported (as `timeit` advises: slower rounds measure other processes);
a ratio between two candidates is the median of the per-round ratios, each taken from calls
made back to back."""

from __future__ import annotations

import statistics
import time
from typing import Callable

import torch


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def time_rounds(candidates: dict[str, Callable[[], object]], repeats: int = 20,
                warmup: int = 3, clock: Callable[[], float] = time.perf_counter
                ) -> dict[str, list[float]]:
    """Seconds per call of each candidate, one sample per interleaved round, on `clock`
    (wall-clock time; `time.process_time` counts only this process's CPU time, which
    other processes on a shared machine disturb far less)."""
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    names = list(candidates)
    for round_ in range(repeats):
        for name in names if round_ % 2 == 0 else reversed(names):
            _sync()
            start = clock()
            candidates[name]()
            _sync()
            samples[name].append(clock() - start)
    return samples


def time_interleaved(candidates: dict[str, Callable[[], object]], repeats: int = 20,
                     warmup: int = 3) -> dict[str, float]:
    """Best (minimum) seconds per call of each candidate over interleaved rounds."""
    return {name: min(times) for name, times in time_rounds(candidates, repeats, warmup).items()}


def paired_ratio(numerator: list[float], denominator: list[float]) -> float:
    """Median over rounds of numerator / denominator (samples from `time_rounds`)."""
    return statistics.median(a / b for a, b in zip(numerator, denominator))


def forward_backward(model: torch.nn.Module, *inputs: torch.Tensor) -> Callable[[], None]:
    """A callable running one forward and backward pass (grads cleared first)."""

    def step() -> None:
        model.zero_grad(set_to_none=True)
        out = model(*inputs)
        outs = out if isinstance(out, tuple) else (out,)
        sum(o.float().square().mean() for o in outs).backward()

    return step
