"""Tabular prediction on sampled episodes, vectorised over runs and over copies of the
learner (one step size, and one lambda or n, per copy; every copy sees the same
episodes).

Values are (runs, copies, n + 2) tables, the terminals 0 and n + 1 held at 0. Each
learner returns a ``Learned``: the RMS error after 0, 1, .., E episodes, computed as the
episodes end, and the tables only after the episodes asked for (``shown``), so memory does
not grow with E beyond the errors.

- ``online_td_lambda``: TD(lambda) updating after every step (accumulating or replacing
  traces); lambda = 0 is TD(0). One Python step per transition of the longest run, each
  step working on all runs and copies at once.
- ``n_step_td``: n-step TD (S&B 7.1); n = None (or n >= the episode) is constant-alpha
  every-visit Monte Carlo. Same stepping as above.
- ``offline_lambda_return``: the offline lambda-return algorithm (S&B 12.1): the values
  stay fixed during an episode, and at its end every visited state moves by
  alpha (G^lambda_t - V(S_t)), summed. Lambda = 0 is offline TD(0), lambda = 1
  offline every-visit MC; it equals offline TD(lambda) with accumulating traces.
- ``batch_values``: what batch TD(0) and batch every-visit MC converge to on all the
  episodes so far (S&B 6.3), solved exactly instead of iterated.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from axon.classic.td.walks import Episodes, Walk


@dataclass(frozen=True)
class Learned:
    """What a learner keeps: errors (runs, E + 1, rows, A), the RMS error over states after
    0..E episodes; tables (runs, len(shown), rows, A, n + 2), the values after the episodes
    in ``shown`` (in that order)."""

    errors: torch.Tensor
    tables: torch.Tensor


class _Recorder:
    """Fills a ``Learned`` as episodes end, from state-major tables (runs, n + 2, rows, A).

    The tables of the episodes just ended are copied into a buffer of max(runs, 64) tables
    and turned into errors (and kept where shown) a buffer at a time."""

    def __init__(self, walk: Walk, values: torch.Tensor, count: int, shown):
        runs = values.shape[0]
        self.walk = walk
        self.errors = torch.empty(runs, count + 1, *values.shape[2:], dtype=torch.float64)
        self.tables = torch.empty(runs, len(shown), *values.shape[1:], dtype=torch.float64)
        self.slot = torch.full((count + 1,), -1)
        self.slot[list(shown)] = torch.arange(len(shown))
        self.buffer = torch.empty(max(runs, 64), *values.shape[1:], dtype=torch.float64)
        self.used, self.runs, self.done = 0, [], []
        self.record(values, (torch.arange(runs), torch.full((runs,), -1)))

    def record(self, values: torch.Tensor, ends) -> None:
        """Note the tables of the runs whose episode just ended: ends = (run indices, episode
        indices), episode -1 for the starting tables."""
        runs, finished = ends
        if not len(runs):
            return
        if self.used + len(runs) > len(self.buffer):
            self._flush()
        torch.index_select(values, 0, runs, out=self.buffer[self.used : self.used + len(runs)])
        self.used += len(runs)
        self.runs.append(runs)
        self.done.append(finished)

    def _flush(self) -> None:
        runs, done, tables = torch.cat(self.runs), torch.cat(self.done) + 1, self.buffer[: self.used]
        self.errors[runs, done] = self.walk.rms_error(tables.permute(0, 2, 3, 1))
        slot = self.slot[done]
        kept = slot >= 0
        self.tables[runs[kept], slot[kept]] = tables[kept]
        self.used, self.runs, self.done = 0, [], []

    def learned(self) -> Learned:
        self._flush()
        return Learned(self.errors, self.tables.permute(0, 1, 3, 4, 2))


def _table(walk: Walk, episodes: Episodes, rows: int, alphas: torch.Tensor, shown):
    """The starting table (runs, n + 2, rows, A) and its recorder.

    Tables are stored state-major, so that one state's entries for all copies are contiguous."""
    runs, count = episodes.lengths.shape
    values = walk.initial_values(runs, rows, alphas.shape[0]).permute(0, 3, 1, 2).contiguous()
    return values, _Recorder(walk, values, count, shown)


