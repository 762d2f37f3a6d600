import numpy as np
import pytest

from axon.classic.td.dopamine import dopamine_experiment
from axon.errors import ConfigError


def test_delta_moves_from_reward_to_stimulus_and_dips_on_omission():
    result = dopamine_experiment(trials=150, eps=0.5, steps=60, stimulus_time=10, reward_time=40)
    peaks = result.peak_times()
    assert peaks[0] == 40  # untrained: the reward itself is the surprise
    assert peaks[-1] == 9  # trained: the step into the stimulus onset
    assert result.deltas[-1, 40] == pytest.approx(0.0, abs=1e-3)  # the reward is predicted
    middle = peaks[(peaks > 9) & (peaks < 40)]
    assert len(middle) > 10 and np.all(np.diff(middle) <= 0)  # it travels back steadily
    assert result.omitted[40] == pytest.approx(-1.0, abs=1e-3)
    assert result.omitted.argmax() == 9
    assert "dips to -1.000 at t = 40" in result.report()


def test_bad_times():
    with pytest.raises(ConfigError, match="stimulus_time, reward_time: 50, 20"):
        dopamine_experiment(stimulus_time=50, reward_time=20)
    with pytest.raises(ConfigError, match="eps"):
        dopamine_experiment(eps=0)
