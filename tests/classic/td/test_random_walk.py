import numpy as np
import pytest
import torch

from axon.classic.td.random_walk import (
    FIVE,
    NINETEEN,
    _mc_episode,
    five_state,
    learning_curves,
    nineteen_state,
)
from axon.errors import ConfigError


def test_true_values():
    torch.testing.assert_close(FIVE.true_values(), torch.arange(1, 6, dtype=torch.float64) / 6)
    torch.testing.assert_close(
        NINETEEN.true_values(), torch.arange(-9, 10, dtype=torch.float64) / 10
    )


def test_mc_closed_form_matches_sequential_every_visit_updates():
    states = torch.tensor([[3, 2, 3, 4, 3, 4, 5, 6]])  # ends on the right
    rewards = torch.zeros(1, 7, dtype=torch.float64)
    rewards[0, -1] = 1.0
    values = torch.full((1, 7), 0.5, dtype=torch.float64)
    values[0, 0] = values[0, -1] = 0.0
    expected = values.clone()
    for s in states[0, :-1]:
        expected[0, s] += 0.1 * (1.0 - expected[0, s])
    _mc_episode(values, states, rewards, torch.tensor([0.1], dtype=torch.float64))
    torch.testing.assert_close(values, expected)


def test_td_converges_to_the_true_values():
    curves = learning_curves(FIVE, "td", [0.02], episodes=400, runs=20)
    assert curves[0, 0, 0] == pytest.approx(np.sqrt(((0.5 - np.arange(1, 6) / 6) ** 2).mean()))
    assert curves[0, 0, -1] < 0.05


def test_td_beats_mc_at_each_ones_best_alpha():
    result = five_state(episodes=100, runs=30)
    td_best = result.td[:, -10:].mean(1).min()
    mc_best = result.mc[:, -10:].mean(1).min()
    assert td_best < mc_best


def test_intermediate_lambda_beats_zero_and_one():
    result = nineteen_state(
        lambdas=(0.0, 0.8, 1.0), alphas=(0.01, 0.05, 0.1, 0.3, 0.5, 0.8), episodes=10, runs=10
    )
    best = result.best()
    assert best[0.8][1] < best[0.0][1]
    assert best[0.8][1] < best[1.0][1]
    assert "lambda=0.8" in result.report()


def test_bad_walk_parameters():
    with pytest.raises(ConfigError, match="alpha: 1.5"):
        learning_curves(FIVE, "td", [1.5], episodes=1, runs=1)
    with pytest.raises(ConfigError, match="lambda: 2"):
        learning_curves(FIVE, "td", [0.1], episodes=1, runs=1, lambdas=(2,))
    with pytest.raises(ValueError, match="method: 'q'"):
        learning_curves(FIVE, "q", [0.1], episodes=1, runs=1)
