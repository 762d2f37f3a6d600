"""Restricted Boltzmann machine with Bernoulli (binary) or Gaussian visible units and
binary hidden units, learned with contrastive divergence (CD-k) or persistent CD.

Energy (Bernoulli visible):  E(v, h) = -b.v - c.h - h^T W v
Energy (Gaussian visible, unit variance): E(v, h) = 1/2 |v - b|^2 - c.h - h^T W v

W is `components_` (n_components, n_features), b `intercept_visible_`, c
`intercept_hidden_`, as in scikit-learn's BernoulliRBM, whose API this follows (fit,
transform, score_samples, gibbs) so it drops into pipelines and grid searches. Defaults
follow Hinton's "A Practical Guide to Training Restricted Boltzmann Machines" (2010):
CD-1, weights from N(0, 0.01^2), mini-batches of 10, learning rate 0.1, momentum 0.5 for the
first epochs then 0.9, weight cost 1e-4, and an optional sparsity target with decay 0.95.

Bernoulli visible data must lie in [0, 1] (probabilities of binary units): anything else is
an error, not silently clipped, unless `binarize` is set, which turns every value into a
binary unit state (1 where it is >= binarize, else 0). Gaussian visible units expect each feature standardised to
zero mean and unit variance (e.g. sklearn.preprocessing.StandardScaler in a pipeline), and a
learning rate one or two orders of magnitude smaller (the guide's advice)."""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, TransformerMixin

from axon.classic._checks import (
    AcceptsSparse,
    as_matrix,
    check_fraction,
    check_n_features,
    check_positive,
    check_binarize,
    check_fitted,
    check_unit_interval,
    binarize,
    generator,
)
from axon.classic.rbm_fit import ContrastiveDivergence, aligned
from axon.errors import AxonError

VISIBLE_UNITS = ("bernoulli", "gaussian")


