"""Classical Hopfield network (Hopfield 1982, in the physics notation of seed 001).

Neurons have states S_i = +-1. Storing p patterns xi^mu (each of N +-1 values) sets the
Hebbian couplings J = (1/N) sum_mu xi^mu xi^mu^T with J_ii = 0. A neuron's local field is
a_i = sum_j J_ij S_j; an update sets S_i = sign(a_i) (a zero field keeps the state). The
energy H = -1/2 S^T J S never increases under asynchronous (one neuron at a time) updates.
Every batch operation runs on many states at once: states are (n_states, N)."""

from __future__ import annotations

import torch
from sklearn.base import BaseEstimator

from axon.classic._checks import as_matrix, check_n_features, check_positive, check_spins, generator
from axon.errors import AxonError

UPDATES = ("async", "sync")


def hebbian_couplings(patterns: torch.Tensor) -> torch.Tensor:
    """J = (1/N) xi^T xi with zero diagonal.

    patterns: (..., p, N) of +-1; returns (..., N, N). Leading dimensions batch independent
    networks."""
    n = patterns.shape[-1]
    couplings = patterns.transpose(-1, -2) @ patterns / n
    couplings.diagonal(dim1=-2, dim2=-1).zero_()
    return couplings


def energy(couplings: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    """H = -1/2 S^T J S for each state: couplings (..., N, N), states (..., n_states, N) ->
    (..., n_states)."""
    return -0.5 * ((states @ couplings) * states).sum(-1)


def _sign_keep(field: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    """sign(field), keeping the current state where the field is exactly zero."""
    return torch.where(field == 0, states, field.sign())


def run_async(couplings: torch.Tensor, states: torch.Tensor, max_sweeps: int, gen: torch.Generator) -> tuple[torch.Tensor, int]:
    """Asynchronous dynamics: sweeps visiting the N neurons in a random order, one neuron
    at a time (for every state and network of the batch at once), until a sweep changes
    nothing or `max_sweeps` sweeps.

    couplings (..., N, N), states (..., n_states, N). Returns the final states and the
    number of sweeps run. Local fields are kept up to date incrementally, so a sweep costs
    O(N * n_states * N)."""
    states = states.clone()
    fields = states @ couplings
    n = states.shape[-1]
    for sweep in range(1, max_sweeps + 1):
        changed = False
        for i in torch.randperm(n, generator=gen).tolist():
            old = states[..., i]
            new = _sign_keep(fields[..., i], old)
            delta = new - old  # 0 or +-2
            if torch.any(delta != 0):
                changed = True
                states[..., i] = new
                fields.addcmul_(delta.unsqueeze(-1), couplings[..., i, :].unsqueeze(-2))
        if not changed:
            return states, sweep
    return states, max_sweeps


def run_sync(couplings: torch.Tensor, states: torch.Tensor, max_sweeps: int) -> tuple[torch.Tensor, int]:
    """Synchronous dynamics: every neuron updated at once from the previous states, until
    nothing changes or `max_sweeps` steps (it may end in a 2-cycle). Shapes as run_async."""
    for sweep in range(1, max_sweeps + 1):
        new = _sign_keep(states @ couplings, states)
        if torch.equal(new, states):
            return new, sweep
        states = new
    return states, max_sweeps


class HopfieldNetwork(BaseEstimator):
    """Classical Hopfield associative memory.

    Parameters: `update` "async" (random sequential, energy never increases) or "sync",
    `max_sweeps` bound on the dynamics, `random_state` seeds the update order, `device`.

    Learned by `fit(patterns)`: `couplings_` (N, N), `patterns_` (p, N), `n_features_in_`."""

    def __init__(self, update="async", max_sweeps=100, random_state=0, device="cpu"):
        self.update = update
        self.max_sweeps = max_sweeps
        self.random_state = random_state
        self.device = device

    def _spins(self, X, name: str) -> torch.Tensor:
        states = as_matrix(X, name, self.device)
        check_spins(states, name)
        return states

    def fit(self, patterns, y=None):
        """Store `patterns` (p, N) of +-1 with the Hebbian rule."""
        stored = self._spins(patterns, "patterns")
        self.patterns_ = stored
        self.couplings_ = hebbian_couplings(stored)
        self.n_features_in_ = stored.shape[1]
        return self

    def _fitted_states(self, X, name: str) -> torch.Tensor:
        if not hasattr(self, "couplings_"):
            raise AxonError("HopfieldNetwork: call fit(patterns) before recall/energy")
        states = self._spins(X, name)
        check_n_features(states, self.n_features_in_, name, "HopfieldNetwork")
        return states

    def energy(self, states) -> torch.Tensor:
        """H = -1/2 S^T J S for each of `states` (n_states, N): (n_states,)."""
        return energy(self.couplings_, self._fitted_states(states, "states"))

    def recall(self, cues) -> torch.Tensor:
        """Run the dynamics from `cues` (n_states, N) of +-1 to a fixed point (or
        max_sweeps); returns the final states (n_states, N). `n_sweeps_` records the sweeps."""
        if self.update not in UPDATES:
            raise AxonError(f"update: expected one of {', '.join(UPDATES)}, got {self.update!r}")
        check_positive(self.max_sweeps, "max_sweeps", integer=True)
        states = self._fitted_states(cues, "cues")
        if self.update == "async":
            final, self.n_sweeps_ = run_async(self.couplings_, states, self.max_sweeps, generator(self.random_state))
        else:
            final, self.n_sweeps_ = run_sync(self.couplings_, states, self.max_sweeps)
        return final

    def predict(self, cues) -> torch.Tensor:
        """Same as recall: the retrieved states (n_states, N)."""
        return self.recall(cues)

    def score(self, cues, targets=None) -> float:
        """Mean overlap m = (1/N) xi . S between recalled states and `targets` (the cues'
        stored patterns; the cues themselves when None)."""
        targets = self._fitted_states(cues if targets is None else targets, "targets")
        recalled = self.recall(cues)
        if targets.shape != recalled.shape:
            raise AxonError(f"targets: expected shape {tuple(recalled.shape)} (one per cue), got {tuple(targets.shape)}")
        return float(overlap(recalled, targets).mean())


def overlap(states: torch.Tensor, patterns: torch.Tensor) -> torch.Tensor:
    """m = (1/N) sum_i xi_i S_i for each row: (..., N) and (..., N) -> (...)."""
    return (states * patterns).mean(-1)


def corrupt(patterns: torch.Tensor, flip_fraction: float, gen: torch.Generator) -> torch.Tensor:
    """Copies of `patterns` (..., N) with a random `flip_fraction` of each row's signs
    flipped (exactly round(flip_fraction * N) neurons per row)."""
    n = patterns.shape[-1]
    n_flip = round(flip_fraction * n)
    ranks = torch.rand(patterns.shape, generator=gen, device=patterns.device).argsort(-1).argsort(-1)
    return torch.where(ranks < n_flip, -patterns, patterns)
