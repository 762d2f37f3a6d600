"""What a Hopfield network's dynamics end in: recall from a noisy cue step by step with its
energy trace, retrieval and mixture states against temperature (Glauber dynamics), and a
census of the attractors reached from random states (stored patterns, their reversals,
mixture states, other spurious states). All of it batched over states and networks."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from axon.classic._checks import check_fraction, check_positive, generator
from axon.classic.hopfield import corrupt, couplings_for, energy, overlap, run_async
from axon.errors import AxonError


def random_patterns(p: int, n: int, gen: torch.Generator) -> torch.Tensor:
    """p random +-1 patterns of n neurons: (p, n)."""
    return torch.randint(0, 2, (p, n), generator=gen).float().mul_(2).sub_(1)


@dataclass
class RecallTrace:
    """One recall from a noisy cue: `frames` (k, N) the state at the cue and after each
    `frame_every` single-neuron updates, `energies` (updates + 1,) the energy after every
    update (first: the cue's), `overlaps` (k,) each frame's overlap with `pattern` (N,),
    the stored pattern the cue came from, and `stored_energy` its energy."""

    frames: np.ndarray
    frame_every: int
    energies: np.ndarray
    overlaps: np.ndarray
    pattern: np.ndarray
    stored_energy: float


def recall_trace(n_neurons: int = 400, n_patterns: int = 20, flip_fraction: float = 0.3, rule: str = "hebb",
                 temperature: float = 0.0, sweeps: int = 3, frames: int = 6, seed: int = 0) -> RecallTrace:
    """Store `n_patterns` random patterns with `rule`, flip `flip_fraction` of the first
    one's signs and run up to `sweeps` asynchronous sweeps from it, keeping `frames` evenly
    spaced snapshots (the cue first) and the energy after every single-neuron update."""
    check_positive(n_neurons, "n_neurons", integer=True)
    check_positive(n_patterns, "n_patterns", integer=True)
    check_positive(sweeps, "sweeps", integer=True)
    check_positive(frames, "frames", integer=True)
    check_fraction(flip_fraction, "flip_fraction")
    gen = generator(seed)
    patterns = random_patterns(n_patterns, n_neurons, gen)
    couplings = couplings_for(rule, patterns)
    cue = corrupt(patterns[:1], flip_fraction, gen)
    frame_every = max(1, math.ceil(sweeps * n_neurons / max(1, frames - 1)))
    snapshots, energies = [cue[0].clone()], [float(energy(couplings, cue)[0])]

    def keep(states, current):
        energies.append(float(current[0]))
        if (len(energies) - 1) % frame_every == 0:
            snapshots.append(states[0].clone())

    final, _ = run_async(couplings, cue, sweeps, gen, temperature, keep)
    if not torch.equal(snapshots[-1], final[0]):
        snapshots.append(final[0].clone())  # the fixed point, reached before the last frame
    stack = torch.stack(snapshots)
    return RecallTrace(stack.numpy(), frame_every, np.asarray(energies), overlap(stack, patterns[0]).numpy(),
                       patterns[0].numpy(), float(energy(couplings, patterns[:1])[0]))


@dataclass
class TemperatureSweep:
    """Mean overlap with the starting state after Glauber dynamics at each temperature:
    `pattern[j]` starting from stored patterns, `mixture[j]` from symmetric mixtures
    sign(xi1 + xi2 + xi3) (overlap with that mixture), and the mean-field `theory[j]`
    m = tanh(m / T) of a single pattern."""

    temperatures: np.ndarray
    pattern: np.ndarray
    mixture: np.ndarray
    theory: np.ndarray
    n_neurons: int
    n_patterns: int


def mean_field_overlap(temperature: float) -> float:
    """The largest root of m = tanh(m / T) (0 for T >= 1), by fixed-point iteration."""
    if temperature <= 0:
        return 1.0
    m = 1.0
    for _ in range(2000):
        m = math.tanh(m / temperature)
    return m if m > 1e-6 else 0.0


def temperature_sweep(temperatures=(0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2),
                      n_neurons: int = 500, n_patterns: int = 5, starts: int = 10, sweeps: int = 30,
                      seed: int = 0) -> TemperatureSweep:
    """Hebbian network of `n_patterns` (low load), `starts` stored patterns and `starts`
    3-pattern mixtures, `sweeps` Glauber sweeps at each temperature (all temperatures in
    one batch); the overlap is averaged over the last third of the sweeps."""
    check_positive(n_neurons, "n_neurons", integer=True)
    check_positive(starts, "starts", integer=True)
    check_positive(sweeps, "sweeps", integer=True)
    if isinstance(n_patterns, bool) or not isinstance(n_patterns, int) or n_patterns < 3:
        raise AxonError(f"n_patterns: expected an integer >= 3 (mixtures need three patterns), got {n_patterns!r}")
    temps = torch.tensor([float(t) for t in temperatures])
    if (temps <= 0).any():
        raise AxonError(f"temperatures: expected positive temperatures, got {list(temperatures)}")
    gen = generator(seed)
    patterns = random_patterns(n_patterns, n_neurons, gen)
    couplings = couplings_for("hebb", patterns)
    mixtures = torch.stack([torch.sign(patterns[k % n_patterns] + patterns[(k + 1) % n_patterns]
                                       + patterns[(k + 2) % n_patterns]) for k in range(starts)])
    stored = patterns[torch.arange(starts) % n_patterns]
    starts_all = torch.cat([stored, mixtures])  # (2 starts, N)
    state = starts_all.expand(len(temps), -1, -1)  # every temperature in one batch
    tail: list[torch.Tensor] = []
    for sweep in range(sweeps):
        state, _ = run_async(couplings, state, 1, gen, temps.view(-1, 1))
        if sweep >= sweeps - max(1, sweeps // 3):
            tail.append(overlap(state, starts_all))
    m = torch.stack(tail).mean(0)  # (temperatures, 2 starts)
    return TemperatureSweep(temps.numpy(), m[:, :starts].mean(1).numpy(), m[:, starts:].mean(1).numpy(),
                            np.array([mean_field_overlap(t) for t in temps.tolist()]), n_neurons, n_patterns)


KINDS = ("stored pattern", "reversed pattern", "mixture", "other spurious")


@dataclass
class AttractorCensus:
    """Fraction of random starting states ending in each kind of fixed point (KINDS), per
    number of stored patterns: `fractions` (len(n_patterns), 4)."""

    n_neurons: int
    n_patterns: list[int]
    fractions: np.ndarray
    rule: str


def classify(states: torch.Tensor, patterns: torch.Tensor) -> torch.Tensor:
    """Kind (index into KINDS) of each fixed point (n, N) given the stored patterns (p, N):
    a stored pattern or its reversal when some overlap is above 0.9 in size; a mixture when
    at least three patterns overlap it by more than 0.2 in size and it agrees on 90% of the
    neurons with their mixture sign(sum_mu sign(m_mu) xi^mu) (a tie agrees); else other
    spurious."""
    m = states @ patterns.T / states.shape[-1]  # (n, p)
    members = m.abs() > 0.2
    mixture = torch.sign((torch.sign(m) * members) @ patterns)  # (n, N)
    agreement = ((mixture == 0) | (mixture == states)).float().mean(1)
    kind = torch.full((states.shape[0],), 3)
    kind[(members.sum(1) >= 3) & (agreement > 0.9)] = 2
    kind[m.min(1).values < -0.9] = 1
    kind[m.max(1).values > 0.9] = 0
    return kind


def attractor_census(n_neurons: int = 200, n_patterns=(1, 3, 5, 7, 10, 15, 20, 30), starts: int = 200,
                     rule: str = "hebb", max_sweeps: int = 50, seed: int = 0) -> AttractorCensus:
    """Run zero-temperature asynchronous dynamics from `starts` random states for each
    number of stored patterns and classify where they end."""
    check_positive(n_neurons, "n_neurons", integer=True)
    check_positive(starts, "starts", integer=True)
    gen = generator(seed)
    fractions = []
    for p in n_patterns:
        check_positive(p, "n_patterns[]", integer=True)
        patterns = random_patterns(p, n_neurons, gen)
        final, _ = run_async(couplings_for(rule, patterns), random_patterns(starts, n_neurons, gen), max_sweeps, gen)
        counts = torch.bincount(classify(final, patterns), minlength=len(KINDS)).float()
        fractions.append((counts / starts).numpy())
    return AttractorCensus(n_neurons, [int(p) for p in n_patterns], np.stack(fractions), rule)
