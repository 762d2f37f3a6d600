import numpy as np
import pytest
import torch

from axon.classic.td.random_walk import (
    FIVE,
    NINETEEN,
    batch_walk,
    five_state,
    learning_curves,
    n_step,
    nineteen_state,
)
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
