"""Bee foraging in an uncertain environment (Montague, Dayan, Person and Sejnowski, Nature
377, 1995; Montague, Dayan and Sejnowski, NIPS 6, 1993), in the form of Dayan and Abbott's
section 9.3 (the "indirect actor").

A bee visits flowers of two colours, blue and yellow. Landing on a flower, it sees its
colour, u = (u_blue, u_yellow) one-hot, and predicts the nectar it will get, v = w . u.
The reward-coding neuron (VUMmx1 in the bee, dopamine in mammals) reports the prediction
error delta = r - v, which gates a Hebbian change of the weights of the colour seen,
w <- w + eps delta u: the predictive Hebbian rule (TD with one step per visit). The next
flower is chosen by a softmax of the predictions with sharpness beta,
P(blue) = exp(beta w_blue) / (exp(beta w_blue) + exp(beta w_yellow)).

With equal mean nectar, one colour constant (2 ul on every flower) and the other variable
(6 ul on a third of the flowers, none on the rest), the bee comes to prefer the constant
colour: a large learning rate lets one empty variable flower pull w down, and the bee then
stops visiting that colour, so the low estimate is not corrected (risk aversion from
sampling, stronger the larger eps). When the two colours' contingencies are swapped the
preference follows. Every bee, learning rate and sharpness runs in one batched simulation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from axon.classic.td.params import check_count, check_rate
from axon.errors import ConfigError

COLOURS = ("blue", "yellow")


@dataclass(frozen=True)
class Flower:
    """A colour's nectar: `volume` (ul) with probability `probability`, none otherwise."""

    volume: float
    probability: float = 1.0

    @property
    def mean(self) -> float:
        return self.volume * self.probability


CONSTANT = Flower(2.0)  # Dayan & Abbott: blue flowers always hold 2 ul
VARIABLE = Flower(6.0, 1.0 / 3.0)  # yellow: 6 ul on a third of the flowers (mean 2 ul)


@dataclass
class ForagingResult:
    """One batched simulation. Batch shape B = broadcast of eps and beta, then bees.

    blue (B..., visits) whether each visit went to blue; rewards and deltas (B..., visits)
    the nectar and the prediction error of each visit; weights (B..., visits + 1, 2) the
    predictions (w_blue, w_yellow) before each visit and after the last; swap_at the visit
    (0-based) from which the colours' contingencies are swapped (None: never)."""

    blue: np.ndarray
    rewards: np.ndarray
    deltas: np.ndarray
    weights: np.ndarray
    swap_at: int | None

    def fraction_blue(self) -> np.ndarray:
        """Fraction of bees visiting blue at each visit: (B[:-1]..., visits)."""
        return self.blue.mean(-2)


def _check_positive(name: str, value) -> torch.Tensor:
    tensor = torch.as_tensor(value, dtype=torch.float64)
    if not torch.isfinite(tensor).all() or (tensor <= 0).any():
        raise ConfigError(f"{name}: {value!r}; expected positive numbers")
    return tensor


def _check_flower(name: str, flower: Flower) -> None:
    if not 0 <= flower.probability <= 1 or flower.volume < 0:
        raise ConfigError(f"{name}: {flower!r}; expected a volume >= 0 and a probability in [0, 1]")