def _bernoulli(probs: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Binary samples with P(1) = probs (same shape); faster than torch.bernoulli on CPU."""
    return (torch.rand(probs.shape, generator=gen, device=probs.device, dtype=probs.dtype) < probs).to(probs.dtype)


class RBM(AcceptsSparse, TransformerMixin, BaseEstimator):
    """Restricted Boltzmann machine computed with PyTorch.

    Parameters
    - n_components: hidden units.
    - visible: "bernoulli" (data in [0, 1]) or "gaussian" (standardised real data).
    - binarize: None (Bernoulli data must lie in [0, 1]) or a threshold t: Bernoulli visible
      data become 1 where >= t and 0 elsewhere (any real values accepted).
    - learning_rate, batch_size, n_iter (epochs).
    - k: Gibbs steps per update (CD-k, or PCD-k when persistent).
    - persistent: keep the negative chains between updates (PCD, as scikit-learn does);
      the default is the guide's CD (chains restarted at the data), which on small
      problems is steadier than PCD with momentum.
    - momentum: used from epoch `momentum_switch` on; `initial_momentum` before it.
    - weight_decay: L2 weight cost on W.
    - sparsity_target: desired mean hidden activation (None: no sparsity penalty);
      sparsity_cost its weight; sparsity_decay the running-average decay of activations.
    - shuffle: visit mini-batches in a new random order each epoch.
    - random_state: seed (None: fresh entropy); device: "cpu", "cuda", ...; verbose: print
      the pseudo-likelihood (Bernoulli) or reconstruction error (Gaussian) after each epoch.

    Learned: components_ (n_components, n_features), intercept_hidden_ (n_components,),
    intercept_visible_ (n_features,), h_samples_ (chains, n_components) the last negative
    hidden samples (the persistent chains, batch_size of them, under PCD; one per row of the
    last mini-batch under CD), n_features_in_, n_iter_."""

    def __init__(self, n_components=256, visible="bernoulli", binarize=None, learning_rate=0.1, batch_size=10, n_iter=10, k=1,
                 persistent=False, momentum=0.9, initial_momentum=0.5, momentum_switch=5, weight_decay=1e-4,
                 sparsity_target=None, sparsity_cost=0.1, sparsity_decay=0.95, shuffle=True, random_state=None,
                 device="cpu", verbose=False):
        self.n_components = n_components
        self.visible = visible
        self.binarize = binarize
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.k = k
        self.persistent = persistent
        self.momentum = momentum
        self.initial_momentum = initial_momentum
        self.momentum_switch = momentum_switch
        self.weight_decay = weight_decay
        self.sparsity_target = sparsity_target
        self.sparsity_cost = sparsity_cost
        self.sparsity_decay = sparsity_decay
        self.shuffle = shuffle
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]  # computes in float32 whatever comes in
        return tags

    # ----- checks
    def _check_params(self) -> None:
        for name in ("n_components", "batch_size", "n_iter", "k"):
            check_positive(getattr(self, name), name, integer=True)
        check_positive(self.learning_rate, "learning_rate")
        if self.visible not in VISIBLE_UNITS:
            raise AxonError(f"visible: expected one of {', '.join(VISIBLE_UNITS)}, got {self.visible!r}")
        check_binarize(self.binarize, self.visible)
        check_fraction(self.momentum, "momentum", high_inclusive=False)
        check_fraction(self.initial_momentum, "initial_momentum", high_inclusive=False)
        if isinstance(self.momentum_switch, bool) or not isinstance(self.momentum_switch, int) or self.momentum_switch < 0:
            raise AxonError(f"momentum_switch: expected a non-negative epoch number, got {self.momentum_switch!r}")
        if isinstance(self.weight_decay, bool) or not isinstance(self.weight_decay, (int, float)) or self.weight_decay < 0:
            raise AxonError(f"weight_decay: expected a non-negative number, got {self.weight_decay!r}")
        if self.sparsity_target is not None:
            check_fraction(self.sparsity_target, "sparsity_target", low_inclusive=False, high_inclusive=False)
            check_positive(self.sparsity_cost, "sparsity_cost")
            check_fraction(self.sparsity_decay, "sparsity_decay", high_inclusive=False)

    def _data(self, X, name: str = "X", fitted: bool = True) -> torch.Tensor:
        """X as a float32 tensor (n_samples, n_features) on the device, checked."""
        if fitted:
            check_fitted(self, "components_", "transform, score_samples, gibbs or sample")
        data = as_matrix(X, name, self.device)
        if fitted:
            check_n_features(data, self.n_features_in_, name, "RBM")
        if self.visible == "bernoulli":
            if self.binarize is not None:
                return binarize(data, self.binarize, 0.0)
            check_unit_interval(data, name, "an RBM with Bernoulli visible units")
        return data

    # ----- conditionals
    def _hidden_probs(self, v: torch.Tensor) -> torch.Tensor:
        """p(h = 1 | v): (n, n_features) -> (n, n_components)."""
        return torch.sigmoid(torch.addmm(self.intercept_hidden_, v, self.components_.T))

    def _visible_input(self, h: torch.Tensor) -> torch.Tensor:
        """h W + b: (n, n_components) -> (n, n_features)."""
        return torch.addmm(self.intercept_visible_, h, self.components_)


    def _free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """F(v) = -log sum_h exp(-E(v, h)): (n, n_features) -> (n,)."""
        hidden_term = F.softplus(torch.addmm(self.intercept_hidden_, v, self.components_.T)).sum(1)
        if self.visible == "bernoulli":
            return -(v @ self.intercept_visible_) - hidden_term
        return 0.5 * ((v - self.intercept_visible_) ** 2).sum(1) - hidden_term

    # ----- public API
    def transform(self, X) -> np.ndarray:
        """Hidden-unit probabilities p(h = 1 | v): (n_samples, n_components)."""
        return self._hidden_probs(self._data(X)).cpu().numpy()

    def free_energy(self, X) -> np.ndarray:
        """Free energy F(v) of each sample: (n_samples,)."""
        return self._free_energy(self._data(X)).cpu().numpy()

    def gibbs(self, v) -> np.ndarray:
        """One Gibbs step v -> h -> v' (both sampled): (n_samples, n_features). Draws from a
        generator kept between calls, so repeated calls run a chain."""
        data = self._data(v, "v")
        if not hasattr(self, "_gibbs_generator"):
            self._gibbs_generator = generator(self.random_state, data.device)
        h = _bernoulli(self._hidden_probs(data), self._gibbs_generator)
        return self._visible_sample(self._visible_input(h), self._gibbs_generator).cpu().numpy()

    def score_samples(self, X) -> np.ndarray:
        """Pseudo-likelihood of each sample, as scikit-learn defines it: flip one random
        feature i of each v and return n_features * log sigmoid(F(v_flipped) - F(v)). The
        feature flipped is drawn by a hash of the sample's values seeded by `random_state`,
        so a sample's score depends neither on the other samples nor on their order.
        Bernoulli visible units only (flipping a real value has no meaning): (n_samples,)."""
        if self.visible != "bernoulli":
            raise AxonError("score_samples: the pseudo-likelihood needs visible='bernoulli', got visible='gaussian'; use free_energy")
        v = self._data(X)
        gen = generator(self.random_state, v.device)
        weights = torch.rand(v.shape[1], generator=gen, device=v.device, dtype=torch.float64) + 0.5
        hashed = torch.frac((v.double() @ weights) * 7919.0 + 0.5 * weights.sum())  # in [0, 1)
        flip = (hashed * v.shape[1]).long().clamp_(max=v.shape[1] - 1)
        rows = torch.arange(v.shape[0], device=v.device)
        flipped = v.clone()
        flipped[rows, flip] = 1 - flipped[rows, flip]
        gap = self._free_energy(flipped) - self._free_energy(v)
        return (v.shape[1] * F.logsigmoid(gap)).cpu().numpy()

    def _visible_mean(self, h: torch.Tensor) -> torch.Tensor:
        """E[v | h]: sigmoid(h W + b) (Bernoulli) or h W + b (Gaussian); (n, n_features)."""
        pre = self._visible_input(h)
        return torch.sigmoid(pre) if self.visible == "bernoulli" else pre

    def visible_means(self, h) -> np.ndarray:
        """E[v | h] for hidden states h (n, n_components), e.g. the persistent chains
        `h_samples_`: (n, n_features)."""
        check_fitted(self, "components_", "visible_means")
        hidden = as_matrix(h, "h", self.device)
        check_n_features(hidden, self.n_components, "h", "RBM (hidden units)")
        return self._visible_mean(hidden).cpu().numpy()

    def reconstruct(self, X) -> np.ndarray:
        """Mean-field reconstructions E[v | h = p(h | v)] of the rows of X: (n, n_features)."""
        return self._visible_mean(self._hidden_probs(self._data(X))).cpu().numpy()

    def reconstruction_error(self, X) -> float:
        """Mean squared difference between each value of X and its mean-field
        reconstruction E[v | h = p(h | v)] (the guide's monitoring quantity)."""
        v = self._data(X)
        return float(((v - self._visible_mean(self._hidden_probs(v))) ** 2).mean())

    def sample(self, n_samples: int = 16, n_steps: int = 1000, start=None, record_every: int | None = None,
               random_state=None) -> np.ndarray:
        """Gibbs chains v -> h -> v, `n_steps` steps each, started from the rows of `start`
        (data, checked like X) or, when None, from `n_samples` states of noise (uniform
        random bits for Bernoulli units, standard normal values for Gaussian ones). Returns
        the visible means E[v | h] of the last step (n, n_features), or with
        `record_every` = k those after steps 0 (the start), k, 2k, ..., n_steps:
        (n_steps // k + 1, n, n_features). `random_state` (default the estimator's) seeds
        the chains, so equal calls give equal chains."""
        check_fitted(self, "components_", "sample")
        check_positive(n_steps, "n_steps", integer=True)
        if record_every is not None:
            check_positive(record_every, "record_every", integer=True)
        gen = generator(self.random_state if random_state is None else random_state, self.components_.device)
        if start is None:
            check_positive(n_samples, "n_samples", integer=True)
            shape = (n_samples, self.n_features_in_)
            device = self.components_.device
            if self.visible == "bernoulli":
                v = _bernoulli(torch.full(shape, 0.5, device=device), gen)
            else:
                v = torch.randn(shape, generator=gen, device=device)
        else:
            v = self._data(start, "start")
        records = [v]
        for step in range(1, n_steps + 1):
            h = _bernoulli(self._hidden_probs(v), gen)
            mean = self._visible_mean(h)
            if record_every is not None and step % record_every == 0:
                records.append(mean)
            v = self._visible_sample(self._visible_input(h), gen)
        if record_every is None:
            return mean.cpu().numpy()
        return torch.stack(records).cpu().numpy()

    def score(self, X, y=None) -> float:
        """Higher is better, for model selection with GridSearchCV: the mean
        pseudo-likelihood (Bernoulli visible units) or minus the reconstruction error
        (Gaussian visible units, whose free energies are not comparable across models)."""
        if self.visible == "bernoulli":
            return float(np.mean(self.score_samples(X)))
        return -self.reconstruction_error(X)

    # ----- learning
    def _init_params(self, data: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """All parameters in one matrix with bias units (seed 002's Theta):
        theta (n_components + 1, n_features + 1) = [[W, c], [b, 0]], so that with v and h
        extended by a unit fixed at 1, the hidden input is v_ext @ theta[:-1].T, the visible
        input h_ext @ theta[:, :-1], and one product h_ext^T v_ext gives the gradient of W, b
        and c together. components_ and the intercepts are views into it (its rows 64-byte
        aligned, which the products of the learning loop run faster on)."""
        n_hidden, n_features = self.n_components, data.shape[1]
        theta = aligned(n_hidden + 1, n_features + 1, data.device)
        theta[:n_hidden, :n_features] = torch.randn(n_hidden, n_features, generator=gen, device=data.device) * 0.01
        if self.visible == "bernoulli":
            # the guide: b_i = log(p_i / (1 - p_i)) for the fraction p_i of the data with unit i on
            on = data.mean(0).clamp(1e-3, 1 - 1e-3)
            theta[n_hidden, :n_features] = torch.log(on / (1 - on))
        else:
            theta[n_hidden, :n_features] = data.mean(0)
        self.components_ = theta[:n_hidden, :n_features]
        self.intercept_hidden_ = theta[:n_hidden, n_features]
        self.intercept_visible_ = theta[n_hidden, :n_features]
        self.n_features_in_ = n_features
        return theta

    def fit(self, X, y=None):
        """Learn from `X` (n_samples, n_features); `y` is ignored."""
        self._check_params()
        data = self._data(X, fitted=False)
        gen = generator(self.random_state, data.device)
        learning = ContrastiveDivergence(self, self._init_params(data, gen), data, gen)
        for epoch in range(self.n_iter):
            started = time.perf_counter()
            learning.epoch(self.initial_momentum if epoch < self.momentum_switch else self.momentum)
            if self.verbose:
                self._report(epoch, data, time.perf_counter() - started)
        self.h_samples_ = learning.chain[: learning.last_chains].clone()
        self.n_iter_ = self.n_iter
        return self

    def _visible_sample(self, pre: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """A visible sample given the visible input h W + b (n, n_features)."""
        if self.visible == "bernoulli":
            return _bernoulli(torch.sigmoid(pre), gen)
        return pre + torch.randn(pre.shape, generator=gen, device=pre.device, dtype=pre.dtype)

    def _report(self, epoch: int, data: torch.Tensor, seconds: float) -> None:
        if self.visible == "bernoulli":
            value = f"pseudo-likelihood = {self.score(data):.2f}"
        else:
            value = f"reconstruction error = {self.reconstruction_error(data):.4f}"
        print(f"[RBM] epoch {epoch + 1}/{self.n_iter}, {value}, time = {seconds:.2f}s", flush=True)
