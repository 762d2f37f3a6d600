import math

import numpy as np
import pytest
import torch

from axon.classic.capacity import ags_overlap, capacity_curve
from axon.classic.hopfield import (
    HopfieldNetwork,
    corrupt,
    couplings_for,
    energy,
    hebbian_couplings,
    overlap,
    pseudo_inverse_couplings,
    run_async,
    storkey_couplings,
)
from axon.classic.modern_hopfield import ModernHopfield, retrieval_experiment
from axon.classic._checks import NotFittedError
from axon.errors import AxonError

pytestmark = pytest.mark.usefixtures("single_thread")


def random_patterns(p, n, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, (p, n), generator=gen).float() * 2 - 1


def test_hebbian_couplings_match_the_definition():
    xi = random_patterns(3, 7)
    J = hebbian_couplings(xi)
    for i in range(7):
        for j in range(7):
            expected = 0.0 if i == j else sum(float(xi[mu, i] * xi[mu, j]) for mu in range(3)) / 7
            assert J[i, j].item() == pytest.approx(expected)


def test_energy_never_increases_under_asynchronous_updates():
    # high load (alpha = 0.3) so the dynamics wander for several sweeps
    xi = random_patterns(30, 100)
    J = hebbian_couplings(xi)
    states = random_patterns(8, 100, seed=1)
    gen = torch.Generator().manual_seed(0)
    previous = energy(J, states)
    for _ in range(10):
        states, _ = run_async(J, states, 1, gen)
        current = energy(J, states)
        assert torch.all(current <= previous + 1e-4)
        previous = current


def test_every_single_flip_lowers_energy():
    # the local field argument: flipping S_i to sign(a_i) changes H by -|a_i| * |dS_i| / 1 <= 0
    xi = random_patterns(20, 50)
    J = hebbian_couplings(xi).double()
    state = random_patterns(1, 50, seed=3).double()[0]
    for i in range(50):
        field = float(J[i] @ state)
        new = state.clone()
        new[i] = 1.0 if field > 0 else (-1.0 if field < 0 else state[i])
        assert float(energy(J, new[None])) <= float(energy(J, state[None])) + 1e-12
        state = new


def test_stored_patterns_are_fixed_points_at_low_load():
    xi = random_patterns(5, 200)
    for update in ("async", "sync"):
        net = HopfieldNetwork(update=update).fit(xi)
        final, sweeps = net.run(xi)
        assert torch.equal(final, xi) and sweeps == 1
        assert np.array_equal(net.predict(xi), xi.numpy())
    # energy of a memory is about -N/2
    assert float(HopfieldNetwork().fit(xi).energy(xi).mean()) == pytest.approx(-100, rel=0.1)


def test_recall_from_corrupted_cues():
    xi = random_patterns(8, 200)
    gen = torch.Generator().manual_seed(5)
    cues = corrupt(xi, 0.25, gen)
    assert torch.all((cues != xi).sum(1) == 50)
    for update in ("async", "sync"):
        net = HopfieldNetwork(update=update).fit(xi)
        assert float(overlap(net.recall(cues), xi).min()) == 1.0
        assert net.score(cues, xi) == 1.0
        assert net.score(cues, np.arange(8)) == 1.0  # targets given as stored-pattern indices


def test_inputs_are_binarised_at_the_threshold():
    spins = np.array([[1.0, -1.0, 1.0, -1.0]])
    zero_one = np.array([[1.0, 0.0, 1.0, 0.0]])
    for patterns in (spins, zero_one, np.array([[0.9, 0.2, 0.5, 0.49]])):
        assert np.array_equal(HopfieldNetwork().fit(patterns).patterns_.numpy(), spins)
    net = HopfieldNetwork(threshold=0.0).fit(np.array([[0.3, -0.2, 0.0, -5.0]]))
    assert np.array_equal(net.patterns_.numpy(), spins)


def test_hopfield_bad_input():
    net = HopfieldNetwork().fit(np.array([[1, -1, 1, 1]]))
    with pytest.raises(AxonError, match="cues: HopfieldNetwork was fitted with 4 features per sample, got 3"):
        net.recall(np.array([[1, -1, 1]]))
    with pytest.raises(AxonError, match="rule: expected one of hebb, storkey, pseudo-inverse, got 'oja'"):
        HopfieldNetwork(rule="oja").fit(np.array([[1, -1]]))
    with pytest.raises(AxonError, match="temperature: expected a number >= 0, got -1"):
        net.set_params(temperature=-1).recall(np.array([[1, -1, 1, 1]]))
    net.set_params(temperature=0.0)
    with pytest.raises(AxonError, match=r"y: expected indices of stored patterns in \[0, 1\)"):
        net.score(np.array([[1, -1, 1, 1]]), np.array([3]))
    with pytest.raises(AxonError, match="update: expected one of async, sync, got 'random'"):
        HopfieldNetwork(update="random").fit(np.array([[1, -1]])).recall(np.array([[1, 1]]))
    with pytest.raises(AxonError, match="y: expected one target per cue"):
        net.score(np.array([[1, -1, 1, 1]]), np.array([[1, -1, 1, 1], [1, 1, 1, 1]]))
    with pytest.raises(NotFittedError, match="call fit"):
        HopfieldNetwork().recall(np.array([[1, -1]]))


