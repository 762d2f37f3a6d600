import numpy as np
import pytest
import torch

from axon.classic.boltzmann import BoltzmannMachine, all_binary_states, bars_and_stripes
from axon.classic._checks import NotFittedError
from axon.errors import AxonError

pytestmark = pytest.mark.usefixtures("single_thread")


def test_bars_and_stripes():
    data = bars_and_stripes(3)
    assert data.shape == (14, 9)
    assert len({tuple(row) for row in data.tolist()}) == 14
    grids = data.reshape(-1, 3, 3)
    for grid in grids:
        rows_constant = bool((grid == grid[:, :1]).all())
        cols_constant = bool((grid == grid[:1, :]).all())
        assert rows_constant or cols_constant


def random_machine(n_visible=3, n_hidden=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    n = n_visible + n_hidden
    couplings = torch.randn(n, n, generator=gen, dtype=torch.float64)
    couplings = couplings + couplings.T
    couplings.fill_diagonal_(0)
    machine = BoltzmannMachine(n_hidden=n_hidden)
    machine.couplings_, machine.biases_ = couplings, torch.randn(n, generator=gen, dtype=torch.float64)
    machine.n_features_in_ = n_visible
    return machine


def test_log_likelihood_is_exact():
    machine = random_machine()
    states = all_binary_states(5)
    weights = torch.exp(-machine.energy(states))
    p_visible = weights.reshape(8, 4).sum(1) / weights.sum()  # visible bits vary slowest
    data = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    expected = torch.log(p_visible[[5, 0]]).mean()
    assert machine.log_likelihood(data) == pytest.approx(float(expected), rel=1e-10)


def test_learning_rule_is_the_likelihood_gradient():
    """Clamped minus free correlations equal the finite-difference gradient (float64)."""
    machine = random_machine()
    data = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    grad_w, grad_b = machine.gradient(data)
    eps = 1e-6
    base_w, base_b = machine.couplings_.clone(), machine.biases_.clone()
    for i, j in [(0, 1), (0, 3), (3, 4), (2, 4)]:  # visible-visible, visible-hidden, hidden-hidden
        values = []
        for sign in (1, -1):
            machine.couplings_ = base_w.clone()
            machine.couplings_[i, j] += sign * eps
            machine.couplings_[j, i] += sign * eps
            values.append(machine.log_likelihood(data))
        assert grad_w[i, j].item() == pytest.approx((values[0] - values[1]) / (2 * eps), abs=1e-6)
    machine.couplings_ = base_w
    for i in (0, 4):
        values = []
        for sign in (1, -1):
            machine.biases_ = base_b.clone()
            machine.biases_[i] += sign * eps
            values.append(machine.log_likelihood(data))
        assert grad_b[i].item() == pytest.approx((values[0] - values[1]) / (2 * eps), abs=1e-6)


@pytest.mark.parametrize("statistics", ["gibbs", "exact"])
def test_kl_divergence_falls_on_bars_and_stripes(statistics):
    data = bars_and_stripes(3)
    machine = BoltzmannMachine(n_hidden=3, learning_rate=0.5, n_iter=120, statistics=statistics, n_chains=100,
                               gibbs_sweeps=2).fit(data)
    kl = machine.kl_history_
    assert kl[0] > 2.5
    assert kl[-1] < 0.4 * kl[0]
    assert machine.kl_divergence(data) == pytest.approx(kl[-1])
    assert machine.couplings_.shape == (12, 12)
    assert torch.equal(machine.couplings_, machine.couplings_.T)
    assert torch.all(machine.couplings_.diagonal() == 0)


def test_samples_follow_the_learned_distribution():
    data = bars_and_stripes(2)  # 6 patterns on 4 units
    machine = BoltzmannMachine(n_hidden=2, n_iter=300, statistics="exact").fit(data)
    samples = machine.sample(400, sweeps=20, random_state=1)
    patterns = {tuple(row) for row in data.tolist()}
    share = np.mean([tuple(row) in patterns for row in samples.tolist()])
    assert share > 0.8


def test_inputs_are_binarised_at_the_threshold():
    data = np.array([[0.0, 0.5, 1.0], [0.49, 1.0, 0.0]])
    machine = BoltzmannMachine(n_iter=1, statistics="exact").fit(data)
    binary = BoltzmannMachine(n_iter=1, statistics="exact").fit((data >= 0.5).astype(float))
    assert np.array_equal(machine.couplings_.numpy(), binary.couplings_.numpy())
    high = BoltzmannMachine(n_iter=1, statistics="exact", threshold=0.8).fit(data)
    assert high.kl_divergence(data) == pytest.approx(high.kl_divergence((data >= 0.8).astype(float)))


def test_boltzmann_bad_input():
    with pytest.raises(NotFittedError, match="BoltzmannMachine: call fit before sample"):
        BoltzmannMachine().sample(3)
    with pytest.raises(AxonError, match="exact enumeration needs at most 20 units, got 30 visible \\+ 4 hidden = 34"):
        BoltzmannMachine().fit(np.zeros((2, 30)))
    machine = BoltzmannMachine(n_iter=2).fit(np.array([[0, 1, 1], [1, 0, 0]]))
    with pytest.raises(AxonError, match="X: BoltzmannMachine was fitted with 3 features per sample, got 2"):
        machine.kl_divergence(np.array([[0, 1]]))
    with pytest.raises(AxonError, match="statistics: expected one of gibbs, exact"):
        BoltzmannMachine(statistics="mean-field").fit(np.array([[0, 1]]))
    with pytest.raises(AxonError, match="n_hidden: expected a non-negative integer"):
        BoltzmannMachine(n_hidden=-1).fit(np.array([[0, 1]]))
