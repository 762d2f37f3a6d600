import numpy as np
import pytest
import torch

from axon.classic.td import random_walk
from axon.classic.td.random_walk import (
    FIVE,
    NINETEEN,
    batch_walk,
    five_state,
    learn,
    learning_curves,
    n_step,
    nineteen_state,
)
from axon.classic.td.walks import SAMPLED_BYTES_PER_CELL, longest_episode, padded_cells, sample_episodes
from axon.errors import ConfigError


def test_true_values():
    torch.testing.assert_close(FIVE.true_values(), torch.arange(1, 6, dtype=torch.float64) / 6)
    torch.testing.assert_close(
        NINETEEN.true_values(), torch.arange(-9, 10, dtype=torch.float64) / 10
    )


def test_td_converges_to_the_true_values():
    curves = learning_curves(FIVE, "td", [0.02], episodes=400, runs=20)
    assert curves[0, 0, 0] == pytest.approx(np.sqrt(((0.5 - np.arange(1, 6) / 6) ** 2).mean()))
    assert curves[0, 0, -1] < 0.05


def test_td_beats_mc_at_each_ones_best_alpha_and_shows_the_learned_values():
    result = five_state(episodes=100, runs=30)
    td_best = result.td[:, -10:].mean(1).min()
    mc_best = result.mc[:, -10:].mean(1).min()
    assert td_best < mc_best
    assert result.shown == (0, 1, 10, 100)
    np.testing.assert_array_equal(result.values[0], np.full(5, 0.5))
    # one episode of TD(0) from 0.5 moves only the state next to the exit it took
    assert np.count_nonzero(result.values[1] != 0.5) == 1
    assert np.abs(result.values[-1] - np.arange(1, 6) / 6).max() < 0.15
    assert "after 100 episodes" in result.report()


def test_batch_td_beats_batch_mc():
    result = batch_walk(episodes=30, runs=20)
    assert result.td[0] == result.mc[0] == pytest.approx(np.sqrt(((0.5 - np.arange(1, 6) / 6) ** 2).mean()))
    assert (result.td[10:] < result.mc[10:]).all()
    assert "batch TD" in result.report()


def test_intermediate_lambda_beats_zero_and_one():
    alphas = (0.01, 0.05, 0.1, 0.3, 0.5, 0.8)
    for offline in (False, True):
        result = nineteen_state(lambdas=(0.0, 0.8, 1.0), alphas=alphas, episodes=10, runs=10, offline=offline)
        best = result.best()
        assert best[0.8][1] < best[0.0][1]
        assert best[0.8][1] < best[1.0][1]
        assert "lambda=0.8" in result.report()


def test_intermediate_n_beats_one_and_many():
    result = n_step(ns=(1, 4, 512), alphas=(0.05, 0.1, 0.2, 0.4, 0.8), runs=10)
    best = result.best()
    assert best[4][1] < best[1][1] and best[4][1] < best[512][1]
    assert "n=4" in result.report()


def test_diverged_alphas_become_nan():
    result = nineteen_state(lambdas=(1.0,), alphas=(0.05, 1.0), runs=5)
    assert np.isfinite(result.errors[0, 0]) and np.isnan(result.errors[0, 1])


def test_bad_walk_parameters():
    with pytest.raises(ConfigError, match="alpha: 1.5"):
        learning_curves(FIVE, "td", [1.5], episodes=1, runs=1)
    with pytest.raises(ConfigError, match="lambda: 2"):
        learning_curves(FIVE, "lambda-return", [0.1], episodes=1, runs=1, lambdas=(2,))
    with pytest.raises(ConfigError, match="n: 0"):
        learning_curves(FIVE, "n-step", [0.1], episodes=1, runs=1, ns=(0,))
    with pytest.raises(ValueError, match="method: 'q'"):
        learning_curves(FIVE, "q", [0.1], episodes=1, runs=1)


def test_many_episodes_keep_one_error_per_episode_and_the_tables_shown():
    learned = learn(FIVE, "td", [0.1, 0.2], episodes=300, runs=2, shown=(0, 300))
    assert learned.errors.shape == (2, 301, 1, 2) and learned.tables.shape == (2, 2, 1, 2, 7)


@pytest.mark.parametrize("walk", [FIVE, NINETEEN])
def test_the_memory_estimate_covers_the_sampled_episodes(walk):
    data = sample_episodes(walk, 20, 100, torch.Generator().manual_seed(0))
    stream = data.stream()
    held = sum(t.nbytes for t in (*vars(data).values(), stream.state, stream.next_state, stream.reward,
                                  stream.first, stream.live, stream.position))
    assert 1 < longest_episode(walk, 2000) / data.rewards.shape[-1] < 2
    assert held < padded_cells(walk, 20, 100) * SAMPLED_BYTES_PER_CELL / 2


@pytest.mark.parametrize("method", ["td", "mc", "lambda-return", "n-step", "batch"])
def test_huge_runs_are_refused_before_anything_is_sampled(method, monkeypatch):
    def never(*args):
        raise AssertionError("sampled")

    monkeypatch.setattr(random_walk, "sample_episodes", never)
    with pytest.raises(ConfigError, match=r"episodes 10 and runs 1000000000000 .*needs about [0-9.]+ [KMGT]iB"):
        if method == "batch":
            batch_walk(episodes=10, runs=10**12)
        else:
            learning_curves(NINETEEN, method, [0.1], episodes=10, runs=10**12)
