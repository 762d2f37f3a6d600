"""The vectorised tabular learners against plain Python loops over the same episodes
(exact), against hand-computed cases, and against their known identities."""

import numpy as np
import pytest
import torch

from axon.classic.td import tabular
from axon.classic.td.temporal import TemporalDifference
from axon.classic.td.walks import FIVE, NINETEEN, Episodes, Walk, sample_episodes


def episodes_of(paths, rewards) -> Episodes:
    """One run of hand-written episodes: paths of states (ending at a terminal), the reward of each step."""
    steps = max(len(p) for p in paths) - 1
    states = torch.tensor([p + [p[-1]] * (steps + 1 - len(p)) for p in paths]).unsqueeze(0)
    padded = torch.tensor([r + [0.0] * (steps - len(r)) for r in rewards], dtype=torch.float64).unsqueeze(0)
    return Episodes(states, padded, torch.tensor([[len(p) - 1 for p in paths]]))


def tables(learner, walk, data, *args):
    """Every table a learner passes through, (runs, E + 1, rows, A, n + 2), by asking it to keep
    them all; the errors it computes on the fly must equal their RMS error exactly."""
    learned = learner(walk, data, *args, shown=range(data.lengths.shape[1] + 1))
    torch.testing.assert_close(learned.errors, walk.rms_error(learned.tables), rtol=0, atol=0, equal_nan=True)
    return learned.tables


def walks(walk=NINETEEN, runs=3, count=4, seed=1) -> Episodes:
    return sample_episodes(walk, runs, count, torch.Generator().manual_seed(seed))


def transitions(data: Episodes, run: int, episode: int):
    """[(S_t, S_t+1, R_t+1)] of one episode, as Python numbers."""
    n = int(data.lengths[run, episode])
    s = data.states[run, episode].tolist()
    r = data.rewards[run, episode].tolist()
    return [(s[t], s[t + 1], r[t]) for t in range(n)]


def run_loop(walk, data, learn_episode):
    """(runs, E + 1, n + 2): learn_episode(values, states, rewards) updates a list of values in
    place through one episode (states S_0 .. S_T, rewards R_1 .. R_T), run after run."""
    out = []
    for run in range(data.lengths.shape[0]):
        values = walk.initial_values().tolist()
        tables = [list(values)]
        for episode in range(data.lengths.shape[1]):
            steps = transitions(data, run, episode)
            learn_episode(values, [s for s, _, _ in steps] + [steps[-1][1]], [r for _, _, r in steps])
            tables.append(list(values))
        out.append(tables)
    return torch.tensor(out, dtype=torch.float64)


def loop_td_lambda(walk, data, alpha, lam, replacing):
    """Online TD(lambda) written out step by step."""

    def learn(values, states, rewards):
        traces = [0.0] * len(values)
        for t, r in enumerate(rewards):
            s, s1 = states[t], states[t + 1]
            delta = r + values[s1] - values[s]
            traces = [lam * e for e in traces]
            traces[s] = 1.0 if replacing else traces[s] + 1.0
            step = alpha * delta
            values[:] = [v + step * e for v, e in zip(values, traces)]

    return run_loop(walk, data, learn)


def loop_n_step(walk, data, alpha, n):
    """Sutton & Barto's n-step TD pseudo-code (section 7.1), n = None for Monte Carlo."""

    def learn(values, states, rewards):
        big_t = len(rewards)
        horizon = big_t if n is None else n
        for tau in range(big_t):
            g = sum(rewards[tau : min(tau + horizon, big_t)])
            if tau + horizon < big_t:
                g = g + values[states[tau + horizon]]
            values[states[tau]] += alpha * (g - values[states[tau]])

    return run_loop(walk, data, learn)


@pytest.mark.parametrize("replacing", [False, True])
def test_online_td_lambda_equals_the_step_by_step_loop_exactly(replacing):
    data = walks()
    alphas = torch.tensor([0.1, 0.5], dtype=torch.float64)
    lambdas = torch.tensor([0.0, 0.8, 1.0], dtype=torch.float64)
    got = tables(tabular.online_td_lambda, NINETEEN, data, alphas, lambdas, replacing)
    assert got.shape == (3, 5, 3, 2, 21)
    for i, lam in enumerate(lambdas.tolist()):
        for j, alpha in enumerate(alphas.tolist()):
            assert torch.equal(got[:, :, i, j], loop_td_lambda(NINETEEN, data, alpha, lam, replacing))


