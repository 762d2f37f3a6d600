import numpy as np
import pytest
import torch

from axon.classic.capacity import capacity_curve
from axon.classic.hopfield_states import (
    KINDS,
    attractor_census,
    classify,
    mean_field_overlap,
    random_patterns,
    recall_trace,
    temperature_sweep,
)
from axon.errors import AxonError

pytestmark = pytest.mark.usefixtures("single_thread")


def test_recall_trace_descends_to_the_stored_pattern():
    trace = recall_trace(n_neurons=100, n_patterns=3, flip_fraction=0.3, sweeps=3, frames=4)
    assert trace.overlaps[0] == pytest.approx(0.4) and trace.overlaps[-1] == 1.0
    assert np.array_equal(trace.frames[0] != trace.pattern, np.abs(trace.frames[0] - trace.pattern) == 2)
    assert np.all(np.diff(trace.energies) <= 1e-4)
    assert trace.energies[-1] == pytest.approx(trace.stored_energy, abs=1e-3)
    assert trace.frames.shape[1] == 100 and len(trace.energies) - 1 <= 3 * 100


def test_mean_field_theory():
    assert mean_field_overlap(0.5) == pytest.approx(0.9575, abs=1e-4)
    assert mean_field_overlap(0.5) == pytest.approx(np.tanh(mean_field_overlap(0.5) / 0.5))
    assert mean_field_overlap(1.2) == 0.0


def test_temperature_sweep_melts_patterns():
    sweep = temperature_sweep((0.2, 1.6), n_neurons=200, n_patterns=3, starts=2, sweeps=9)
    assert sweep.pattern[0] > 0.9 and abs(sweep.pattern[1]) < 0.3
    assert abs(sweep.mixture[1]) < 0.3
    with pytest.raises(AxonError, match="n_patterns: expected an integer >= 3"):
        temperature_sweep((0.5,), n_patterns=2)


def test_classify_kinds():
    gen = torch.Generator().manual_seed(0)
    xi = random_patterns(5, 300, gen)
    mixture = torch.sign(xi[0] - xi[2] + xi[4])
    states = torch.stack([xi[3], -xi[1], mixture, -mixture, random_patterns(1, 300, gen)[0]])
    assert [KINDS[k] for k in classify(states, xi)] == [
        "stored pattern", "reversed pattern", "mixture", "mixture", "other spurious"]


def test_attractor_census_fractions():
    census = attractor_census(n_neurons=60, n_patterns=(1, 3), starts=10, max_sweeps=10)
    assert census.fractions.shape == (2, 4)
    assert np.allclose(census.fractions.sum(1), 1.0)
    assert census.fractions[0, 0] + census.fractions[0, 1] == 1.0  # one pattern: it or its reversal


def test_capacity_curve_by_rule():
    hebb = capacity_curve([100], [0.3], trials=2, cues=4, max_sweeps=10, rule="hebb").overlaps[0][0]
    projection = capacity_curve([100], [0.3], trials=2, cues=4, max_sweeps=10, rule="pseudo-inverse").overlaps[0][0]
    assert projection == 1.0 and hebb < 0.9
    with pytest.raises(AxonError, match="rule: expected one of"):
        capacity_curve([10], [0.1], rule="oja")
