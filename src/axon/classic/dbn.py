"""Deep belief network classifier (Hinton, Osindero and Teh 2006; seed 001): a stack of
RBMs pretrained greedily, layer by layer (each RBM learns the hidden probabilities of the
one below), then converted into an axon MLP (classic.mlp.sigmoid_mlp, each hidden
Dense layer initialised from its RBM's weights and hidden biases, a fresh output layer)
and fine-tuned by backpropagation with axon's Trainer."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin

from axon import Trainer
from axon.classic._checks import (
    AcceptsSparse,
    as_labels,
    as_matrix,
    binarize,
    check_binarize,
    check_fitted,
    check_n_features,
    check_positive,
    check_unit_interval,
)
from axon.classic.mlp import sigmoid_mlp
from axon.classic.rbm import RBM, VISIBLE_UNITS
from axon.errors import AxonError


class DBN(AcceptsSparse, ClassifierMixin, BaseEstimator):
    """DBN classifier for data in [0, 1].

    Parameters: `hidden_layer_sizes` units per hidden layer; `visible` the first RBM's
    visible units, "bernoulli" (data in [0, 1]) or "gaussian" (real data, standardised
    per feature, e.g. with StandardScaler; the first RBM then uses a learning rate ten
    times smaller); `binarize` None (Bernoulli data must lie in [0, 1]) or a threshold t
    (inputs become 1 where >= t, else 0); `pretrain` (False trains the
    same MLP from axon.nn.Dense's default initialisation, the baseline); RBM pretraining with
    `rbm_n_iter` epochs, `rbm_learning_rate`, `rbm_batch_size`, `rbm_k` Gibbs steps and
    `rbm_persistent`; fine-tuning with `epochs`, `learning_rate` (AdamW), `batch_size`;
    `random_state`; `device`; `verbose` shows each RBM's epochs and the Trainer's progress.

    Learned: `rbms_` (the pretrained RBMs, empty without pretraining), `model_` (the axon
    MLP, (n, n_features) -> (n, n_classes) logits), `classes_`, `history_` (the Trainer's
    per-epoch metrics), `n_features_in_`."""

    def __init__(self, hidden_layer_sizes=(256, 128), visible="bernoulli", binarize=None, pretrain=True, rbm_n_iter=10, rbm_learning_rate=0.05,
                 rbm_batch_size=10, rbm_k=1, rbm_persistent=False, epochs=30, learning_rate=3e-3, batch_size=64,
                 random_state=0, device="cpu", verbose=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.visible = visible
        self.binarize = binarize
        self.pretrain = pretrain
        self.rbm_n_iter = rbm_n_iter
        self.rbm_learning_rate = rbm_learning_rate
        self.rbm_batch_size = rbm_batch_size
        self.rbm_k = rbm_k
        self.rbm_persistent = rbm_persistent
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _inputs(self, X, name: str = "X") -> torch.Tensor:
        if self.visible not in VISIBLE_UNITS:
            raise AxonError(f"visible: expected one of {', '.join(VISIBLE_UNITS)}, got {self.visible!r}")
        check_binarize(self.binarize, self.visible)
        data = as_matrix(X, name, self.device)
        if self.visible == "gaussian":
            return data
        if self.binarize is not None:
            return binarize(data, self.binarize, 0.0)
        check_unit_interval(data, name, "a DBN (its first RBM has Bernoulli visible units)")
        return data

    def pretrain_layers(self, X) -> list[RBM]:
        """Greedy layer-wise pretraining: one RBM per hidden layer, each fitted to the hidden
        probabilities of the previous one. X: (n_samples, n_features) in [0, 1]."""
        layer_input = self._inputs(X)
        rbms = []
        for index, size in enumerate(self.hidden_layer_sizes):
            gaussian = index == 0 and self.visible == "gaussian"
            rbm = RBM(n_components=size, visible="gaussian" if gaussian else "bernoulli",
                      learning_rate=self.rbm_learning_rate / 10 if gaussian else self.rbm_learning_rate, batch_size=self.rbm_batch_size,
                      n_iter=self.rbm_n_iter, k=self.rbm_k, persistent=self.rbm_persistent,
                      random_state=None if self.random_state is None else self.random_state + index, device=self.device,
                      verbose=self.verbose)
            rbm.fit(layer_input)
            rbms.append(rbm)
            layer_input = rbm._hidden_probs(layer_input)
        return rbms

    def _build_model(self, n_features: int, n_classes: int, rbms: list[RBM]) -> torch.nn.Module:
        if self.random_state is not None:
            torch.manual_seed(self.random_state)
        model = sigmoid_mlp(n_features, tuple(self.hidden_layer_sizes), n_classes)
        with torch.no_grad():
            for index, rbm in enumerate(rbms, start=1):
                dense = model.layer(f"dense{index}")
                dense.weight.copy_(rbm.components_)
                dense.bias.copy_(rbm.intercept_hidden_)
        return model

    def fit(self, X, y):
        """Pretrain (when `pretrain`) and fine-tune on X (n_samples, n_features) in [0, 1]
        and class labels y (n_samples,)."""
        sizes = tuple(self.hidden_layer_sizes)
        if not sizes or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s <= 0 for s in sizes):
            raise AxonError(f"hidden_layer_sizes: expected one or more positive integers, got {self.hidden_layer_sizes!r}")
        for name in ("epochs", "batch_size"):
            check_positive(getattr(self, name), name, integer=True)
        check_positive(self.learning_rate, "learning_rate")
        data = self._inputs(X)
        classes, targets = as_labels(y, data.shape[0])
        targets = targets.to(self.device)
        self.rbms_ = self.pretrain_layers(data) if self.pretrain else []
        self.model_ = self._build_model(data.shape[1], classes.size, self.rbms_)
        trainer = Trainer(self.model_, epochs=self.epochs, batch_size=self.batch_size, lr=self.learning_rate,
                          optimizer="adamw", loss="cross_entropy", seed=self.random_state, device=self.device,
                          progress=self.verbose, data_wait_warning=None)  # in-memory tensors
        self.history_ = trainer.fit((data, targets))
        self.classes_ = classes
        self.n_features_in_ = data.shape[1]
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities: (n_samples, n_classes)."""
        check_fitted(self, "model_", "predict")
        data = self._inputs(X)
        check_n_features(data, self.n_features_in_, "X", "DBN")
        self.model_.eval()
        with torch.no_grad():
            return torch.softmax(self.model_(data), dim=1).cpu().numpy()

    def predict(self, X) -> np.ndarray:
        """The most probable class of each sample: (n_samples,)."""
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]

    # ----- the generative model: the pretrained stack
    def _stack(self, action: str) -> list[RBM]:
        check_fitted(self, "model_", action)
        if not self.rbms_:
            raise AxonError(f"DBN: {action} needs the pretrained RBMs, but this DBN was fitted with pretrain=False")
        return self.rbms_

    def _down(self, top_visible: torch.Tensor, rbms: list[RBM]) -> torch.Tensor:
        """Mean-field top-down pass from the top RBM's visible layer to the data:
        (..., n_top_visible) -> (..., n_features)."""
        x = top_visible.reshape(-1, top_visible.shape[-1])
        for rbm in reversed(rbms[:-1]):
            x = rbm._visible_mean(x)
        return x.reshape(top_visible.shape[:-1] + (x.shape[-1],))

    def _up(self, data: torch.Tensor, rbms: list[RBM]) -> torch.Tensor:
        """Hidden probabilities of every RBM below the top one: (n, n_features) -> (n, n_top_visible)."""
        for rbm in rbms[:-1]:
            data = rbm._hidden_probs(data)
        return data

    def reconstruct(self, X) -> np.ndarray:
        """Mean-field reconstructions through the whole pretrained stack (up to the top
        hidden layer and back down): (n_samples, n_features)."""
        rbms = self._stack("reconstruct")
        data = self._inputs(X)
        check_n_features(data, self.n_features_in_, "X", "DBN")
        top = rbms[-1]
        top_visible = top._visible_mean(top._hidden_probs(self._up(data, rbms)))
        return self._down(top_visible, rbms).cpu().numpy()

    def sample(self, n_samples: int = 16, n_steps: int = 1000, start=None, record_every: int | None = None,
               random_state=None) -> np.ndarray:
        """Samples of the DBN as a generative model (Hinton, Osindero and Teh 2006): Gibbs
        chains in the top RBM (from noise, or from the rows of `start` carried up the
        stack), then one mean-field pass down to the data. Arguments and shapes as
        RBM.sample, in data space: (n, n_features) or (records, n, n_features)."""
        rbms = self._stack("sample")
        if start is not None:
            data = self._inputs(start, "start")
            check_n_features(data, self.n_features_in_, "start", "DBN")
            start = self._up(data, rbms)
        top = rbms[-1].sample(n_samples, n_steps, start=start, record_every=record_every, random_state=random_state)
        return self._down(torch.as_tensor(top, device=rbms[-1].components_.device), rbms).cpu().numpy()
