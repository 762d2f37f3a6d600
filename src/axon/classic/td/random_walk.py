"""Sutton & Barto's random walks, vectorised over independent runs and step sizes.

States 1..n in a row, terminals 0 and n + 1; every episode starts in the middle and
steps left or right with equal probability. Example 6.2 (n = 5): reward +1 on the
right exit, 0 elsewhere, true values i / 6, estimates start at 0.5; TD(0) against
constant-alpha every-visit Monte Carlo. The 19-state walk (section 12.1): reward -1
on the left exit and +1 on the right, true values -0.9 .. 0.9, estimates start at 0;
online TD(lambda). Errors are the RMS over states of estimate - truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from axon.classic.td.params import check_count, check_fraction, check_rate, check_trace

TD_ALPHAS_5 = (0.05, 0.1, 0.15)
MC_ALPHAS_5 = (0.01, 0.02, 0.03, 0.04)
LAMBDAS_19 = (0.0, 0.4, 0.8, 0.9, 0.95, 1.0)
ALPHAS_19 = (0.01, 0.02, 0.03) + tuple(round(a, 2) for a in np.arange(0.05, 1.0001, 0.05))


@dataclass(frozen=True)
class Walk:
    """A random walk: ``n`` states, the reward for leaving on the left, the initial estimate."""

    n: int
    left_reward: float
    initial: float

    def true_values(self) -> torch.Tensor:
        """(n,) the exact values of states 1..n (no discount)."""
        p_right = torch.arange(1, self.n + 1, dtype=torch.float64) / (self.n + 1)
        return p_right + (1 - p_right) * self.left_reward


FIVE = Walk(5, 0.0, 0.5)
NINETEEN = Walk(19, -1.0, 0.0)


def _rms(values: torch.Tensor, walk: Walk) -> torch.Tensor:
    """RMS error over states: values (..., n + 2) with terminals -> (...)."""
    return (values[..., 1:-1] - walk.true_values()).pow(2).mean(-1).sqrt()


def _episode(walk: Walk, batch: int, rng: torch.Generator):
    """Sample one episode per batch entry: states (batch, steps + 1) padded with the
    terminal after the end, rewards (batch, steps) of each transition, and live
    (batch, steps) whether the episode was still running at that transition."""
    state = torch.full((batch,), (walk.n + 1) // 2)
    path = [state]
    alive = torch.ones(batch, dtype=torch.bool)
    while alive.any():
        move = torch.randint(0, 2, (batch,), generator=rng) * 2 - 1
        state = torch.where(alive, state + move, state)
        alive = alive & (state > 0) & (state < walk.n + 1)
        path.append(state)
    states = torch.stack(path, dim=1)
    live = (states[:, :-1] > 0) & (states[:, :-1] < walk.n + 1)
    ends = live & ~((states[:, 1:] > 0) & (states[:, 1:] < walk.n + 1))
    exit_reward = torch.where(states[:, 1:] == 0, walk.left_reward, 1.0).to(torch.float64)
    return states, torch.where(ends, exit_reward, 0.0), live


def _td_lambda_episode(values, states, rewards, live, alphas, lams, replacing):
    """Online TD(lambda) through one episode, in place on values (batch, n + 2);
    alphas and lams (batch,) per row."""
    rows = torch.arange(values.shape[0])
    traces = torch.zeros_like(values)
    decay = lams.unsqueeze(1)
    step = torch.where(live, alphas.unsqueeze(1), 0.0)  # no learning after the end
    for t in range(states.shape[1] - 1):
        s = states[:, t]
        delta = rewards[:, t] + values[rows, states[:, t + 1]] - values[rows, s]
        traces.mul_(decay)
        if replacing:
            traces[rows, s] = 1.0
        else:
            traces[rows, s] += 1.0
        values.addcmul_((step[:, t] * delta).unsqueeze(1), traces)


def _mc_episode(values, states, rewards, alphas):
    """Constant-alpha every-visit Monte Carlo (return = final reward), in place."""
    n = values.shape[1] - 2
    visited = (states >= 1) & (states <= n)
    visits = torch.zeros_like(values).scatter_add_(1, states, visited.to(values.dtype))
    outcome = rewards.sum(1, keepdim=True)
    keep = (1 - alphas.unsqueeze(1)) ** visits  # k visits: V <- G - (1 - a)^k (G - V)
    values.copy_(outcome - keep * (outcome - values))
    values[:, 0] = values[:, -1] = 0.0


def learning_curves(
    walk: Walk,
    method: str,
    alphas,
    episodes: int,
    runs: int,
    lambdas=(0.0,),
    trace: str = "accumulating",
    seed: int = 0,
    on_episode=None,
) -> torch.Tensor:
    """RMS error after 0..episodes episodes, averaged over runs:
    (len(lambdas), len(alphas), episodes + 1).

    ``method`` is "td" (online TD(lambda); TD(0) by default) or "mc" (lambdas unused).
    Every lambda and step size sees the same episodes (common random numbers).
    ``on_episode(done, episodes)`` is called after each episode (progress)."""
    if method not in ("td", "mc"):
        raise ValueError(f"method: {method!r}; expected 'td' or 'mc'")
    alphas = [check_rate("alpha", a) for a in alphas]
    lambdas = [check_fraction("lambda", lam) for lam in lambdas]
    check_count("episodes", episodes)
    check_count("runs", runs)
    check_trace(trace)
    rng = torch.Generator().manual_seed(seed)
    copies = len(lambdas) * len(alphas)
    grid = torch.cartesian_prod(
        torch.tensor(lambdas, dtype=torch.float64), torch.tensor(alphas, dtype=torch.float64)
    ).view(copies, 2)
    lam, alpha = grid[:, 0].repeat_interleave(runs), grid[:, 1].repeat_interleave(runs)
    values = torch.full((copies * runs, walk.n + 2), walk.initial, dtype=torch.float64)
    values[:, 0] = values[:, -1] = 0.0
    errors = [_rms(values, walk)]
    for _ in range(episodes):
        states, rewards, live = (v.repeat(copies, 1) for v in _episode(walk, runs, rng))
        if method == "td":
            _td_lambda_episode(values, states, rewards, live, alpha, lam, trace == "replacing")
        else:
            _mc_episode(values, states, rewards, alpha)
        errors.append(_rms(values, walk))
        if on_episode is not None:
            on_episode(len(errors) - 1, episodes)
    curves = torch.stack(errors, dim=-1).view(len(lambdas), len(alphas), runs, episodes + 1)
    return curves.mean(2)


@dataclass
class FiveStateResult:
    """Example 6.2: RMS curves (alphas, episodes + 1) for TD(0) and MC."""

    td_alphas: tuple
    mc_alphas: tuple
    td: np.ndarray
    mc: np.ndarray

    def report(self) -> str:
        lines = ["5-state random walk, RMS error averaged over states and runs (episodes 0, 10, 100):"]
        for name, alphas, curves in (("TD(0)", self.td_alphas, self.td), ("MC", self.mc_alphas, self.mc)):
            for a, curve in zip(alphas, curves):
                points = ", ".join(f"{curve[e]:.3f}" for e in (0, min(10, len(curve) - 1), len(curve) - 1))
                lines.append(f"  {name:6s} alpha={a:<5g}: {points}")
        return "\n".join(lines)


def five_state(
    episodes: int = 100, runs: int = 100, td_alphas=TD_ALPHAS_5, mc_alphas=MC_ALPHAS_5, seed: int = 0
) -> FiveStateResult:
    """Sutton & Barto Example 6.2 (the right graph): TD(0) against constant-alpha MC."""
    td = learning_curves(FIVE, "td", td_alphas, episodes, runs, seed=seed)[0]
    mc = learning_curves(FIVE, "mc", mc_alphas, episodes, runs, seed=seed)[0]
    return FiveStateResult(tuple(td_alphas), tuple(mc_alphas), td.numpy(), mc.numpy())


@dataclass
class NineteenStateResult:
    """The 19-state walk: ``errors`` (lambdas, alphas), the RMS error averaged over the
    first ``episodes`` episodes and the runs."""

    lambdas: tuple
    alphas: tuple
    errors: np.ndarray
    episodes: int
    trace: str

    def best(self) -> dict[float, tuple[float, float]]:
        """For each lambda, (best alpha, its error)."""
        out = {}
        for lam, row in zip(self.lambdas, self.errors):
            j = int(np.nanargmin(row))
            out[lam] = (self.alphas[j], float(row[j]))
        return out

    def report(self) -> str:
        lines = [
            f"19-state random walk, online TD(lambda) ({self.trace} traces): RMS error "
            f"averaged over the first {self.episodes} episodes and the runs"
        ]
        for lam, (alpha, err) in self.best().items():
            lines.append(f"  lambda={lam:<5g}: best alpha {alpha:<5g} error {err:.3f}")
        return "\n".join(lines)


def nineteen_state(
    lambdas=LAMBDAS_19,
    alphas=ALPHAS_19,
    episodes: int = 10,
    runs: int = 100,
    trace: str = "accumulating",
    seed: int = 0,
    on_episode=None,
) -> NineteenStateResult:
    """Sutton & Barto's figure for online TD(lambda) on the 19-state walk: mean RMS over
    the first ``episodes`` episodes, for each lambda and alpha. Runs that diverge
    (large alpha with large lambda) get nan."""
    curves = learning_curves(
        NINETEEN, "td", alphas, episodes, runs, lambdas, trace, seed, on_episode
    )
    errors = curves[..., 1:].mean(-1).numpy()
    errors[~np.isfinite(errors)] = np.nan  # diverged
    return NineteenStateResult(tuple(lambdas), tuple(alphas), errors, episodes, trace)