def forage(bees: int = 1000, visits: int = 200, eps=0.5, beta=1.0, blue: Flower = CONSTANT,
           yellow: Flower = VARIABLE, swap_at: int | None = None, seed: int = 0) -> ForagingResult:
    """Simulate `bees` independent bees for `visits` flower visits each.

    `eps` (learning rate in (0, 1]) and `beta` (softmax sharpness > 0) are numbers or
    arrays; they broadcast together, and the bees are a last batch dimension. From visit
    `swap_at` on (when given) blue flowers pay like `yellow` and yellow like `blue`.
    Weights start at 0 (no preference)."""
    check_count("bees", bees)
    check_count("visits", visits)
    eps_t, beta_t = _check_positive("eps", eps), _check_positive("beta", beta)
    if (eps_t > 1).any():
        raise ConfigError(f"eps: {eps!r}; expected learning rates in (0, 1]")
    if isinstance(eps, (int, float)):
        check_rate("eps", eps)
    _check_flower("blue", blue)
    _check_flower("yellow", yellow)
    if swap_at is not None and (isinstance(swap_at, bool) or not isinstance(swap_at, int) or not 0 < swap_at < visits):
        raise ConfigError(f"swap_at: {swap_at!r}; expected a visit in 1 .. {visits - 1}")
    shape = torch.broadcast_shapes(eps_t.shape, beta_t.shape)
    eps_t = eps_t.expand(shape).unsqueeze(-1)
    beta_t = beta_t.expand(shape).unsqueeze(-1)
    batch = shape + (bees,)
    gen = torch.Generator().manual_seed(seed)
    w = torch.zeros(batch + (2,), dtype=torch.float64)
    history, chose_blue, rewards, deltas = [w], [], [], []
    for visit in range(visits):
        swapped = swap_at is not None and visit >= swap_at
        pay_blue, pay_yellow = (yellow, blue) if swapped else (blue, yellow)
        p_blue = torch.sigmoid(beta_t * (w[..., 0] - w[..., 1]))  # the two-colour softmax
        is_blue = torch.rand(batch, generator=gen, dtype=torch.float64) < p_blue
        paid = torch.rand(batch, generator=gen, dtype=torch.float64)
        reward = torch.where(
            is_blue,
            torch.where(paid < pay_blue.probability, pay_blue.volume, 0.0),
            torch.where(paid < pay_yellow.probability, pay_yellow.volume, 0.0),
        )
        u = torch.stack([is_blue, ~is_blue], dim=-1).to(torch.float64)  # the colour seen
        delta = reward - (w * u).sum(-1)  # the neuromodulatory prediction error
        w = w + eps_t.unsqueeze(-1) * delta.unsqueeze(-1) * u
        history.append(w)
        chose_blue.append(is_blue)
        rewards.append(reward)
        deltas.append(delta)
    return ForagingResult(
        blue=torch.stack(chose_blue, -1).numpy(),
        rewards=torch.stack(rewards, -1).numpy(),
        deltas=torch.stack(deltas, -1).numpy(),
        weights=torch.stack(history, -2).numpy(),
        swap_at=swap_at,
    )


def constant_preference(result: ForagingResult, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Mean fraction of visits to the constant colour (blue before the swap, yellow after,
    with the default flowers) over visits [start, stop), averaged over bees: (B[:-1]...)."""
    blue = result.blue[..., start:stop].astype(float)
    visit = np.arange(result.blue.shape[-1])[start:stop]
    constant_is_blue = visit < result.swap_at if result.swap_at is not None else np.ones_like(visit, dtype=bool)
    on_constant = np.where(constant_is_blue, blue, 1.0 - blue)
    return on_constant.mean(axis=(-1, -2))


@dataclass
class ForagingExperiment:
    """The two results of the CLI: the swap run (fraction of bees on blue per visit) and
    the preference for the constant colour against the learning rate, per beta."""

    eps: float
    beta: float
    swap_at: int
    fraction_blue: np.ndarray  # (visits,)
    eps_grid: np.ndarray  # (n_eps,)
    betas: np.ndarray  # (n_beta,)
    preference: np.ndarray  # (n_beta, n_eps)
    visits: int
    bees: int

    def report(self) -> str:
        before = self.fraction_blue[max(0, self.swap_at - 20):self.swap_at].mean()
        after = self.fraction_blue[-20:].mean()
        lines = [
            f"{self.bees} bees, blue constant ({CONSTANT.volume:g} ul), yellow variable ({VARIABLE.volume:g} ul "
            f"with p = {VARIABLE.probability:.3g}); eps = {self.eps:g}, beta = {self.beta:g}",
            f"  visits {self.swap_at - 19}-{self.swap_at}: {before:.1%} on blue (the constant colour)",
            f"  contingencies swapped at visit {self.swap_at + 1}; last 20 visits: {after:.1%} on blue, "
            f"{1 - after:.1%} on yellow (now constant)",
            f"preference for the constant colour over visits 1-{self.swap_at}, against eps:",
            "  eps     " + " ".join(f"{e:>6g}" for e in self.eps_grid),
        ]
        for beta, row in zip(self.betas, self.preference):
            lines.append(f"  beta={beta:<3g} " + " ".join(f"{p:6.3f}" for p in row))
        return "\n".join(lines)


def foraging_experiment(bees: int = 1000, visits: int = 200, swap_at: int = 100, eps: float = 0.5,
                        beta: float = 1.0, eps_grid=(0.01, 0.03, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0),
                        betas=(0.5, 1.0, 2.0), seed: int = 0) -> ForagingExperiment:
    """Run the swap experiment at (`eps`, `beta`) and the preference-against-eps sweep
    (over the first `swap_at` visits, before any swap) for each of `betas`."""
    check_rate("eps", eps)
    swap = forage(bees, visits, eps, beta, swap_at=swap_at, seed=seed)
    eps_arr = np.asarray(eps_grid, dtype=float)
    beta_arr = np.asarray(betas, dtype=float)
    sweep = forage(bees, swap_at, eps_arr[None, :], beta_arr[:, None], seed=seed + 1)
    return ForagingExperiment(eps, beta, swap_at, swap.fraction_blue(), eps_arr, beta_arr,
                              constant_preference(sweep), visits, bees)
