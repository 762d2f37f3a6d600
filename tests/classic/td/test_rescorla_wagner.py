import numpy as np
import pytest
import torch

from axon.classic.td.conditioning import PARADIGMS, simulate
from axon.classic.td.rescorla_wagner import RescorlaWagner
from axon.errors import ConfigError


def test_pavlovian_weight_approaches_reward_exponentially():
    eps, r, n = 0.1, 2.0, 60
    model = RescorlaWagner(eps).fit(torch.ones(n, 1), torch.full((n,), r))
    expected = r * (1 - (1 - eps) ** torch.arange(n + 1, dtype=torch.float64))
    torch.testing.assert_close(model.history_[:, 0], expected)


def test_eps_one_learns_in_a_single_trial():
    model = RescorlaWagner(1.0).fit(torch.ones(3, 1), torch.full((3,), 0.7))
    torch.testing.assert_close(model.history_[1:, 0], torch.full((3,), 0.7, dtype=torch.float64))


def test_extinction_decays_exponentially():
    eps, n = 0.2, 30
    model = RescorlaWagner(eps).fit(torch.ones(n, 1), torch.zeros(n), w0=[1.0])
    torch.testing.assert_close(
        model.history_[:, 0], (1 - eps) ** torch.arange(n + 1, dtype=torch.float64)
    )


def test_stochastic_reward_converges_to_mean_reward_over_runs():
    runs, trials, p = 400, 300, 0.3
    gen = torch.Generator().manual_seed(0)
    rewards = (torch.rand(runs, trials, generator=gen) < p).double()
    model = RescorlaWagner(0.05).fit(torch.ones(runs, trials, 1), rewards)
    assert model.w_.shape == (runs, 1)
    assert abs(model.w_.mean().item() - p) < 0.02  # <r u> = p


def test_rw_paradigms_match_the_seed():
    assert simulate("pavlovian", "rw").associations()["s"] == pytest.approx(1.0, abs=1e-3)
    assert simulate("extinction", "rw").associations()["s"] == pytest.approx(0.0, abs=1e-3)
    blocking = simulate("blocking", "rw")
    assert blocking.associations(0)["s2"] == 0.0
    assert blocking.associations()["s1"] == pytest.approx(1.0, abs=1e-3)
    assert abs(blocking.associations()["s2"]) < 1e-6
    inhibitory = simulate("inhibitory", "rw").associations()
    assert inhibitory["s1"] == pytest.approx(1.0, abs=0.02)
    assert inhibitory["s2"] == pytest.approx(-1.0, abs=0.02)
    overshadowing = simulate("overshadowing", "rw").associations()
    assert overshadowing["s1"] == pytest.approx(0.5, abs=1e-3)
    assert overshadowing["s2"] == pytest.approx(0.5, abs=1e-3)


@pytest.mark.parametrize("lam, trace", [(0.0, "accumulating"), (0.5, "accumulating"), (0.5, "replacing")])
def test_secondary_conditioning_fails_under_rw_and_works_under_td(lam, trace):
    rw = simulate("secondary", "rw")
    td = simulate("secondary", "td", lam=lam, trace=trace)
    s2 = rw.stimuli.index("s2")
    assert rw.associations()["s2"] < -0.1 and rw.history[:, s2].max() <= 0
    # under TD s2 gains value from s1; it fades as the unrewarded s1 extinguishes, the
    # faster the larger lambda (lambda = 1 would be Monte Carlo: s2's return is 0)
    assert td.associations()["s2"] > 0.05
    assert td.history[100:, s2].max() > 0.4


def test_td_reproduces_the_rw_successes():
    assert simulate("pavlovian", "td").associations()["s"] == pytest.approx(1.0, abs=0.01)
    blocking = simulate("blocking", "td").associations()
    assert abs(blocking["s2"]) < 0.01
    inhibitory = simulate("inhibitory", "td").associations()
    assert inhibitory["s1"] > 0.8 and inhibitory["s2"] < -0.8


def test_stochastic_paradigm_runs_and_reports():
    result = simulate("pavlovian", "rw", eps=0.05, reward_prob=0.5, trials=400, seed=1)
    assert 0.3 < result.history[-200:, 0].mean() < 0.7
    assert "pavlovian under RW" in result.report()
    assert set(PARADIGMS) >= {"pavlovian", "extinction", "blocking", "inhibitory", "secondary"}


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"eps": 0.0}, "eps: 0.0"),
        ({"eps": 1.5}, "eps: 1.5"),
        ({"model": "td", "gamma": 1.2}, "gamma: 1.2"),
        ({"model": "td", "gamma": -0.1}, "gamma: -0.1"),
        ({"model": "td", "lam": 1.01}, "lambda: 1.01"),
        ({"model": "td", "trace": "dutch"}, "trace: 'dutch'"),
        ({"model": "sarsa"}, "model: 'sarsa'"),
        ({"reward_prob": 2.0}, "reward_prob: 2.0"),
        ({"trials": 0}, "trials: 0"),
    ],
)
def test_bad_parameters_name_the_value(kwargs, field):
    with pytest.raises(ConfigError, match=field.replace("(", r"\(")):
        simulate("pavlovian", **kwargs)


def test_unknown_paradigm():
    with pytest.raises(ConfigError, match="paradigm: 'operant'"):
        simulate("operant")


def test_rw_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="r: shape"):
        RescorlaWagner(0.1).fit(np.ones((5, 2)), np.ones(4))
