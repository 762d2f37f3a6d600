"""Classical Hopfield network (Hopfield 1982, in the physics notation of seed 001).

Neurons have states S_i = +-1. Storing p patterns xi^mu (each of N +-1 values) sets the
couplings J (N, N), J_ii = 0, with one of three learning rules:

- "hebb": J = (1/N) sum_mu xi^mu xi^mu^T (capacity alpha_c = p/N ~ 0.138);
- "storkey" (Storkey 1997): patterns added one at a time, each step
  J += (1/N) (xi xi^T - xi h^T - h xi^T) with h_ij = sum_{k != i, j} J_ik xi_k, which
  subtracts the crosstalk the new pattern meets (higher capacity, still local and
  incremental);
- "pseudo-inverse" (the projection rule of Personnaz, Guyon and Dreyfus 1985; Kanter and
  Sompolinsky 1987): J = Xi^T (Xi Xi^T)^+ Xi, the projection onto the patterns' span, so
  any p < N linearly independent patterns are fixed points (non-local: needs all patterns).

A neuron's local field is a_i = sum_j J_ij S_j. At temperature 0 an update sets
S_i = sign(a_i) (a zero field keeps the state) and the energy H = -1/2 S^T J S never
increases under asynchronous (one neuron at a time) updates. At temperature T > 0 the
update is Glauber's: S_i = +1 with probability 1 / (1 + exp(-2 a_i / T)), so <S_i> =
tanh(a_i / T). Every batch operation runs on many states at once: states are (n_states, N)."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator

from axon.classic._checks import (
    AcceptsSparse,
    as_matrix,
    binarize,
    check_fitted,
    check_n_features,
    check_positive,
    generator,
)
from axon.errors import AxonError

UPDATES = ("async", "sync")
RULES = ("hebb", "storkey", "pseudo-inverse")


def hebbian_couplings(patterns: torch.Tensor) -> torch.Tensor:
    """J = (1/N) xi^T xi with zero diagonal.

    patterns: (..., p, N) of +-1; returns (..., N, N). Leading dimensions batch independent
    networks."""
    n = patterns.shape[-1]
    couplings = patterns.transpose(-1, -2) @ patterns / n
    couplings.diagonal(dim1=-2, dim2=-1).zero_()
    return couplings


def storkey_couplings(patterns: torch.Tensor) -> torch.Tensor:
    """Storkey's incremental rule (zero diagonal): patterns (..., p, N) -> (..., N, N).
    With h_i = sum_k J_ik xi_k (J_ii = 0), h_ij = h_i - J_ij xi_j."""
    n = patterns.shape[-1]
    couplings = patterns.new_zeros(patterns.shape[:-2] + (n, n))
    for mu in range(patterns.shape[-2]):
        xi = patterns[..., mu, :]  # (..., N)
        h = (couplings @ xi.unsqueeze(-1)).squeeze(-1)  # (..., N)
        h_ij = h.unsqueeze(-1) - couplings * xi.unsqueeze(-2)  # h_ij = h_i - J_ij xi_j
        outer = xi.unsqueeze(-1) * xi.unsqueeze(-2)
        couplings = couplings + (outer - xi.unsqueeze(-1) * h_ij.transpose(-1, -2) - h_ij * xi.unsqueeze(-2)) / n
        couplings.diagonal(dim1=-2, dim2=-1).zero_()
    return couplings


def pseudo_inverse_couplings(patterns: torch.Tensor) -> torch.Tensor:
    """The projection rule J = xi^T (xi xi^T)^+ xi with the diagonal then set to zero:
    patterns (..., p, N) -> (..., N, N). Computed in float64."""
    xi = patterns.double()
    couplings = xi.transpose(-1, -2) @ torch.linalg.pinv(xi @ xi.transpose(-1, -2), hermitian=True) @ xi
    couplings.diagonal(dim1=-2, dim2=-1).zero_()
    return couplings.to(patterns.dtype)


COUPLINGS = {"hebb": hebbian_couplings, "storkey": storkey_couplings, "pseudo-inverse": pseudo_inverse_couplings}


def couplings_for(rule: str, patterns: torch.Tensor) -> torch.Tensor:
    """The couplings (..., N, N) that `rule` (one of RULES) learns from patterns (..., p, N)."""
    if rule not in COUPLINGS:
        raise AxonError(f"rule: expected one of {', '.join(RULES)}, got {rule!r}")
    return COUPLINGS[rule](patterns)


def energy(couplings: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    """H = -1/2 S^T J S for each state: couplings (..., N, N), states (..., n_states, N) ->
    (..., n_states)."""
    return -0.5 * ((states @ couplings) * states).sum(-1)


def _is_zero(temperature) -> bool:
    return not isinstance(temperature, torch.Tensor) and temperature == 0


def _update(field: torch.Tensor, states: torch.Tensor, temperature, gen: torch.Generator) -> torch.Tensor:
    """New states of neurons with local fields `field`: sign(field) keeping the state on a
    zero field at temperature 0, Glauber's stochastic rule above it. `temperature` is a
    number or a positive tensor broadcasting against `field` (one per network or state)."""
    if _is_zero(temperature):
        return torch.where(field == 0, states, field.sign())
    up = torch.rand(field.shape, generator=gen, device=field.device) < torch.sigmoid(2 * field / temperature)
    return torch.where(up, 1.0, -1.0).to(states.dtype)


def run_async(couplings: torch.Tensor, states: torch.Tensor, max_sweeps: int, gen: torch.Generator,
              temperature=0.0, on_update=None) -> tuple[torch.Tensor, int]:
    """Asynchronous dynamics: sweeps visiting the N neurons in a random order, one neuron
    at a time (for every state and network of the batch at once), until a sweep changes
    nothing (temperature 0 only) or `max_sweeps` sweeps.

    couplings (..., N, N) with zero diagonal, states (..., n_states, N). Returns the final
    states and the number of sweeps run. Local fields are kept up to date incrementally,
    so a sweep costs O(N * n_states * N). `on_update(states, energies)`, when given, is
    called after every single-neuron update with the current states and their energies
    (..., n_states), the latter kept up to date incrementally (dH = -dS_i a_i)."""
    states = states.clone()
    fields = states @ couplings
    current = energy(couplings, states) if on_update is not None else None
    n = states.shape[-1]
    for sweep in range(1, max_sweeps + 1):
        changed = False
        for i in torch.randperm(n, generator=gen).tolist():
            old = states[..., i]
            new = _update(fields[..., i], old, temperature, gen)
            delta = new - old  # 0 or +-2
            if on_update is not None:
                current = current - delta * fields[..., i]
            if torch.any(delta != 0):
                changed = True
                states[..., i] = new
                fields.addcmul_(delta.unsqueeze(-1), couplings[..., i, :].unsqueeze(-2))
            if on_update is not None:
                on_update(states, current)
        if not changed and _is_zero(temperature):
            return states, sweep
    return states, max_sweeps


def run_sync(couplings: torch.Tensor, states: torch.Tensor, max_sweeps: int, gen: torch.Generator | None = None,
             temperature=0.0) -> tuple[torch.Tensor, int]:
    """Synchronous dynamics: every neuron updated at once from the previous states, until
    nothing changes (temperature 0) or `max_sweeps` steps (it may end in a 2-cycle).
    Shapes as run_async."""
    for sweep in range(1, max_sweeps + 1):
        new = _update(states @ couplings, states, temperature, gen)
        if _is_zero(temperature) and torch.equal(new, states):
            return new, sweep
        states = new
    return states, max_sweeps


class HopfieldNetwork(AcceptsSparse, BaseEstimator):
    """Classical Hopfield associative memory.

    Parameters: `rule` "hebb", "storkey" or "pseudo-inverse" (see the module docstring);
    `update` "async" (random sequential; at temperature 0 the energy never increases) or
    "sync"; `temperature` 0 (deterministic) or T > 0 (Glauber dynamics, which run all
    `max_sweeps` sweeps); `max_sweeps` bound on the dynamics; `threshold`: inputs are
    binarised, values >= threshold become +1 and the rest -1 (the default 0.5 keeps +-1
    patterns as they are and maps 0/1 patterns, and images in [0, 1], to -1/+1);
    `random_state` seeds the update order and the noise; `device`.

    Learned by `fit(patterns)`: `couplings_` (N, N), `patterns_` (p, N) of +-1,
    `n_features_in_`."""

    def __init__(self, rule="hebb", update="async", temperature=0.0, max_sweeps=100, threshold=0.5, random_state=0,
                 device="cpu"):
        self.rule = rule
        self.update = update
        self.temperature = temperature
        self.max_sweeps = max_sweeps
        self.threshold = threshold
        self.random_state = random_state
        self.device = device

    def _spins(self, X, name: str) -> torch.Tensor:
        return binarize(as_matrix(X, name, self.device), self.threshold, -1.0)

    def fit(self, patterns, y=None):
        """Store `patterns` (p, N) (binarised to +-1 at `threshold`) with the learning rule."""
        if self.rule not in RULES:
            raise AxonError(f"rule: expected one of {', '.join(RULES)}, got {self.rule!r}")
        stored = self._spins(patterns, "patterns")
        self.patterns_ = stored
        self.couplings_ = couplings_for(self.rule, stored)
        self.n_features_in_ = stored.shape[1]
        return self

    def _fitted_states(self, X, name: str) -> torch.Tensor:
        check_fitted(self, "couplings_", "recall/energy")
        states = self._spins(X, name)
        check_n_features(states, self.n_features_in_, name, "HopfieldNetwork")
        return states

    def energy(self, states) -> torch.Tensor:
        """H = -1/2 S^T J S for each of `states` (n_states, N): (n_states,)."""
        return energy(self.couplings_, self._fitted_states(states, "states"))

    def _check_dynamics(self) -> None:
        if self.update not in UPDATES:
            raise AxonError(f"update: expected one of {', '.join(UPDATES)}, got {self.update!r}")
        check_positive(self.max_sweeps, "max_sweeps", integer=True)
        if isinstance(self.temperature, bool) or not isinstance(self.temperature, (int, float)) or self.temperature < 0:
            raise AxonError(f"temperature: expected a number >= 0, got {self.temperature!r}")

    def run(self, cues, on_update=None) -> tuple[torch.Tensor, int]:
        """Run the dynamics from `cues` (n_states, N): the final states (n_states, N) and
        the number of sweeps. `on_update` as in run_async (asynchronous updates only)."""
        self._check_dynamics()
        states = self._fitted_states(cues, "cues")
        gen = generator(self.random_state, states.device)
        if self.update == "async":
            return run_async(self.couplings_, states, self.max_sweeps, gen, float(self.temperature), on_update)
        return run_sync(self.couplings_, states, self.max_sweeps, gen, float(self.temperature))

    def recall(self, cues) -> torch.Tensor:
        """Run the dynamics from `cues` (n_states, N) to a fixed point (or max_sweeps);
        returns the final states (n_states, N) of +-1."""
        return self.run(cues)[0]

    def predict(self, cues) -> np.ndarray:
        """The recalled states as a numpy array (n_states, N) of +-1."""
        return self.recall(cues).cpu().numpy()

    def score(self, cues, y=None) -> float:
        """Mean overlap m = (1/N) xi . S between the states recalled from `cues` and their
        targets: `y` holds, per cue, the index of its stored pattern (n_cues,) or the
        target states (n_cues, N); None means the cues themselves."""
        if y is None:
            targets = self._fitted_states(cues, "cues")
        elif np.ndim(y) == 1:
            index = torch.as_tensor(np.asarray(y), device=self.couplings_.device)
            if index.dtype.is_floating_point or index.min() < 0 or index.max() >= self.patterns_.shape[0]:
                raise AxonError(f"y: expected indices of stored patterns in [0, {self.patterns_.shape[0]}), got {np.asarray(y)[:5]}...")
            targets = self.patterns_[index]
        else:
            targets = self._fitted_states(y, "y")
        recalled = self.recall(cues)
        if targets.shape != recalled.shape:
            raise AxonError(f"y: expected one target per cue, shape {tuple(recalled.shape)}, got {tuple(targets.shape)}")
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
