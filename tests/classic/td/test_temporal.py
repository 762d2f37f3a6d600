import pytest
import torch

from axon.classic.td.temporal import NaiveTemporalRW, TemporalDifference, delay_line
from axon.errors import ConfigError


def test_delay_line_shifts_each_stimulus():
    u = torch.zeros(6, 2)
    u[1, 0] = 1.0
    u[3, 1] = 2.0
    x = delay_line(u, 3).view(6, 2, 3)
    for t in range(6):
        for k in range(3):
            expected = u[t - k] if t - k >= 0 else torch.zeros(2)
            torch.testing.assert_close(x[t, :, k], expected.double())


def _reference_online(w, x, r, eps, gamma, lam, trace):
    """The equations written out with Python loops, one feature at a time."""
    w = [float(v) for v in w]
    e = [0.0] * len(w)
    T, n = x.shape
    deltas = []
    for t in range(T):
        v = sum(w[i] * float(x[t, i]) for i in range(n))
        nxt = sum(w[i] * float(x[t + 1, i]) for i in range(n)) if t + 1 < T else 0.0
        delta = float(r[t]) + gamma * nxt - v
        for i in range(n):
            if trace == "accumulating":
                e[i] = gamma * lam * e[i] + float(x[t, i])
            else:
                e[i] = float(x[t, i]) if x[t, i] != 0 else gamma * lam * e[i]
        for i in range(n):
            w[i] += eps * delta * e[i]
        deltas.append(delta)
    return torch.tensor(w, dtype=torch.float64), torch.tensor(deltas, dtype=torch.float64)


def _reference_offline(w, x, r, eps, gamma, lam, trace):
    T, n = x.shape
    v = [sum(float(w[i]) * float(x[t, i]) for i in range(n)) for t in range(T)] + [0.0]
    e = [0.0] * n
    dw = [0.0] * n
    for t in range(T):
        delta = float(r[t]) + gamma * v[t + 1] - v[t]
        for i in range(n):
            if trace == "accumulating":
                e[i] = gamma * lam * e[i] + float(x[t, i])
            else:
                e[i] = float(x[t, i]) if x[t, i] != 0 else gamma * lam * e[i]
            dw[i] += eps * delta * e[i]
    return torch.tensor([float(w[i]) + dw[i] for i in range(n)], dtype=torch.float64)


@pytest.mark.parametrize("trace", ["accumulating", "replacing"])
@pytest.mark.parametrize("lam", [0.0, 0.6, 1.0])
def test_trial_matches_the_written_out_equations(trace, lam):
    gen = torch.Generator().manual_seed(1)
    x = (torch.rand(9, 4, generator=gen) < 0.4).double() * torch.rand(9, 4, generator=gen)
    r = torch.randn(9, generator=gen, dtype=torch.float64)
    w0 = torch.randn(4, generator=gen, dtype=torch.float64)
    online = TemporalDifference(0.3, 0.9, lam, trace, online=True)
    w, delta, _ = online.trial(w0, x, r)
    w_ref, delta_ref = _reference_online(w0, x, r, 0.3, 0.9, lam, trace)
    torch.testing.assert_close(w, w_ref)
    torch.testing.assert_close(delta, delta_ref)
    offline = TemporalDifference(0.3, 0.9, lam, trace, online=False)
    torch.testing.assert_close(offline.trial(w0, x, r)[0], _reference_offline(w0, x, r, 0.3, 0.9, lam, trace))


def test_offline_td1_is_monte_carlo():
    gen = torch.Generator().manual_seed(2)
    x = torch.rand(7, 3, generator=gen, dtype=torch.float64)
    r = torch.randn(7, generator=gen, dtype=torch.float64)
    w0 = torch.randn(3, generator=gen, dtype=torch.float64)
    w, _, v = TemporalDifference(0.1, 1.0, 1.0, online=False).trial(w0, x, r)
    returns = r.flip(0).cumsum(0).flip(0)  # G_t = sum of rewards from t on
    torch.testing.assert_close(w, w0 + 0.1 * ((returns - v).unsqueeze(1) * x).sum(0))


def test_online_equals_offline_for_a_serial_compound():
    u = torch.zeros(30, 1)
    u[5, 0] = 1.0
    x = delay_line(u, 25).expand(40, 30, 25)
    r = torch.zeros(40, 30)
    r[:, 20] = 1.0
    a = TemporalDifference(0.4, online=True).fit(x, r)
    b = TemporalDifference(0.4, online=False).fit(x, r)
    torch.testing.assert_close(a.history_, b.history_)
    torch.testing.assert_close(a.deltas_, b.deltas_)


def test_naive_rw_predicts_only_the_current_reward():
    x = torch.eye(3).double().unsqueeze(0).expand(200, 3, 3)
    r = torch.zeros(200, 3)
    r[:, 2] = 1.0
    model = NaiveTemporalRW(0.3).fit(x, r)
    torch.testing.assert_close(model.w_, torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64))
    td = TemporalDifference(0.3).fit(x, r)  # TD carries the reward back to earlier steps
    torch.testing.assert_close(td.w_, torch.ones(3, dtype=torch.float64), atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"eps": 0}, "eps"), ({"gamma": 2}, "gamma"), ({"lam": -1}, "lambda"), ({"trace": "x"}, "trace")],
)
def test_bad_parameters(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        TemporalDifference(**kwargs)


def test_fit_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="expected"):
        TemporalDifference().fit(torch.zeros(2, 5, 3), torch.zeros(2, 4))
