"""The Boltzmann machine of Ackley, Hinton and Sejnowski (1985), with visible and hidden
units and all three interactions (seed 001):

    H(v, h) = -1/2 v^T J v - v^T w h - 1/2 h^T K h - a^T v - b^T h,   units in {0, 1},

with J and K symmetric and zero on the diagonal. The state s = [v; h] has one symmetric
coupling matrix `couplings_` = [[J, w], [w^T, K]] (n_units, n_units) and biases `biases_`
= [a; b]. Learning follows the gradient of the data log-likelihood:

    dW_ij = learning_rate (<s_i s_j>_clamped - <s_i s_j>_free)

where "clamped" averages over the data with the hidden units sampled given the visible ones
and "free" averages over the model's own equilibrium. Both are estimated by Gibbs sampling
(persistent chains) or, for small machines, computed exactly by enumerating all 2^n_units
states. The exact log-likelihood and KL divergence are always computed by enumeration, so
n_units is limited to MAX_EXACT_UNITS."""

from __future__ import annotations

import itertools
import math

import torch
from sklearn.base import BaseEstimator

from axon.classic._checks import AcceptsSparse, as_matrix, binarize, check_fitted, check_n_features, check_positive, generator
from axon.errors import AxonError

MAX_EXACT_UNITS = 20
STATISTICS = ("gibbs", "exact")


def all_binary_states(n: int, dtype=torch.float64) -> torch.Tensor:
    """Every {0,1} vector of length n in counting order (first unit most significant):
    (2**n, n)."""
    shifts = torch.arange(n - 1, -1, -1)
    return ((torch.arange(2**n).unsqueeze(1) >> shifts) & 1).to(dtype)


def bars_and_stripes(size: int = 3) -> torch.Tensor:
    """The bars-and-stripes patterns on a size x size grid (MacKay's classic test set):
    every choice of filled rows, and every choice of filled columns, without duplicates.
    Returns (2 * 2**size - 2, size * size) of {0,1}."""
    check_positive(size, "size", integer=True)
    patterns = set()
    for choice in itertools.product((0.0, 1.0), repeat=size):
        rows = torch.tensor(choice).unsqueeze(1).expand(size, size)
        patterns.add(tuple(rows.flatten().tolist()))
        patterns.add(tuple(rows.T.flatten().tolist()))
    return torch.tensor(sorted(patterns))


