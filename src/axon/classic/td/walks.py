"""Sutton & Barto's random walks as data: the walk, its true values, and sampled
episodes (padded per episode, or packed run by run into one stream of transitions).

States 1..n in a row, terminals 0 and n + 1; every episode starts in the middle and
steps left or right with equal probability; the only reward is the one for leaving
(``left_reward`` on the left, +1 on the right). The same layout (terminals 0 and
n + 1) serves any small episodic chain, e.g. Example 6.4's A and B.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


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

    def initial_values(self, *shape: int) -> torch.Tensor:
        """(*shape, n + 2) the starting estimates, 0 at the terminals."""
        values = torch.full((*shape, self.n + 2), self.initial, dtype=torch.float64)
        values[..., 0] = values[..., -1] = 0.0
        return values

    def rms_error(self, values: torch.Tensor) -> torch.Tensor:
        """RMS error over states 1..n: values (..., n + 2) -> (...)."""
        return (values[..., 1:-1] - self.true_values()).pow(2).mean(-1).sqrt()


FIVE = Walk(5, 0.0, 0.5)
NINETEEN = Walk(19, -1.0, 0.0)


@dataclass(frozen=True)
class Episodes:
    """``episodes`` episodes of each of ``runs`` runs, padded to the longest (T steps).

    states (runs, episodes, T + 1): S_0 .. S_T, the terminal repeated after the end;
    rewards (runs, episodes, T): R_{t+1} of each transition, 0 after the end;
    lengths (runs, episodes): the number of transitions of each episode."""

    states: torch.Tensor
    rewards: torch.Tensor
    lengths: torch.Tensor

    @property
    def live(self) -> torch.Tensor:
        """(runs, episodes, T) whether transition t belongs to the episode."""
        return torch.arange(self.rewards.shape[-1]) < self.lengths.unsqueeze(-1)

    def returns(self) -> torch.Tensor:
        """(runs, episodes, T + 1) the undiscounted return from each step (0 at and after the end)."""
        tail = self.rewards.flip(-1).cumsum(-1).flip(-1)
        return torch.cat([tail, torch.zeros_like(tail[..., :1])], dim=-1)

    def stream(self) -> "Stream":
        """Each run's episodes one after another, as a single sequence of transitions."""
        return Stream.pack(self)


# measured peak of sample_episodes plus Stream.pack, per padded cell (runs x episodes x (T + 1)): 74-99
SAMPLED_BYTES_PER_CELL = 100


def longest_episode(walk: Walk, count: int) -> int:
    """A length the longest of ``count`` episodes (the padded T) exceeds about once in 20
    samplings: an episode outlasts t steps with probability about (4 / pi) rho^t, rho =
    cos(pi / (n + 1)) the walk's largest eigenvalue among its states, so the longest is
    (log(4 count / pi) + g) / -log(rho), g Gumbel-distributed (mean 0.58; 3 at the 95th percentile)."""
    rho = math.cos(math.pi / (walk.n + 1))
    return math.ceil((math.log(4 * count / math.pi) + 3) / -math.log(rho))


def padded_cells(walk: Walk, runs: int, episodes: int) -> int:
    """About runs x episodes x (T + 1), the size of the padded episodes sample_episodes makes."""
    return runs * episodes * (longest_episode(walk, runs * episodes) + 1)


def sample_episodes(walk: Walk, runs: int, episodes: int, rng: torch.Generator) -> Episodes:
    """Sample runs x episodes walks at once (one batch, stepped until the last one ends)."""
    batch = runs * episodes
    state = torch.full((batch,), (walk.n + 1) // 2)
    path = [state]
    alive = torch.ones(batch, dtype=torch.bool)
    while alive.any():
        move = torch.randint(0, 2, (batch,), generator=rng) * 2 - 1
        state = torch.where(alive, state + move, state)
        alive = alive & (state > 0) & (state < walk.n + 1)
        path.append(state)
    states = torch.stack(path, dim=1)
    inside = (states > 0) & (states < walk.n + 1)
    lengths = inside.sum(1)
    ends = torch.arange(states.shape[1] - 1) == (lengths - 1).unsqueeze(1)
    exit_reward = torch.where(states[:, 1:] == 0, walk.left_reward, 1.0).to(torch.float64)
    rewards = torch.where(ends, exit_reward, 0.0)
    return Episodes(
        states.view(runs, episodes, -1), rewards.view(runs, episodes, -1), lengths.view(runs, episodes)
    )


@dataclass(frozen=True)
class Stream:
    """Every run's transitions in order, episode after episode, padded to the longest run (L).

    state, next_state (runs, L): S_t and S_{t+1} (0, a terminal, after the run's end);
    reward (runs, L); first (runs, L) whether the transition starts an episode;
    live (runs, L) whether it exists; position (runs, episodes, T) where each transition
    of the padded episodes went (-1 for padding); ends[p] = (run indices, episode
    indices) of the episodes whose last transition is at position p."""

    state: torch.Tensor
    next_state: torch.Tensor
    reward: torch.Tensor
    first: torch.Tensor
    live: torch.Tensor
    position: torch.Tensor
    ends: list

    @classmethod
    def pack(cls, episodes: Episodes) -> "Stream":
        live = episodes.live
        runs, count, steps = live.shape
        flat = live.reshape(runs, count * steps)
        position = torch.where(flat, flat.cumsum(1) - 1, -1).view(runs, count, steps)
        length = int(flat.sum(1).max())
        last = position.gather(2, (episodes.lengths - 1).unsqueeze(-1)).flatten()  # runs x episodes
        order = last.argsort(stable=True)
        sizes = torch.bincount(last, minlength=length).tolist()
        end_runs = torch.arange(runs).repeat_interleave(count)[order].split(sizes)
        end_episodes = torch.arange(count).repeat(runs)[order].split(sizes)
        first = torch.zeros_like(live)
        first[..., 0] = True

        def put(values: torch.Tensor) -> torch.Tensor:
            return _pack(values, position, length)

        return cls(
            put(episodes.states[..., :-1]), put(episodes.states[..., 1:]), put(episodes.rewards),
            put(first), put(live), position, list(zip(end_runs, end_episodes)),
        )

    def spread(self, values: torch.Tensor) -> torch.Tensor:
        """Pack per-transition values (runs, episodes, T, *rest) into (runs, L, *rest) (0 after the end)."""
        return _pack(values, self.position, self.state.shape[1])


def _pack(values: torch.Tensor, position: torch.Tensor, length: int) -> torch.Tensor:
    """(runs, episodes, T, *rest) -> (runs, length, *rest): transition (r, e, t) goes to
    position[r, e, t] of row r; padding (position -1) is dropped, the rest is 0."""
    live = position >= 0
    rows = torch.arange(live.shape[0]).view(-1, 1, 1).expand_as(live)[live]
    out = torch.zeros((live.shape[0], length, *values.shape[3:]), dtype=values.dtype)
    out[rows, position[live]] = values[live]
    return out