def online_td_lambda(
    walk: Walk, episodes: Episodes, alphas: torch.Tensor, lambdas: torch.Tensor, replacing: bool = False,
    shown=(),
) -> Learned:
    """Online TD(lambda) for every lambda (L,) and alpha (A,): rows = L.

    At each step delta = R + V(S') - V(S); e <- lambda e (reset at an episode's start);
    e(S) <- e(S) + 1 (or 1 when replacing); V <- V + alpha delta e. The traces depend on
    lambda only, so the alphas share them."""
    stream = episodes.stream()
    runs, count, width = stream.state.shape[0], lambdas.shape[0], alphas.shape[0]
    values, recorder = _table(walk, episodes, count, alphas, shown)
    traces = torch.zeros(runs, walk.n + 2, count, 1, dtype=torch.float64)
    here = stream.state.view(runs, -1, 1, 1, 1)
    there = stream.next_state.view(runs, -1, 1, 1, 1)
    carried = (~stream.first).to(torch.float64).view(runs, -1, 1, 1, 1)
    lams = lambdas.view(1, 1, count, 1)
    live = stream.live.to(torch.float64).view(runs, -1, 1, 1, 1)
    rewards = stream.reward.view(runs, -1, 1, 1, 1)
    one = torch.ones(runs, 1, count, 1, dtype=torch.float64)
    for p in range(stream.state.shape[1]):
        at = here[:, p].expand(runs, 1, count, width)
        delta = rewards[:, p] + values.gather(1, there[:, p].expand(runs, 1, count, width)) - values.gather(1, at)
        traces.mul_(lams * carried[:, p])
        if replacing:
            traces.scatter_(1, at[..., :1], one)
        else:
            traces.scatter_add_(1, at[..., :1], one)
        values.add_(alphas * live[:, p] * delta * traces)  # not addcmul_: its fused multiply-add rounds once
        recorder.record(values, stream.ends[p])
    return recorder.learned()


def n_step_td(walk: Walk, episodes: Episodes, alphas: torch.Tensor, ns: list, shown=()) -> Learned:
    """n-step TD for each n in ``ns`` (None: Monte Carlo) and alpha (A,): rows = len(ns).

    S_tau moves by alpha (G - V(S_tau)), G = R_{tau+1} + .. + R_{tau+n} + V(S_{tau+n})
    (the sum stopping at the episode's end, where V = 0), in order of tau, each update
    seeing the ones before it: the order of S&B's algorithm, so n = 1 is TD(0)."""
    stream = episodes.stream()
    runs, count, width = stream.state.shape[0], len(ns), alphas.shape[0]
    values, recorder = _table(walk, episodes, count, alphas, shown)
    steps = episodes.rewards.shape[-1]
    t = torch.arange(steps)
    tails = episodes.returns().unsqueeze(-1).expand(-1, -1, -1, count)  # (runs, E, T + 1, len(ns))
    ends = episodes.lengths.view(*episodes.lengths.shape, 1, 1)
    horizon = torch.minimum(torch.stack([t + (steps if n is None else n) for n in ns], dim=-1), ends)
    states = episodes.states.unsqueeze(-1).expand(-1, -1, -1, count)
    bootstrap = stream.spread(states.gather(2, horizon)).view(runs, -1, 1, count, 1)  # S_{tau+n} or the end
    gains = stream.spread(tails[..., :-1, :] - tails.gather(2, horizon)).view(runs, -1, 1, count, 1)
    here = stream.state.view(runs, -1, 1, 1, 1)
    live = stream.live.to(torch.float64).view(runs, -1, 1, 1, 1)
    for p in range(stream.state.shape[1]):
        at = here[:, p].expand(runs, 1, count, width)
        now = values.gather(1, at)
        target = gains[:, p] + values.gather(1, bootstrap[:, p].expand(runs, 1, count, width))
        values.scatter_add_(1, at, alphas * live[:, p] * (target - now))
        recorder.record(values, stream.ends[p])
    return recorder.learned()


def lambda_returns(values: torch.Tensor, states: torch.Tensor, rewards: torch.Tensor, lambdas: torch.Tensor):
    """Yield (t, G^lambda_t) for t = T-1 .. 0 of one padded episode under fixed state-major
    values (runs, n + 2, L, A): states (runs, T + 1), rewards (runs, T), lambdas (L,);
    each G^lambda_t is (runs, 1, L, A).

    G^lambda_t = R_{t+1} + (1 - lambda) V(S_{t+1}) + lambda G^lambda_{t+1}, the terminal
    worth 0: the (1 - lambda) lambda^(n-1) weighted mean of the n-step returns."""
    runs, _, count, width = values.shape
    lam = lambdas.view(1, 1, count, 1)
    following = states.view(runs, -1, 1, 1).expand(runs, -1, count, width)
    reward = rewards.view(runs, -1, 1, 1)
    total = torch.zeros(runs, 1, count, width, dtype=torch.float64)
    for t in range(rewards.shape[1] - 1, -1, -1):
        total = torch.addcmul(reward[:, t : t + 1] + (1 - lam) * values.gather(1, following[:, t + 1 : t + 2]), lam, total)
        yield t, total


