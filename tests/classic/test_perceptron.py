import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from axon.classic.experiments import load_digits_flat, perceptron_on_gates
from axon.classic.perceptron import Perceptron, VotingRecognizer
from axon.errors import AxonError

pytestmark = pytest.mark.usefixtures("single_thread")


def test_perceptron_learns_and_or_but_not_xor():
    results = perceptron_on_gates(max_iter=30)
    assert results["AND"][1] == 1.0 and results["AND"][0] < 30
    assert results["OR"][1] == 1.0 and results["OR"][0] < 30
    assert results["XOR"][1] < 1.0 and results["XOR"][0] == 30


def test_rosenblatt_update_on_a_mistake():
    # first sample: all scores 0, argmax guesses class index 0 but the target is class 1
    X = np.array([[1.0, 2.0], [3.0, -1.0]])
    model = Perceptron(max_iter=1, shuffle=False, learning_rate=0.5).fit(X, np.array([1, 0]))
    # sample 0 (target 1, all scores 0, guess 0): W0 = -0.5 x0, W1 = 0.5 x0, b = (-0.5, 0.5).
    # sample 1 (target 0): scores (-1, 1), guess 1: W0 += 0.5 x1, W1 -= 0.5 x1, b back to 0.
    assert np.allclose(model.coef_.numpy(), [[1.0, -1.5], [-1.0, 1.5]])
    assert np.allclose(model.intercept_.numpy(), [0.0, 0.0])
    assert model.mistakes_ == [2]


def test_voting_rule_uses_inked_pixels_only():
    X = np.array([[0.9, 0.2, 0.6], [0.1, 0.8, 0.0]])
    model = VotingRecognizer(max_iter=1, shuffle=False).fit(X, np.array([2, 5]))
    # sample 0: inked pixels (0, 2); target class 2 is index 0 = the guess of all-zero scores: no mistake.
    # sample 1: inked pixel 1; scores [0, 0]; guess index 0 (class 2) but target 5: +1 to class 5, -1 to class 2.
    assert model.coef_.tolist() == [[0.0, -1.0, 0.0], [0.0, 1.0, 0.0]]
    assert model.intercept_.tolist() == [0.0, 0.0]


def test_multiclass_perceptron_and_voting_on_digits():
    digits = load_digits_flat()
    perceptron = Perceptron(max_iter=10).fit(digits.x_train, digits.y_train)
    assert perceptron.score(digits.x_test, digits.y_test) > 0.9
    voting = VotingRecognizer(max_iter=10).fit(digits.x_train, digits.y_train)
    assert voting.score(digits.x_test, digits.y_test) > 0.8
    assert voting.coef_.shape == (10, 64)


def test_sklearn_api():
    model = VotingRecognizer(ink_threshold=0.3, max_iter=3)
    assert model.get_params() == {"device": "cpu", "ink_threshold": 0.3, "max_iter": 3, "random_state": 0, "shuffle": True}
    assert clone(model).get_params() == model.get_params()
    rng = np.random.default_rng(0)
    X = rng.random((60, 4))
    y = (X[:, 0] > X[:, 1]).astype(int)
    search = GridSearchCV(Perceptron(), {"max_iter": [1, 5]}, cv=2).fit(X, y)
    assert search.best_params_["max_iter"] in (1, 5)


def test_voting_binarises_at_ink_level_8_of_16():
    # the digits are ink levels 0..16 divided by 16: level 8 (0.5) has ink, level 7 does not
    model = VotingRecognizer()
    assert model._inputs(np.array([[7 / 16, 8 / 16, 16 / 16, 0.0]])).tolist() == [[0.0, 1.0, 1.0, 0.0]]


def test_string_labels_pickle_and_pipeline():
    import pickle

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3)) * 5
    y = np.where(X[:, 0] > 0, "yes", "no")
    model = make_pipeline(MinMaxScaler(), VotingRecognizer(max_iter=5)).fit(X, y)
    assert set(model.predict(X)) <= {"yes", "no"}
    again = pickle.loads(pickle.dumps(model))
    assert np.array_equal(again.predict(X), model.predict(X))
    perceptron = Perceptron().fit(X, y)
    assert perceptron.score(X, y) > 0.9 and perceptron.decision_function(X).shape == (40,)


def test_bad_input():
    X = np.zeros((4, 3))
    with pytest.raises(AxonError, match="y: expected 4 labels"):
        Perceptron().fit(X, [0, 1, 0])
    with pytest.raises(AxonError, match="at least 2 classes"):
        Perceptron().fit(X, [1, 1, 1, 1])
    model = Perceptron(max_iter=2).fit(np.eye(3), [0, 1, 2])
    with pytest.raises(AxonError, match="fitted with 3 features per sample, got 5"):
        model.predict(np.zeros((2, 5)))
    with pytest.raises(AxonError, match="X: Expected 2D array, got 1D array"):
        model.predict(np.zeros(3))
    with pytest.raises(AxonError, match="ink_threshold"):
        VotingRecognizer(ink_threshold=1.5).fit(np.eye(3), [0, 1, 2])
    with pytest.raises(AxonError, match="max_iter: expected a positive integer, got 0"):
        Perceptron(max_iter=0).fit(np.eye(3), [0, 1, 2])
    with pytest.raises(AxonError, match="X: Input X contains NaN"):
        Perceptron().fit(np.array([[np.nan, 1.0], [0.0, 1.0]]), [0, 1])
