import numpy as np
import pytest
import torch

from axon.classic.dbn import DBN
from axon.classic.experiments import load_digits_flat
from axon.classic.xor import train_xor, xor_data
from axon.errors import AxonError

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def digits():
    return load_digits_flat()


def test_mlp_learns_xor_with_the_trainer():
    result = train_xor(hidden=4, epochs=300, lr=0.05, seed=0)
    assert result.accuracy == 1.0
    assert result.history[-1]["train_loss"] < 0.05 < result.history[0]["train_loss"]
    assert "P(XOR = 1)" in result.format_table()
    inputs, targets = xor_data()
    assert targets.tolist() == [0, 1, 1, 0]


def test_dbn_pretraining_initialises_the_mlp(digits):
    model = DBN(hidden_layer_sizes=(32, 16), rbm_n_iter=2, epochs=1)
    rbms = model.pretrain_layers(digits.x_train[:300])
    assert [r.components_.shape for r in rbms] == [(32, 64), (16, 32)]
    mlp = model._build_model(64, 10, rbms)
    assert torch.equal(mlp.layer("dense1").weight.detach(), rbms[0].components_)
    assert torch.equal(mlp.layer("dense2").bias.detach(), rbms[1].intercept_hidden_)
    # the second RBM was trained on the first one's hidden probabilities
    assert rbms[1].n_features_in_ == 32


def test_dbn_classifies_digits_with_and_without_pretraining(digits):
    accuracies = {}
    for pretrain in (True, False):
        model = DBN(hidden_layer_sizes=(64,), pretrain=pretrain, rbm_n_iter=3, epochs=20, random_state=0)
        model.fit(digits.x_train, digits.y_train)
        accuracies[pretrain] = model.score(digits.x_test, digits.y_test)
        assert len(model.history_) == 20
        assert model.predict_proba(digits.x_test[:3]).shape == (3, 10)
        assert len(model.rbms_) == (1 if pretrain else 0)
    assert accuracies[True] > 0.88 and accuracies[False] > 0.85


def test_dbn_bad_input(digits):
    with pytest.raises(AxonError, match=r"X: a DBN .* expects values in \[0, 1\]"):
        DBN().fit(digits.x_train * 16, digits.y_train)
    with pytest.raises(AxonError, match="hidden_layer_sizes: expected one or more positive integers"):
        DBN(hidden_layer_sizes=(10, 0)).fit(digits.x_train, digits.y_train)
    with pytest.raises(AxonError, match="y: expected 5 labels"):
        DBN().fit(digits.x_train[:5], digits.y_train[:4])
    model = DBN(hidden_layer_sizes=(8,), pretrain=False, epochs=1).fit(digits.x_train[:50], digits.y_train[:50])
    with pytest.raises(AxonError, match="X: DBN was fitted with 64 features per sample, got 63"):
        model.predict(np.zeros((2, 63)))


def test_dbn_samples_and_reconstructions(digits):
    model = DBN(hidden_layer_sizes=(32, 16), rbm_n_iter=2, epochs=1, random_state=0)
    model.fit(digits.x_train[:200], digits.y_train[:200])
    samples = model.sample(3, n_steps=10, record_every=5)
    assert samples.shape == (3, 3, 64) and samples.min() >= 0 and samples.max() <= 1
    assert model.sample(2, n_steps=3, start=digits.x_test[:2]).shape == (2, 64)
    assert model.reconstruct(digits.x_test[:4]).shape == (4, 64)
    plain = DBN(hidden_layer_sizes=(8,), pretrain=False, epochs=1).fit(digits.x_train[:50], digits.y_train[:50])
    with pytest.raises(AxonError, match="sample needs the pretrained RBMs"):
        plain.sample(2)


def test_gaussian_dbn_takes_real_data(digits):
    X = (digits.x_train[:200] - digits.x_train[:200].mean(0)) * 3
    model = DBN(hidden_layer_sizes=(16,), visible="gaussian", rbm_n_iter=2, epochs=20, learning_rate=0.03).fit(X, digits.y_train[:200])
    assert model.rbms_[0].visible == "gaussian" and model.score(X, digits.y_train[:200]) > 0.8
