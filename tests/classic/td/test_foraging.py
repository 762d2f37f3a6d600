"""The bee-foraging model (Montague et al. 1995; Dayan & Abbott section 9.3)."""

import numpy as np
import pytest

from axon.classic.td.foraging import CONSTANT, VARIABLE, Flower, constant_preference, forage
from axon.errors import ConfigError


def test_flowers_have_equal_means():
    assert CONSTANT.mean == pytest.approx(2.0) and VARIABLE.mean == pytest.approx(2.0)


def test_predictive_hebbian_update_by_hand():
    # eps = 0.5, weights from 0: each visit moves the weight of the colour seen half way to its reward
    result = forage(bees=3, visits=30, eps=0.5, beta=1.0, seed=4)
    w = np.zeros((3, 2))
    for visit in range(30):
        assert np.allclose(result.weights[:, visit], w)
        seen = np.where(result.blue[:, visit], 0, 1)
        delta = result.rewards[:, visit] - w[np.arange(3), seen]
        assert np.allclose(result.deltas[:, visit], delta)
        w[np.arange(3), seen] += 0.5 * delta
    blue_rewards = result.rewards[result.blue]
    assert np.all(blue_rewards == 2.0)  # blue (constant) always pays 2 ul
    assert set(np.unique(result.rewards[~result.blue])) <= {0.0, 6.0}


def test_softmax_choice_probability():
    # eps = 1 with constant flowers: once a bee has seen both colours its predictions are
    # exactly (3, 1), and it picks blue with probability 1 / (1 + exp(-beta (3 - 1)))
    result = forage(bees=2000, visits=40, eps=1.0, beta=0.5, blue=Flower(3.0), yellow=Flower(1.0), seed=1)
    assert result.blue[:, 0].mean() == pytest.approx(0.5, abs=0.04)  # w = 0: no preference yet
    known = np.all(result.weights[:, :-1] == [3.0, 1.0], axis=-1)  # (bees, visits)
    assert known[:, 20:].mean() > 0.95
    assert result.blue[known].mean() == pytest.approx(1 / (1 + np.exp(-1.0)), abs=0.01)


def test_risk_aversion_grows_with_the_learning_rate():
    result = forage(bees=600, visits=100, eps=np.array([0.02, 0.5, 1.0]), beta=1.0, seed=2)
    preference = constant_preference(result)
    assert preference[0] == pytest.approx(0.5, abs=0.03)
    assert preference[1] > 0.65 and preference[2] > preference[1]
    sharper = constant_preference(forage(bees=600, visits=100, eps=0.5, beta=2.0, seed=2))
    assert sharper > preference[1] + 0.1


def test_preference_follows_the_swap():
    result = forage(bees=600, visits=200, eps=0.5, beta=1.0, swap_at=100, seed=3)
    fraction = result.fraction_blue()
    assert fraction[80:100].mean() > 0.65  # blue is the constant colour
    assert fraction[180:].mean() < 0.35  # now yellow is
    assert constant_preference(result) > 0.6


def test_bad_parameters():
    with pytest.raises(ConfigError, match="eps"):
        forage(eps=0.0)
    with pytest.raises(ConfigError, match="eps"):
        forage(eps=np.array([0.5, 1.5]))
    with pytest.raises(ConfigError, match="beta"):
        forage(beta=-1.0)
    with pytest.raises(ConfigError, match="swap_at: 200; expected a visit in 1 .. 199"):
        forage(visits=200, swap_at=200)
    with pytest.raises(ConfigError, match="yellow"):
        forage(yellow=Flower(6.0, 1.5))
