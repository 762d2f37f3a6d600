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
from axon.classic._checks import as_labels, as_matrix, check_n_features, check_positive, check_unit_interval
from axon.classic.mlp import sigmoid_mlp
from axon.classic.rbm import RBM
from axon.errors import AxonError


class DBN(ClassifierMixin, BaseEstimator):
    """DBN classifier for data in [0, 1].

    Parameters: `hidden_layer_sizes` units per hidden layer; `pretrain` (False trains the
    same MLP from axon.nn.Dense's default initialisation, the baseline); RBM pretraining with
    `rbm_n_iter` epochs, `rbm_learning_rate`, `rbm_batch_size`, `rbm_k` Gibbs steps and
    `rbm_persistent`; fine-tuning with `epochs`, `learning_rate` (AdamW), `batch_size`;
    `random_state`; `device`; `verbose` shows each RBM's epochs and the Trainer's progress.

    Learned: `rbms_` (the pretrained RBMs, empty without pretraining), `model_` (the axon
    MLP, (n, n_features) -> (n, n_classes) logits), `classes_`, `history_` (the Trainer's
    per-epoch metrics), `n_features_in_`."""

    def __init__(self, hidden_layer_sizes=(256, 128), pretrain=True, rbm_n_iter=10, rbm_learning_rate=0.05,
                 rbm_batch_size=10, rbm_k=1, rbm_persistent=False, epochs=30, learning_rate=3e-3, batch_size=64,
                 random_state=0, device="cpu", verbose=False):
        self.hidden_layer_sizes = hidden_layer_sizes
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

    def _inputs(self, X) -> torch.Tensor:
        data = as_matrix(X, "X", self.device)
        check_unit_interval(data, "X", "a DBN (its first RBM has Bernoulli visible units)")
        return data

    def pretrain_layers(self, X) -> list[RBM]:
        """Greedy layer-wise pretraining: one RBM per hidden layer, each fitted to the hidden
        probabilities of the previous one. X: (n_samples, n_features) in [0, 1]."""
        layer_input = self._inputs(X)
        rbms = []
        for index, size in enumerate(self.hidden_layer_sizes):
            rbm = RBM(n_components=size, learning_rate=self.rbm_learning_rate, batch_size=self.rbm_batch_size,
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
        labels = as_labels(y, data.shape[0], device=self.device)
        classes, targets = torch.unique(labels, return_inverse=True)
        if classes.numel() < 2:
            raise AxonError(f"y: expected at least 2 classes, got {classes.numel()}")
        self.rbms_ = self.pretrain_layers(data) if self.pretrain else []
        self.model_ = self._build_model(data.shape[1], classes.numel(), self.rbms_)
        trainer = Trainer(self.model_, epochs=self.epochs, batch_size=self.batch_size, lr=self.learning_rate,
                          optimizer="adamw", loss="cross_entropy", seed=self.random_state, device=self.device,
                          progress=self.verbose, data_wait_warning=None)  # in-memory tensors
        self.history_ = trainer.fit((data, targets))
        self.classes_ = classes.cpu().numpy()
        self.n_features_in_ = data.shape[1]
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities: (n_samples, n_classes)."""
        if not hasattr(self, "model_"):
            raise AxonError("DBN: call fit before predict")
        data = self._inputs(X)
        check_n_features(data, self.n_features_in_, "X", "DBN")
        self.model_.eval()
        with torch.no_grad():
            return torch.softmax(self.model_(data), dim=1).cpu().numpy()

    def predict(self, X) -> np.ndarray:
        """The most probable class of each sample: (n_samples,)."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