def offline_lambda_return(
    walk: Walk, episodes: Episodes, alphas: torch.Tensor, lambdas: torch.Tensor, shown=()
) -> Learned:
    """The offline lambda-return algorithm for every lambda (L,) and alpha (A,): rows = L.

    Nothing changes during an episode; at its end, for t = 0 .. T-1 in order,
    V(S_t) <- V(S_t) + alpha (G^lambda_t - V(S_t)), the lambda-returns computed under the
    values the episode started with (S&B 12.1). Done in closed form: a state visited k
    times ends at (1 - alpha)^k V + sum_j alpha (1 - alpha)^(visits after j) G_j."""
    values, recorder = _table(walk, episodes, lambdas.shape[0], alphas, shown)
    runs, size, count, width = values.shape
    every_run = torch.arange(runs)
    for e in range(episodes.lengths.shape[1]):
        steps = int(episodes.lengths[:, e].max())
        states = episodes.states[:, e, : steps + 1]
        live = (torch.arange(steps) < episodes.lengths[:, e, None]).to(torch.float64)
        visits = torch.zeros(runs, steps, size, dtype=torch.float64).scatter_(2, states[:, :-1, None], live[..., None])
        after = visits.flip(1).cumsum(1).flip(1) - visits  # visits to each state after step t
        later = after.gather(2, states[:, :-1, None]).view(runs, steps, 1, 1)
        weights = alphas * (1 - alphas) ** later * live.view(runs, steps, 1, 1)  # (runs, T, 1, A)
        moved = torch.zeros_like(values)
        here = states.view(runs, -1, 1, 1).expand(runs, -1, count, width)
        for t, target in lambda_returns(values, states, episodes.rewards[:, e, :steps], lambdas):
            moved.scatter_add_(1, here[:, t : t + 1], weights[:, t : t + 1] * target)
        values.mul_((1 - alphas) ** visits.sum(1).view(runs, size, 1, 1)).add_(moved)
        recorder.record(values, (every_run, torch.full((runs,), e)))
    return recorder.learned()


def batch_values(walk: Walk, episodes: Episodes, method: str) -> torch.Tensor:
    """Batch TD(0) or batch MC after 0, 1, .., E episodes: (runs, E + 1, n + 2).

    Repeating the summed updates over all episodes seen, with a small enough alpha,
    converges to (S&B 6.3): for "td" the values of the maximum-likelihood Markov model
    (certainty equivalence: N(s) V(s) = sum_s' N(s, s') V(s') + sum of rewards leaving s);
    for "mc" the mean return over every visit. States not yet visited keep walk.initial."""
    if method not in ("td", "mc"):
        raise ValueError(f"method: {method!r}; expected 'td' or 'mc'")
    size = walk.n + 2
    live = episodes.live.to(torch.float64)
    here = episodes.states[..., :-1]
    runs, count = episodes.lengths.shape

    def per_state(index: torch.Tensor, weights: torch.Tensor, cells: int) -> torch.Tensor:
        """Cumulative per-episode sums (runs, E + 1, cells) of weights at index."""
        sums = torch.zeros(runs, count, cells, dtype=torch.float64).scatter_add_(2, index, weights)
        return torch.cat([torch.zeros_like(sums[:, :1]), sums.cumsum(1)], dim=1)

    visits = per_state(here, live, size)
    start = walk.initial_values(runs, count + 1)
    seen = visits > 0
    if method == "mc":
        returns = per_state(here, live * episodes.returns()[..., :-1], size)
        return torch.where(seen, returns / visits.clamp(min=1), start)
    moves = per_state(here * size + episodes.states[..., 1:], live, size * size).view(runs, count + 1, size, size)
    gains = per_state(here, live * episodes.rewards, size)
    inner = slice(1, size - 1)
    system = torch.diag_embed(visits) - moves
    system = system[..., inner, inner]
    unseen = ~seen[..., inner]
    eye = torch.eye(walk.n, dtype=torch.float64)
    system = torch.where(unseen.unsqueeze(-1), eye, system)
    rhs = torch.where(unseen, start[..., inner], gains[..., inner])
    solution = torch.linalg.solve(system, rhs)
    return torch.cat([start[..., :1], solution, start[..., -1:]], dim=-1)