class BoltzmannMachine(AcceptsSparse, BaseEstimator):
    """General Boltzmann machine (visible-visible, hidden-hidden and visible-hidden
    couplings) learned with the clamped-minus-free rule.

    Parameters: `n_hidden` hidden units, `learning_rate`, `n_iter` full-batch updates,
    `statistics` "gibbs" (sampled) or "exact" (enumerated), `n_chains` persistent free-phase
    chains, `n_clamped` hidden samples per data vector in the clamped phase, `gibbs_sweeps`
    sweeps per phase per update, `weight_scale` std of the initial couplings, `threshold`:
    inputs are binarised, values >= threshold become 1 and the rest 0 (the default 0.5 keeps
    0/1 data as it is), `random_state`, `device`.

    Learned: `couplings_` (n_units, n_units), `biases_` (n_units,), `n_features_in_`,
    `kl_history_` (exact KL(data || model) in nats after each update when `track_kl`)."""

    def __init__(self, n_hidden=4, learning_rate=0.5, n_iter=500, statistics="gibbs", n_chains=200, n_clamped=10,
                 gibbs_sweeps=3, weight_scale=0.01, track_kl=True, threshold=0.5, random_state=0, device="cpu"):
        self.n_hidden = n_hidden
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.statistics = statistics
        self.n_chains = n_chains
        self.n_clamped = n_clamped
        self.gibbs_sweeps = gibbs_sweeps
        self.weight_scale = weight_scale
        self.track_kl = track_kl
        self.threshold = threshold
        self.random_state = random_state
        self.device = device

    # ----- parameters and checks
    def _check_params(self, n_visible: int) -> None:
        if isinstance(self.n_hidden, bool) or not isinstance(self.n_hidden, int) or self.n_hidden < 0:
            raise AxonError(f"n_hidden: expected a non-negative integer, got {self.n_hidden!r}")
        for name in ("n_iter", "n_chains", "n_clamped", "gibbs_sweeps"):
            check_positive(getattr(self, name), name, integer=True)
        check_positive(self.learning_rate, "learning_rate")
        if self.statistics not in STATISTICS:
            raise AxonError(f"statistics: expected one of {', '.join(STATISTICS)}, got {self.statistics!r}")
        n_units = n_visible + self.n_hidden
        if (self.statistics == "exact" or self.track_kl) and n_units > MAX_EXACT_UNITS:
            raise AxonError(
                f"n_hidden: exact enumeration needs at most {MAX_EXACT_UNITS} units, got {n_visible} visible + "
                f"{self.n_hidden} hidden = {n_units}; use statistics='gibbs' and track_kl=False"
            )

    def _binary(self, X, name: str) -> torch.Tensor:
        return binarize(as_matrix(X, name, self.device, dtype=torch.float64), self.threshold, 0.0)

    def _fitted(self, X, name: str) -> torch.Tensor:
        check_fitted(self, "couplings_", "scoring or sampling")
        data = self._binary(X, name)
        check_n_features(data, self.n_features_in_, name, "BoltzmannMachine")
        return data

    # ----- energy and exact quantities
    @staticmethod
    def _energy(couplings: torch.Tensor, biases: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
        """H(s) for states (n, n_units): (n,)."""
        return -0.5 * ((states @ couplings) * states).sum(1) - states @ biases

    def energy(self, states) -> torch.Tensor:
        """H(v, h) of joint states (n, n_visible + n_hidden) of 0/1: (n,)."""
        check_fitted(self, "couplings_", "energy")
        states = self._binary(states, "states")
        check_n_features(states, self.couplings_.shape[0], "states", "BoltzmannMachine (visible + hidden units)")
        return self._energy(self.couplings_, self.biases_, states)

    def _log_marginals(self, couplings, biases, n_visible) -> torch.Tensor:
        """log p(v) for every visible configuration, in all_binary_states(n_visible) order."""
        states = all_binary_states(couplings.shape[0]).to(couplings.device)
        log_weights = -self._energy(couplings, biases, states)
        per_visible = log_weights.reshape(2**n_visible, -1)  # visible bits vary slowest
        log_marg = torch.logsumexp(per_visible, dim=1)
        return log_marg - torch.logsumexp(log_marg, dim=0)

    @staticmethod
    def _index(visible: torch.Tensor) -> torch.Tensor:
        """Row of each visible vector (n, n_visible) in all_binary_states order."""
        n = visible.shape[1]
        powers = 2 ** torch.arange(n - 1, -1, -1, device=visible.device, dtype=torch.float64)
        return (visible @ powers).long()

    def log_likelihood(self, X) -> float:
        """Exact mean log p(v) (nats) of the rows of `X` (n, n_visible), by enumeration."""
        data = self._fitted(X, "X")
        log_marg = self._log_marginals(self.couplings_, self.biases_, self.n_features_in_)
        return float(log_marg[self._index(data)].mean())

    def kl_divergence(self, X) -> float:
        """Exact KL(p_data || p_model) in nats, p_data the empirical distribution of X's rows."""
        data = self._fitted(X, "X")
        return self._kl(data, self.couplings_, self.biases_)

    def _kl(self, data, couplings, biases) -> float:
        counts = torch.bincount(self._index(data), minlength=2**data.shape[1]).to(torch.float64)
        p_data = counts / counts.sum()
        log_model = self._log_marginals(couplings, biases, data.shape[1])
        seen = p_data > 0
        return float((p_data[seen] * (p_data[seen].log() - log_model[seen])).sum())

    # ----- statistics
    def _gibbs(self, couplings, biases, states, units, sweeps, gen) -> torch.Tensor:
        """`sweeps` sequential Gibbs sweeps over `units` of `states` (n, n_units), in place."""
        for _ in range(sweeps):
            for i in units:
                prob = torch.sigmoid(states @ couplings[:, i] + biases[i])
                states[:, i] = (torch.rand(prob.shape, generator=gen, dtype=prob.dtype, device=prob.device) < prob).to(states.dtype)
        return states

    def _exact_statistics(self, data, couplings, biases):
        """Clamped and free <s s^T> and <s>, by enumeration."""
        n_units, n_visible = couplings.shape[0], data.shape[1]
        states = all_binary_states(n_units).to(couplings.device)
        log_w = -self._energy(couplings, biases, states)
        free_p = torch.softmax(log_w, 0)
        free = (states.T * free_p) @ states, free_p @ states
        hidden = all_binary_states(n_units - n_visible).to(couplings.device)
        joint = torch.cat([data.repeat_interleave(hidden.shape[0], 0), hidden.repeat(data.shape[0], 1)], 1)
        cond = torch.softmax(-self._energy(couplings, biases, joint).reshape(data.shape[0], -1), 1).flatten() / data.shape[0]
        clamped = (joint.T * cond) @ joint, cond @ joint
        return clamped, free

    def _sampled_statistics(self, data, couplings, biases, gen):
        """Clamped and free <s s^T> and <s>, by Gibbs sampling from persistent chains."""
        n_visible = data.shape[1]
        hidden_units = range(n_visible, couplings.shape[0])
        self._clamped_states[:, :n_visible] = data.repeat(self.n_clamped, 1)
        clamped = self._gibbs(couplings, biases, self._clamped_states, hidden_units, self.gibbs_sweeps, gen)
        free = self._gibbs(couplings, biases, self._free_states, range(couplings.shape[0]), self.gibbs_sweeps, gen)
        return ((clamped.T @ clamped) / clamped.shape[0], clamped.mean(0)), ((free.T @ free) / free.shape[0], free.mean(0))

    # ----- learning
    def fit(self, X, y=None):
        """Learn the distribution of the binary rows of `X` (n_samples, n_visible)."""
        data = self._binary(X, "X")
        n_visible = data.shape[1]
        self._check_params(n_visible)
        n_units = n_visible + self.n_hidden
        gen = generator(self.random_state, self.device)
        couplings = torch.randn(n_units, n_units, generator=gen, dtype=torch.float64, device=self.device) * self.weight_scale
        couplings = (couplings + couplings.T) / math.sqrt(2)
        couplings.fill_diagonal_(0)
        biases = torch.zeros(n_units, dtype=torch.float64, device=self.device)
        self._clamped_states = (torch.rand(data.shape[0] * self.n_clamped, n_units, generator=gen, dtype=torch.float64, device=self.device) < 0.5).double()
        self._free_states = (torch.rand(self.n_chains, n_units, generator=gen, dtype=torch.float64, device=self.device) < 0.5).double()
        self.kl_history_ = []
        for _ in range(self.n_iter):
            if self.statistics == "exact":
                (pos_ss, pos_s), (neg_ss, neg_s) = self._exact_statistics(data, couplings, biases)
            else:
                (pos_ss, pos_s), (neg_ss, neg_s) = self._sampled_statistics(data, couplings, biases, gen)
            step = self.learning_rate * (pos_ss - neg_ss)
            step.fill_diagonal_(0)
            couplings += step
            biases += self.learning_rate * (pos_s - neg_s)
            if self.track_kl:
                self.kl_history_.append(self._kl(data, couplings, biases))
        del self._clamped_states, self._free_states
        self.couplings_, self.biases_, self.n_features_in_ = couplings, biases, n_visible
        return self

    def gradient(self, X) -> tuple[torch.Tensor, torch.Tensor]:
        """The exact learning signal (clamped minus free correlations and means) at the
        current parameters: (n_units, n_units) with a zero diagonal, and (n_units,). It is
        the gradient of the mean log-likelihood with respect to couplings_ (each
        off-diagonal pair counted once) and biases_."""
        data = self._fitted(X, "X")
        (pos_ss, pos_s), (neg_ss, neg_s) = self._exact_statistics(data, self.couplings_, self.biases_)
        grad = pos_ss - neg_ss
        grad.fill_diagonal_(0)
        return grad, pos_s - neg_s

    def score(self, X, y=None) -> float:
        """Exact mean log-likelihood of X (higher is better)."""
        return self.log_likelihood(X)

    def sample(self, n_samples: int, sweeps: int = 100, random_state=None) -> torch.Tensor:
        """`n_samples` visible vectors after `sweeps` Gibbs sweeps from random states:
        (n_samples, n_visible)."""
        check_fitted(self, "couplings_", "sample")
        check_positive(n_samples, "n_samples", integer=True)
        check_positive(sweeps, "sweeps", integer=True)
        gen = generator(self.random_state if random_state is None else random_state, self.device)
        n_units = self.couplings_.shape[0]
        states = (torch.rand(n_samples, n_units, generator=gen, dtype=torch.float64, device=self.device) < 0.5).double()
        states = self._gibbs(self.couplings_, self.biases_, states, range(n_units), sweeps, gen)
        return states[:, : self.n_features_in_]