@pytest.mark.parametrize("walk", [FIVE, NINETEEN])
def test_n_step_td_equals_the_books_pseudo_code_exactly(walk):
    data = walks(walk)
    alphas = torch.tensor([0.2, 0.9], dtype=torch.float64)
    ns = [1, 3, 16, None]
    got = tables(tabular.n_step_td, walk, data, alphas, ns)
    for i, n in enumerate(ns):
        for j, alpha in enumerate(alphas.tolist()):
            assert torch.equal(got[:, :, i, j], loop_n_step(walk, data, alpha, n))


def test_n_step_with_n_1_is_td0_and_large_n_is_monte_carlo():
    data = walks(runs=4, count=6)
    alphas = torch.tensor([0.05, 0.3, 1.0], dtype=torch.float64)
    td0 = tables(tabular.online_td_lambda, NINETEEN, data, alphas, torch.zeros(1, dtype=torch.float64))
    steps = tables(tabular.n_step_td, NINETEEN, data, alphas, [1, 10_000, None])
    assert torch.equal(steps[:, :, 0], td0[:, :, 0])
    assert torch.equal(steps[:, :, 1], steps[:, :, 2])


def test_td0_and_n_step_by_hand():
    data = episodes_of([[3, 4, 5, 6], [3, 2, 3, 2, 1, 0]], [[0, 0, 1], [0, 0, 0, 0, 0]])
    alpha = torch.tensor([0.5], dtype=torch.float64)
    td0 = tables(tabular.n_step_td, FIVE, data, alpha, [1])[0, :, 0, 0, 1:-1]
    # episode 1: only V(5) moves, to 0.5 + 0.5 (1 - 0.5); episode 2: V(3) <- .5 + .5 (.5 - .5) = .5,
    # V(2) <- .5 + .5 (.5 - .5), V(3), then V(2) <- .5 + .5 (.5 - .5), V(1) <- .5 + .5 (0 - .5) = .25
    assert td0.tolist() == [[0.5] * 5, [0.5, 0.5, 0.5, 0.5, 0.75], [0.25, 0.5, 0.5, 0.5, 0.75]]
    two = tables(tabular.n_step_td, FIVE, data, alpha, [2])[0, 1, 0, 0, 1:-1]
    # tau 0: G = V(5) = .5, no change; tau 1: G = R = 1 -> V(4) = .75; tau 2: V(5) = .75
    assert two.tolist() == [0.5, 0.5, 0.5, 0.75, 0.75]


def test_online_td_lambda_by_hand():
    data = episodes_of([[3, 4, 5, 6]], [[0, 0, 1]])
    half = torch.tensor([0.5], dtype=torch.float64)
    got = tables(tabular.online_td_lambda, FIVE, data, half, half)
    # the only error, 1 - V(5) = 0.5 at the last step, reaches traces 0.25, 0.5, 1
    assert got[0, 1, 0, 0, 1:-1].tolist() == [0.5, 0.5, 0.5625, 0.625, 0.75]


def definition_lambda_return(values, states, rewards, lam, t):
    """(1 - lambda) sum_n lambda^(n-1) G_{t:t+n} + lambda^(T-t-1) G_t, from the n-step returns."""
    big_t = len(rewards)

    def n_step(n):
        g = sum(rewards[t : min(t + n, big_t)])
        return g + (values[states[t + n]] if t + n < big_t else 0.0)

    total = sum((1 - lam) * lam ** (n - 1) * n_step(n) for n in range(1, big_t - t))
    return total + lam ** (big_t - t - 1) * sum(rewards[t:])


