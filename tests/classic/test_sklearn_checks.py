"""scikit-learn's estimator checks (`parametrize_with_checks`) on every classic estimator.

Each instance is small so the whole battery stays cheap. The checks that contradict what a
model is are listed in EXPECTED_FAILURES with the reason; they run as xfail (strict: a
listed check that starts passing fails, so the list stays true)."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.utils.estimator_checks import parametrize_with_checks

from axon.classic import DBN, RBM, BoltzmannMachine, HopfieldNetwork, ModernHopfield, Perceptron, VotingRecognizer

pytestmark = [pytest.mark.usefixtures("single_thread"), pytest.mark.slow]

ESTIMATORS = [
    Perceptron(max_iter=10),
    VotingRecognizer(max_iter=10),
    RBM(n_components=8, n_iter=2, binarize=0.5, random_state=0),
    RBM(n_components=8, n_iter=2, visible="gaussian", learning_rate=0.01, random_state=0),
    DBN(hidden_layer_sizes=(8,), visible="gaussian", rbm_n_iter=2, epochs=20, learning_rate=0.03),
    DBN(hidden_layer_sizes=(8,), binarize=0.5, rbm_n_iter=2, epochs=5),
    HopfieldNetwork(max_sweeps=10),
    HopfieldNetwork(rule="storkey", update="sync", max_sweeps=10),
    HopfieldNetwork(rule="pseudo-inverse", max_sweeps=10),
    ModernHopfield(),
    BoltzmannMachine(n_hidden=1, n_iter=5, n_chains=10, n_clamped=2, track_kl=False),
]

_STATES_NOT_LABELS = (
    "predict returns the recalled states (n_samples, n_features), not one target per sample, which "
    "this check asserts after fitting sparse data (sparse input itself is accepted: test_sparse_input)"
)
_BINARY_INPUTS = (
    "the inputs are binarised at one threshold: the check's two standardised blob features become at most "
    "four distinct inputs, too few to separate three blobs to 83% training accuracy"
)


def expected_failures(estimator) -> dict[str, str]:
    """The checks `estimator` is expected to fail, each with its reason."""
    name = type(estimator).__name__
    if name in ("HopfieldNetwork", "ModernHopfield"):
        return {"check_estimator_sparse_array": _STATES_NOT_LABELS, "check_estimator_sparse_matrix": _STATES_NOT_LABELS}
    if name == "VotingRecognizer" or (name == "DBN" and estimator.binarize is not None):
        return {"check_classifiers_train": _BINARY_INPUTS}
    if name == "RBM" and estimator.visible == "gaussian":
        reason = ("score_samples is the pseudo-likelihood, defined by flipping a binary visible unit: "
                  "a Gaussian RBM raises AxonError there (free_energy is its score)")
        return {"check_methods_sample_order_invariance": reason, "check_methods_subset_invariance": reason}
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures, xfail_strict=True)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", [HopfieldNetwork(), ModernHopfield()], ids=type)
def test_sparse_input(estimator):
    rng = np.random.default_rng(0)
    X = np.where(rng.random((6, 12)) < 0.5, 1.0, -1.0)
    dense = estimator.fit(X).predict(X)
    assert np.array_equal(estimator.fit(sp.csr_matrix(X)).predict(sp.csr_array(X)), dense)
