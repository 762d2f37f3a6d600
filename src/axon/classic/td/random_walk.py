"""Sutton & Barto's random-walk experiments, vectorised over runs, step sizes and
lambdas (or n); every setting sees the same episodes (common random numbers).

- Example 6.2 (5 states, reward +1 on the right, estimates from 0.5): the values TD(0)
  learns after 0, 1, 10, 100 episodes, and TD(0) against constant-alpha MC.
- Figure 6.2 (batch training): batch TD(0) against batch MC on the 5-state walk.
- The 19-state walk (reward -1 on the left, +1 on the right, estimates from 0): the RMS
  error over the first 10 episodes against alpha, for online TD(lambda) (figure 12.6),
  the offline lambda-return algorithm (figure 12.3) and n-step TD (figure 7.2).
Errors are the RMS over states of estimate - truth, averaged over runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from axon.classic.td import tabular
from axon.classic.td.params import check_count, check_fraction, check_rate, check_trace
from axon.classic.td.walks import FIVE, NINETEEN, SAMPLED_BYTES_PER_CELL, Walk, padded_cells, sample_episodes
from axon.memory import check_fits

TD_ALPHAS_5 = (0.05, 0.1, 0.15)
MC_ALPHAS_5 = (0.01, 0.02, 0.03, 0.04)
SHOWN_EPISODES_5 = (0, 1, 10, 100)
LAMBDAS_19 = (0.0, 0.4, 0.8, 0.9, 0.95, 0.975, 0.99, 1.0)
ALPHAS_19 = (0.01, 0.02, 0.03) + tuple(round(a, 2) for a in np.arange(0.05, 1.0001, 0.05))
NS_19 = tuple(2**k for k in range(10))
METHODS = ("td", "mc", "lambda-return", "n-step")

__all__ = ["FIVE", "NINETEEN", "Walk", "learning_curves", "five_state", "batch_walk", "nineteen_state", "n_step"]


def needed_bytes(walk: Walk, method: str, episodes: int, runs: int, rows: int = 1, width: int = 1) -> int:
    """About the peak bytes of ``method`` ("batch": batch_walk): the sampled episodes and what the
    method derives from them. ``rows`` x ``width`` is the grid of settings (lambdas or n, alphas).
    What a learner keeps is the errors (runs, episodes + 1, rows, width) and a few tables."""
    cells = padded_cells(walk, runs, episodes)
    needed = cells * SAMPLED_BYTES_PER_CELL + 16 * runs * (episodes + 1) * rows * width
    needed += 64 * runs * (walk.n + 2) * rows * width  # tables, traces and one step's temporaries
    if method in ("mc", "n-step"):
        needed += 40 * rows * cells  # horizons, bootstrap states and partial returns per n (measured 33-38)
    elif method == "lambda-return":
        needed += 32 * cells // episodes * (walk.n + 2 + width)  # one episode's visit counts and weights
    elif method == "batch":
        needed += 32 * runs * (episodes + 1) * (walk.n + 2) ** 2  # cumulative transition counts, systems
    return needed


def check_memory(walk: Walk, method: str, episodes: int, runs: int, rows: int = 1, width: int = 1) -> None:
    """Refuse (ConfigError naming episodes, runs and the bytes) before sampling anything when
    ``needed_bytes`` exceeds the free memory."""
    check_fits(needed_bytes(walk, method, episodes, runs, rows, width),
               f"episodes {episodes} and runs {runs} ({walk.n}-state walk, {method})")


def learn(
    walk: Walk, method: str, alphas, episodes: int, runs: int, params=(0.0,), trace: str = "accumulating",
    seed: int = 0, shown=(),
) -> tabular.Learned:
    """The RMS errors after 0..episodes episodes (runs, episodes + 1, len(params), len(alphas)) and
    the estimates after the episodes in ``shown`` (runs, len(shown), len(params), len(alphas), n + 2).

    ``method``: "td" (online TD(lambda), params = lambdas), "lambda-return" (offline
    lambda-return, params = lambdas), "n-step" (params = n), "mc" (constant-alpha
    every-visit Monte Carlo, params unused: one row)."""
    if method not in METHODS:
        raise ValueError(f"method: {method!r}; expected one of {', '.join(METHODS)}")
    alphas = torch.tensor([check_rate("alpha", a) for a in alphas], dtype=torch.float64)
    if method == "mc":
        params = (None,)
    elif method == "n-step":
        params = [check_count("n", n) for n in params]
    else:
        params = [check_fraction("lambda", lam) for lam in params]
    check_count("episodes", episodes)
    check_count("runs", runs)
    check_trace(trace)
    check_memory(walk, method, episodes, runs, len(params), len(alphas))
    data = sample_episodes(walk, runs, episodes, torch.Generator().manual_seed(seed))
    if method in ("mc", "n-step"):
        return tabular.n_step_td(walk, data, alphas, list(params), shown)
    lambdas = torch.tensor(params, dtype=torch.float64)
    if method == "td":
        return tabular.online_td_lambda(walk, data, alphas, lambdas, trace == "replacing", shown)
    return tabular.offline_lambda_return(walk, data, alphas, lambdas, shown)


def learning_curves(
    walk: Walk, method: str, alphas, episodes: int, runs: int, lambdas=(0.0,), trace: str = "accumulating",
    seed: int = 0, ns=(1,),
) -> torch.Tensor:
    """RMS error after 0..episodes episodes, averaged over runs: (len(params), len(alphas), episodes + 1),
    params the lambdas ("td", "lambda-return"), the ns ("n-step") or one row ("mc"). Runs that
    diverge make their entry inf or nan."""
    params = ns if method == "n-step" else lambdas
    return learn(walk, method, alphas, episodes, runs, params, trace, seed).errors.mean(0).permute(1, 2, 0)


@dataclass
class FiveStateResult:
    """Example 6.2: RMS curves (alphas, episodes + 1) for TD(0) and MC, and the values
    (len(shown), 5) one run of TD(0) with alpha ``shown_alpha`` had after ``shown`` episodes."""

    td_alphas: tuple
    mc_alphas: tuple
    td: np.ndarray
    mc: np.ndarray
    shown_alpha: float
    shown: tuple
    values: np.ndarray

    def report(self) -> str:
        lines = [f"5-state random walk, values of one TD(0) run (alpha {self.shown_alpha:g}); true 1/6 .. 5/6:"]
        for episode, row in zip(self.shown, self.values):
            lines.append(f"  after {episode:3d} episodes: " + " ".join(f"{v:.3f}" for v in row))
        lines.append("RMS error averaged over states and runs (episodes 0, 10, last):")
        for name, alphas, curves in (("TD(0)", self.td_alphas, self.td), ("MC", self.mc_alphas, self.mc)):
            for a, curve in zip(alphas, curves):
                points = ", ".join(f"{curve[e]:.3f}" for e in (0, min(10, len(curve) - 1), len(curve) - 1))
                lines.append(f"  {name:6s} alpha={a:<5g}: {points}")
        return "\n".join(lines)


def five_state(
    episodes: int = 100, runs: int = 100, td_alphas=TD_ALPHAS_5, mc_alphas=MC_ALPHAS_5, seed: int = 0,
    shown_alpha: float = 0.1,
) -> FiveStateResult:
    """Sutton & Barto Example 6.2: TD(0) against constant-alpha MC (right graph) and the
    values learned by one TD(0) run (left graph; ``shown_alpha`` is added to td_alphas
    if missing)."""
    td_alphas = tuple(td_alphas) if shown_alpha in td_alphas else tuple(td_alphas) + (shown_alpha,)
    shown = tuple(e for e in SHOWN_EPISODES_5 if e <= episodes)
    td_run = learn(FIVE, "td", td_alphas, episodes, runs, seed=seed, shown=shown)
    mc = learning_curves(FIVE, "mc", mc_alphas, episodes, runs, seed=seed)[0]
    values = td_run.tables[0, :, 0, td_alphas.index(shown_alpha), 1:-1]
    td = td_run.errors[:, :, 0].mean(0).T
    return FiveStateResult(td_alphas, tuple(mc_alphas), td.numpy(), mc.numpy(), shown_alpha, shown, values.numpy())


@dataclass
class BatchResult:
    """Figure 6.2: RMS error (episodes + 1,) of batch TD(0) and batch MC, averaged over runs."""

    td: np.ndarray
    mc: np.ndarray
    runs: int

    def report(self) -> str:
        lines = [f"5-state random walk under batch training ({self.runs} runs), RMS error after episodes:"]
        marks = [e for e in (1, 10, 25, 50, 100) if e < len(self.td)]
        lines.append("  episodes  " + " ".join(f"{e:>6d}" for e in marks))
        for name, curve in (("batch TD", self.td), ("batch MC", self.mc)):
            lines.append(f"  {name:9s} " + " ".join(f"{curve[e]:6.3f}" for e in marks))
        return "\n".join(lines)


def batch_walk(episodes: int = 100, runs: int = 100, seed: int = 0) -> BatchResult:
    """Sutton & Barto figure 6.2: batch TD(0) and batch MC on the 5-state walk, each
    trained to convergence on all episodes seen after every new one."""
    check_count("episodes", episodes)
    check_count("runs", runs)
    check_memory(FIVE, "batch", episodes, runs)
    data = sample_episodes(FIVE, runs, episodes, torch.Generator().manual_seed(seed))
    td, mc = (FIVE.rms_error(tabular.batch_values(FIVE, data, m)).mean(0).numpy() for m in ("td", "mc"))
    return BatchResult(td, mc, runs)


@dataclass
class NineteenStateResult:
    """The 19-state walk: ``errors`` (params, alphas), the RMS error averaged over the
    first ``episodes`` episodes and the runs; ``param`` names the rows ("lambda" or "n")."""

    params: tuple
    alphas: tuple
    errors: np.ndarray
    episodes: int
    method: str
    param: str = "lambda"

    def best(self) -> dict:
        """For each lambda (or n), (best alpha, its error)."""
        out = {}
        for p, row in zip(self.params, self.errors):
            j = int(np.nanargmin(row)) if np.isfinite(row).any() else 0
            out[p] = (self.alphas[j], float(row[j]))
        return out

    def report(self) -> str:
        lines = [
            f"19-state random walk, {self.method}: RMS error averaged over the first {self.episodes} "
            "episodes and the runs"
        ]
        for p, (alpha, err) in self.best().items():
            lines.append(f"  {self.param}={p:<5g}: best alpha {alpha:<5g} error {err:.3f}")
        return "\n".join(lines)


def _grid(method: str, params, alphas, episodes: int, runs: int, trace: str, seed: int) -> np.ndarray:
    """(params, alphas) mean RMS error over episodes 1..episodes; diverged runs give nan."""
    kwargs = {"ns": params} if method == "n-step" else {"lambdas": params}
    curves = learning_curves(NINETEEN, method, alphas, episodes, runs, trace=trace, seed=seed, **kwargs)
    with np.errstate(invalid="ignore"):
        errors = curves[..., 1:].mean(-1).numpy()
    errors[~np.isfinite(errors)] = np.nan
    return errors


def nineteen_state(
    lambdas=LAMBDAS_19,
    alphas=ALPHAS_19,
    episodes: int = 10,
    runs: int = 100,
    trace: str = "accumulating",
    seed: int = 0,
    offline: bool = False,
) -> NineteenStateResult:
    """The 19-state walk for each lambda and alpha: online TD(lambda) (S&B figure 12.6), or
    with ``offline`` the offline lambda-return algorithm (figure 12.3). Diverged runs get nan."""
    method = "lambda-return" if offline else "td"
    errors = _grid(method, lambdas, alphas, episodes, runs, trace, seed)
    label = "offline lambda-return" if offline else f"online TD(lambda), {trace} traces"
    return NineteenStateResult(tuple(lambdas), tuple(alphas), errors, episodes, label)


def n_step(ns=NS_19, alphas=ALPHAS_19, episodes: int = 10, runs: int = 100, seed: int = 0) -> NineteenStateResult:
    """Sutton & Barto figure 7.2: n-step TD on the 19-state walk for each n and alpha."""
    errors = _grid("n-step", ns, alphas, episodes, runs, "accumulating", seed)
    return NineteenStateResult(tuple(ns), tuple(alphas), errors, episodes, "n-step TD", "n")