def test_theory_overlap():
    assert ags_overlap(0.05) > 0.999
    assert ags_overlap(0.137) == pytest.approx(0.97, abs=0.01)  # m just below alpha_c ~ 0.967
    assert ags_overlap(0.139) == 0.0
    assert ags_overlap(0.2) == 0.0
    # the retrieval solution satisfies m = erf(y), y (sqrt(2 alpha) + 2/sqrt(pi) exp(-y^2)) = m
    m = ags_overlap(0.1)
    y = torch.special.erfinv(torch.tensor(m, dtype=torch.float64)).item()
    assert y * (math.sqrt(0.2) + 2 / math.sqrt(math.pi) * math.exp(-y * y)) == pytest.approx(m, abs=1e-6)


def test_capacity_curve_collapses_above_alpha_c():
    result = capacity_curve([200], [0.05, 0.3], trials=2, cues=4, max_sweeps=20)
    low, high = result.overlaps[0]
    assert low > 0.99 and result.perfect[0][0] > 0.5
    assert high < 0.6


def test_modern_update_matches_formula_and_lowers_energy():
    X = torch.randn(50, 16, dtype=torch.float64)
    net = ModernHopfield(beta=0.5).fit(X)
    query = torch.randn(3, 16)
    expected = torch.softmax(0.5 * query.double() @ X.T, dim=1) @ X
    assert torch.allclose(net.retrieve(query).double(), expected, atol=1e-5)
    state = query
    for _ in range(5):
        new = net.retrieve(state)
        assert torch.all(net.energy(new) <= net.energy(state) + 1e-4)
        state = new


def test_modern_network_stores_far_more_patterns_than_n():
    result = retrieval_experiment(dim=64, n_patterns=[1024], betas=[0.01, 1.0], flip_fraction=0.1, queries=50)
    hot, cold = result.success[0]
    assert cold == 1.0  # 1024 = 16 N patterns, every corrupted cue retrieved exactly
    assert hot < 0.5  # at high temperature the update averages many patterns
    many = random_patterns(64, 64)
    assert HopfieldNetwork().fit(many).score(many) < 0.9  # the classical network holds ~0.14 N


def test_modern_bad_input():
    net = ModernHopfield().fit(np.zeros((3, 4)))
    with pytest.raises(AxonError, match="queries: ModernHopfield was fitted with 4 features per sample, got 2"):
        net.retrieve(np.zeros((1, 2)))
    with pytest.raises(AxonError, match="beta: expected a positive number, got -1"):
        ModernHopfield(beta=-1).fit(np.zeros((3, 4))).retrieve(np.zeros((1, 4)))


def test_capacity_groups_give_the_same_result():
    # one load per group (tiny memory budget) against all loads in one batch: same networks, same recall
    whole = capacity_curve([40], [0.05, 0.2, 0.3], trials=2, cues=2, max_sweeps=10, seed=3)
    grouped = capacity_curve([40], [0.05, 0.2, 0.3], trials=2, cues=2, max_sweeps=10, seed=3, max_bytes=1)
    assert grouped.overlaps[0] == pytest.approx(whole.overlaps[0])
    assert whole.overlaps[0][0] == 1.0 and whole.overlaps[0][2] < 1.0


def test_storkey_rule_matches_its_definition():
    xi = random_patterns(4, 9, seed=7).double()
    n = 9
    J = torch.zeros(n, n, dtype=torch.float64)
    for mu in range(4):
        new = J.clone()
        for i in range(n):
            for j in range(n):
                h_ij = sum(float(J[i, k] * xi[mu, k]) for k in range(n) if k not in (i, j))
                h_ji = sum(float(J[j, k] * xi[mu, k]) for k in range(n) if k not in (i, j))
                new[i, j] += (xi[mu, i] * xi[mu, j] - xi[mu, i] * h_ji - h_ij * xi[mu, j]) / n
        new.fill_diagonal_(0)
        J = new
    assert torch.allclose(storkey_couplings(xi), J)
    assert torch.allclose(J, J.T)


def test_pseudo_inverse_and_storkey_hold_more_than_hebb():
    xi = random_patterns(30, 100, seed=2)  # alpha = 0.3, far above Hebb's 0.138
    stable = {rule: float((torch.sign(xi @ couplings_for(rule, xi)) == xi).all(1).float().mean())
              for rule in ("hebb", "storkey", "pseudo-inverse")}
    assert stable["pseudo-inverse"] == 1.0  # the projection rule makes every pattern a fixed point
    assert stable["storkey"] > stable["hebb"] + 0.3
    assert stable["hebb"] < 0.2
    J = pseudo_inverse_couplings(xi.double())
    assert torch.allclose(J, J.T, atol=1e-9)


@pytest.mark.slow
def test_glauber_dynamics_follow_mean_field_theory():
    xi = random_patterns(1, 1000, seed=4)
    for temperature, m_star in ((0.5, 0.9575), (0.8, 0.7104), (1.5, 0.0)):
        net = HopfieldNetwork(temperature=temperature, max_sweeps=20, random_state=1).fit(xi)
        m = float(overlap(net.recall(xi.repeat(4, 1)), xi).mean())
        assert m == pytest.approx(m_star, abs=0.05)  # m = tanh(m / T)


def test_recorded_energy_trace():
    xi = random_patterns(10, 60, seed=5)
    net = HopfieldNetwork(max_sweeps=5).fit(xi)
    cue = corrupt(xi[:2], 0.3, torch.Generator().manual_seed(0))
    trace, states = [], []
    final, sweeps = net.run(cue, on_update=lambda s, e: (trace.append(e), states.append(s.clone())))
    energies = torch.stack(trace)  # (updates, cues)
    assert torch.allclose(energies[7], energy(net.couplings_, states[7]), atol=1e-4)
    assert energies.shape == (sweeps * 60, 2)
    assert torch.all(energies[1:] <= energies[:-1] + 1e-5)
    assert torch.allclose(energies[-1], net.energy(final), atol=1e-4)