def test_lambda_returns_match_the_weighted_n_step_returns():
    data = walks(FIVE, runs=1, count=1, seed=3)
    states = data.states[0, 0, : int(data.lengths[0, 0]) + 1]
    rewards = data.rewards[0, 0, : int(data.lengths[0, 0])]
    table = torch.rand(7, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    table[0] = table[-1] = 0.0
    lambdas = torch.tensor([0.0, 0.3, 0.9, 1.0], dtype=torch.float64)
    values = table.view(1, 7, 1, 1).expand(1, 7, 4, 1).contiguous()
    got = dict(tabular.lambda_returns(values, states.unsqueeze(0), rewards.unsqueeze(0), lambdas))
    for t, g in got.items():
        for i, lam in enumerate(lambdas.tolist()):
            expected = definition_lambda_return(table.tolist(), states.tolist(), rewards.tolist(), lam, t)
            assert g[0, 0, i, 0].item() == pytest.approx(expected, abs=1e-12)


def loop_offline_lambda_return(walk, data, alpha, lam):
    """The offline lambda-return algorithm as S&B write it: returns under the episode's
    starting values, then the updates in order of t."""

    def learn(values, states, rewards):
        start = list(values)
        for t in range(len(rewards)):
            g = definition_lambda_return(start, states, rewards, lam, t)
            values[states[t]] += alpha * (g - values[states[t]])

    return run_loop(walk, data, learn)


def test_offline_lambda_return_equals_the_books_algorithm():
    data = walks(FIVE, runs=2, count=2)
    alphas = torch.tensor([0.1, 0.6], dtype=torch.float64)
    lambdas = torch.tensor([0.0, 0.5], dtype=torch.float64)
    got = tables(tabular.offline_lambda_return, FIVE, data, alphas, lambdas)
    for i, lam in enumerate(lambdas.tolist()):
        for j, alpha in enumerate(alphas.tolist()):
            torch.testing.assert_close(got[:, :, i, j], loop_offline_lambda_return(FIVE, data, alpha, lam),
                                       rtol=0, atol=1e-12)


def test_offline_lambda_return_by_hand():
    data = episodes_of([[3, 4, 5, 6]], [[0, 0, 1]])
    half = torch.tensor([0.5], dtype=torch.float64)
    got = tables(tabular.offline_lambda_return, FIVE, data, half, half)
    # G_2 = 1, G_1 = .5 * .5 + .5 * 1 = .75, G_0 = .5 * .5 + .5 * .75 = .625
    torch.testing.assert_close(got[0, 1, 0, 0, 1:-1], torch.tensor([0.5, 0.5, 0.5625, 0.625, 0.75],
                                                                    dtype=torch.float64))


def test_offline_lambda_1_is_monte_carlo_and_lambda_0_bootstraps_from_the_start_values():
    data = walks(NINETEEN, runs=3, count=5)
    alphas = torch.tensor([0.05, 0.4], dtype=torch.float64)
    ends = torch.tensor([0.0, 1.0], dtype=torch.float64)
    offline = tables(tabular.offline_lambda_return, NINETEEN, data, alphas, ends)
    mc = tables(tabular.n_step_td, NINETEEN, data, alphas, [None])
    torch.testing.assert_close(offline[:, :, 1], mc[:, :, 0], rtol=0, atol=1e-12)
    # lambda = 0 targets R + V_start(S'): with every state seen once per episode, the same
    # as TD(0) summed over the episode (offline TD(0))
    once = episodes_of([[3, 4, 5, 6], [3, 2, 1, 0]], [[0, 0, 1], [0, 0, 0]])
    zero = tables(tabular.offline_lambda_return, FIVE, once, alphas, torch.tensor([0.0], dtype=torch.float64))
    for j, alpha in enumerate(alphas.tolist()):
        td = TemporalDifference(eps=alpha, lam=0.0, online=False)
        features = torch.eye(7, dtype=torch.float64)[once.states[0, :, :-1]][..., 1:-1]
        td.fit(features, once.rewards[0], w0=torch.full((5,), 0.5, dtype=torch.float64))
        torch.testing.assert_close(zero[0, 1:, 0, j, 1:-1], td.history_[1:], rtol=0, atol=1e-12)


@pytest.mark.parametrize("lam", [0.3, 0.9])
def test_offline_lambda_return_equals_offline_td_lambda_when_no_state_repeats(lam):
    # forward view = backward view (accumulating traces, summed updates) when each state is
    # seen at most once per episode, so the in-order updates cannot interact
    once = episodes_of([[3, 4, 5, 6], [3, 2, 1, 0], [3, 4, 5, 6]], [[0, 0, 1], [0, 0, 0], [0, 0, 1]])
    got = tables(tabular.offline_lambda_return, FIVE, once, torch.tensor([0.3], dtype=torch.float64),
                 torch.tensor([lam], dtype=torch.float64))
    td = TemporalDifference(eps=0.3, lam=lam, online=False)
    features = torch.eye(7, dtype=torch.float64)[once.states[0, :, :-1]][..., 1:-1]
    td.fit(features, once.rewards[0], w0=torch.full((5,), 0.5, dtype=torch.float64))
    torch.testing.assert_close(got[0, :, 0, 0, 1:-1], td.history_, rtol=0, atol=1e-12)


EXAMPLE_6_4 = episodes_of([[1, 2, 0]] + [[2, 3]] * 6 + [[2, 0]], [[0, 0]] + [[1]] * 6 + [[0]])


def test_batch_td_and_mc_on_example_6_4():
    walk = Walk(2, 0.0, 0.0)  # A = 1, B = 2, terminals 0 and 3
    td = tabular.batch_values(walk, EXAMPLE_6_4, "td")[0, -1, 1:-1]
    mc = tabular.batch_values(walk, EXAMPLE_6_4, "mc")[0, -1, 1:-1]
    torch.testing.assert_close(td, torch.tensor([0.75, 0.75], dtype=torch.float64))
    torch.testing.assert_close(mc, torch.tensor([0.0, 0.75], dtype=torch.float64))


def iterate_batch(walk, data, episode_count, method, alpha=0.02, sweeps=100_000):
    """Repeat the summed TD(0) or MC updates over the first episodes until they stop moving."""
    steps = [step for e in range(episode_count) for step in transitions(data, 0, e)]
    here, there, rewards = (np.array(column) for column in zip(*steps))
    returns = np.concatenate([data.returns()[0, e, : int(data.lengths[0, e])].numpy() for e in range(episode_count)])
    values = walk.initial_values().numpy()
    for _ in range(sweeps):
        target = rewards + values[there] if method == "td" else returns
        change = np.bincount(here, weights=alpha * (target - values[here]), minlength=len(values))
        values = values + change
        if np.abs(change).max() < 1e-13:
            return torch.from_numpy(values)
    raise AssertionError("batch updates did not converge")


@pytest.mark.parametrize("method", ["td", "mc"])
def test_batch_values_are_where_repeated_batch_updates_converge(method):
    data = walks(FIVE, runs=1, count=4, seed=5)
    solved = tabular.batch_values(FIVE, data, method)[0]
    assert torch.equal(solved[0], FIVE.initial_values())
    for count in (1, 4):
        torch.testing.assert_close(solved[count], iterate_batch(FIVE, data, count, method), rtol=0, atol=1e-9)


def test_batch_values_bad_method():
    with pytest.raises(ValueError, match="method: 'q'"):
        tabular.batch_values(FIVE, EXAMPLE_6_4, "q")


def test_stream_keeps_every_runs_transitions_in_order():
    data = walks(FIVE, runs=3, count=5)
    stream = data.stream()
    for run in range(3):
        expected = [step for e in range(5) for step in transitions(data, run, e)]
        live = stream.live[run]
        got = list(zip(stream.state[run][live].tolist(), stream.next_state[run][live].tolist(),
                       stream.reward[run][live].tolist()))
        assert got == expected
        firsts = np.flatnonzero(stream.first[run].numpy()).tolist()
        assert firsts == np.cumsum([0] + data.lengths[run, :-1].tolist()).tolist()
    ended = sorted((int(r), int(e), p) for p, (runs, eps) in enumerate(stream.ends) for r, e in zip(runs, eps))
    assert [(r, e) for r, e, _ in ended] == [(r, e) for r in range(3) for e in range(5)]


def test_sampled_walks_step_by_one_from_the_middle_to_an_exit():
    data = walks(NINETEEN, runs=5, count=7)
    for run in range(5):
        for e in range(7):
            steps = transitions(data, run, e)
            assert steps[0][0] == 10 and steps[-1][1] in (0, 20)
            assert all(abs(s1 - s) == 1 and 0 < s < 20 for s, s1, _ in steps)
            assert [r for _, _, r in steps] == [0.0] * (len(steps) - 1) + [1.0 if steps[-1][1] == 20 else -1.0]


@pytest.mark.parametrize("learner, rows", [
    (tabular.online_td_lambda, torch.tensor([0.0, 0.9], dtype=torch.float64)),
    (tabular.offline_lambda_return, torch.tensor([0.0, 0.9], dtype=torch.float64)),
    (tabular.n_step_td, [1, 4, None]),
])
def test_learners_keep_every_episodes_error_but_only_the_tables_asked_for(learner, rows):
    data = walks(NINETEEN, runs=3, count=6)
    alphas = torch.tensor([0.1, 0.4], dtype=torch.float64)
    every = tables(learner, NINETEEN, data, alphas, rows)
    some = learner(NINETEEN, data, alphas, rows, shown=(0, 2, 6))
    assert torch.equal(some.tables, every[:, [0, 2, 6]])
    assert torch.equal(some.errors, NINETEEN.rms_error(every))
    assert learner(NINETEEN, data, alphas, rows).tables.shape == (3, 0, len(rows), 2, 21)
