"""The Hopfield capacity experiment: recall overlap against load alpha = p/N.

For each N and alpha, `trials` independent networks each store p = round(alpha N) random
+-1 patterns; the asynchronous dynamics start from stored patterns and run to a fixed
point; the overlap m = (1/N) xi . S with the starting pattern is averaged. Every network of
one N runs in a single batched computation ((networks, cues, N) states against
(networks, N, N) couplings), so N = 1000 takes seconds.

The theory drawn alongside is the zero-temperature replica-symmetric solution of Amit,
Gutfreund and Sompolinsky (1985): m = erf(y) where y is the largest root of
y (sqrt(2 alpha) + (2 / sqrt(pi)) exp(-y^2)) = erf(y); the retrieval solution vanishes at
alpha_c ~ 0.138 (where m drops from ~0.967)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from axon.classic._checks import check_positive, generator
from axon.classic.hopfield import RULES, couplings_for, overlap, run_async
from axon.errors import AxonError

ALPHA_C = 0.138


def ags_overlap(alpha: float) -> float:
    """Theoretical retrieval overlap m(alpha) at zero temperature (0 beyond alpha_c)."""
    if alpha <= 0:
        raise AxonError(f"alpha: expected a positive load p/N, got {alpha!r}")

    def excess(y: float) -> float:
        return math.erf(y) - y * (math.sqrt(2 * alpha) + 2 / math.sqrt(math.pi) * math.exp(-y * y))

    grid = [0.01 * k for k in range(1, 1001)]  # y in (0, 10]
    bracket = None
    for low, high in zip(grid, grid[1:]):
        if excess(low) > 0 >= excess(high):
            bracket = (low, high)
    if bracket is None:
        return 0.0
    low, high = bracket
    for _ in range(60):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if excess(mid) > 0 else (low, mid)
    return math.erf(0.5 * (low + high))


@dataclass
class CapacityResult:
    """Mean final overlap `overlaps[i][j]` for `sizes[i]` neurons at load `alphas[j]`, and
    the fraction of cues recalled perfectly (m = 1) in `perfect[i][j]`."""

    sizes: list[int]
    alphas: list[float]
    overlaps: list[list[float]]
    perfect: list[list[float]]


def capacity_curve(sizes, alphas, trials: int = 4, cues: int = 8, max_sweeps: int = 50, seed: int = 0,
                   device: str = "cpu", progress=None, max_bytes: int = 2**29, rule: str = "hebb") -> CapacityResult:
    """Run the capacity experiment for each N in `sizes` and load in `alphas`, the
    patterns stored with learning `rule` (one of hopfield.RULES).

    Each (N, alpha) uses `trials` networks and starts from `cues` stored patterns of each
    (fewer when p < cues). The networks of one N run together, in groups whose couplings
    take at most `max_bytes` (at least one load per group). `progress(done, total)` is
    called after each N."""
    sizes, alphas = [int(n) for n in sizes], [float(a) for a in alphas]
    for n in sizes:
        check_positive(n, "sizes[]", integer=True)
        if n < 2:
            raise AxonError(f"sizes: expected networks of at least 2 neurons, got {n}")
    for alpha in alphas:
        check_positive(alpha, "alphas[]")
    check_positive(trials, "trials", integer=True)
    check_positive(cues, "cues", integer=True)
    check_positive(max_bytes, "max_bytes", integer=True)
    if rule not in RULES:
        raise AxonError(f"rule: expected one of {', '.join(RULES)}, got {rule!r}")
    gen = generator(seed)
    overlaps, perfect = [], []
    for done, n in enumerate(sizes, 1):
        loads = [max(1, round(alpha * n)) for alpha in alphas]
        n_cues = min(cues, *loads)
        stored = [torch.randint(0, 2, (trials, p, n), generator=gen).float().mul_(2).sub_(1) for p in loads]
        order_seed = int(torch.randint(0, 2**62, (1,), generator=gen))
        per_group = max(1, max_bytes // (trials * n * n * 4))  # loads whose float32 couplings fit
        m = torch.cat([_recall_overlaps(stored[start:start + per_group], n_cues, max_sweeps, order_seed, device, rule)
                       for start in range(0, len(loads), per_group)])  # (alphas, trials * cues)
        overlaps.append(m.mean(1).tolist())
        perfect.append((m == 1).float().mean(1).tolist())
        if progress is not None:
            progress(done, len(sizes))
    return CapacityResult(sizes=sizes, alphas=alphas, overlaps=overlaps, perfect=perfect)


def _recall_overlaps(stored, n_cues, max_sweeps, order_seed, device, rule) -> torch.Tensor:
    """Final overlaps (len(stored), trials * n_cues) of asynchronous recall started from
    the first n_cues stored patterns; stored: one (trials, p, N) tensor per load, all run
    as one batch. The update order comes from `order_seed`, so grouping the loads
    differently gives the same result (a network at a fixed point stays there)."""
    couplings = torch.cat([couplings_for(rule, patterns.to(device)) for patterns in stored])  # (loads * trials, N, N)
    starts = torch.cat([patterns[:, :n_cues] for patterns in stored]).to(device)  # (loads * trials, cues, N)
    final, _ = run_async(couplings, starts, max_sweeps, generator(order_seed))
    return overlap(final, starts).reshape(len(stored), -1).cpu()
