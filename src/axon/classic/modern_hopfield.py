"""The modern continuous Hopfield network (Ramsauer et al. 2020, "Hopfield Networks is
All You Need").

Stored patterns are the rows of X (p, d). A state xi (d,) is updated by
xi <- X^T softmax(beta X xi), which never increases the energy
E(xi) = -(1/beta) log sum_mu exp(beta x_mu . xi) + 1/2 xi . xi (up to a constant). With a
large enough beta it retrieves one pattern in one step, and the number of patterns it can
store grows exponentially with d: far more than the classical network's 0.138 d."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.base import BaseEstimator

from axon.classic._checks import AcceptsSparse, as_matrix, check_fitted, check_n_features, check_positive, generator
from axon.classic.hopfield import corrupt


class ModernHopfield(AcceptsSparse, BaseEstimator):
    """Modern Hopfield network with inverse temperature `beta` and `n_steps` updates per
    retrieval. Learned by `fit(patterns)`: `patterns_` (p, d), `n_features_in_`."""

    def __init__(self, beta=8.0, n_steps=1, device="cpu"):
        self.beta = beta
        self.n_steps = n_steps
        self.device = device

    def fit(self, patterns, y=None):
        """Store `patterns` (p, d) (any real values)."""
        self.patterns_ = as_matrix(patterns, "patterns", self.device)
        self.n_features_in_ = self.patterns_.shape[1]
        return self

    def _states(self, X, name: str) -> torch.Tensor:
        check_fitted(self, "patterns_", "retrieve/energy")
        check_positive(self.beta, "beta")
        states = as_matrix(X, name, self.device)
        check_n_features(states, self.n_features_in_, name, "ModernHopfield")
        return states

    def attention(self, states) -> torch.Tensor:
        """softmax(beta X xi) for each state: (n_states, d) -> (n_states, p)."""
        return torch.softmax(self.beta * self._states(states, "states") @ self.patterns_.T, dim=1)

    def retrieve(self, queries) -> torch.Tensor:
        """`n_steps` updates xi <- X^T softmax(beta X xi) of `queries` (n, d): (n, d)."""
        check_positive(self.n_steps, "n_steps", integer=True)
        states = self._states(queries, "queries")
        for _ in range(self.n_steps):
            states = self.attention(states) @ self.patterns_
        return states

    def predict(self, queries) -> np.ndarray:
        """The retrieved states as a numpy array: (n, d)."""
        return self.retrieve(queries).cpu().numpy()

    def energy(self, states) -> torch.Tensor:
        """E(xi) = -(1/beta) logsumexp(beta X xi) + 1/2 xi . xi: (n_states, d) -> (n_states,)."""
        states = self._states(states, "states")
        return -torch.logsumexp(self.beta * states @ self.patterns_.T, dim=1) / self.beta + 0.5 * (states * states).sum(1)


@dataclass
class RetrievalResult:
    """Fraction of corrupted cues retrieved exactly (sign of the retrieved state equals the
    stored pattern): `success[i][j]` for `n_patterns[i]` stored patterns at `betas[j]`."""

    dim: int
    flip_fraction: float
    n_patterns: list[int]
    betas: list[float]
    success: list[list[float]]


def retrieval_experiment(dim: int, n_patterns, betas, flip_fraction: float = 0.2, queries: int = 100,
                         seed: int = 0, device: str = "cpu") -> RetrievalResult:
    """Store p random +-1 patterns of length `dim` (for each p in `n_patterns`), corrupt
    `queries` of them by flipping `flip_fraction` of their signs, retrieve with one update
    at each beta in `betas`, and count exact retrievals."""
    check_positive(dim, "dim", integer=True)
    check_positive(queries, "queries", integer=True)
    gen = generator(seed)
    success = []
    for p in n_patterns:
        check_positive(p, "n_patterns[]", integer=True)
        patterns = torch.randint(0, 2, (p, dim), generator=gen).float().mul_(2).sub_(1)
        targets = patterns[: min(p, queries)]
        cues = corrupt(targets, flip_fraction, gen)
        row = []
        for beta in betas:
            net = ModernHopfield(beta=beta, device=device).fit(patterns)
            retrieved = torch.sign(net.retrieve(cues)).cpu()
            row.append(float((retrieved == targets).all(1).float().mean()))
        success.append(row)
    return RetrievalResult(dim=dim, flip_fraction=flip_fraction, n_patterns=[int(p) for p in n_patterns],
                           betas=[float(b) for b in betas], success=success)
