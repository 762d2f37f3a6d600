"""Rosenblatt's perceptron (multi-class) and the voting digit recogniser of seed 002.

The multi-class perceptron keeps one weight vector per class and predicts the class with the
largest score `W x + b`. It learns online: on a mistake it adds the input to the correct
class's weights and subtracts it from the guessed class's weights (Rosenblatt's rule). The
voting recogniser is the same rule on inked pixels: a pixel votes when it has ink on it."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin

from axon.classic._checks import (
    AcceptsSparse,
    as_labels,
    as_matrix,
    binarize,
    check_fitted,
    check_fraction,
    check_n_features,
    check_positive,
    generator,
)


class Perceptron(AcceptsSparse, ClassifierMixin, BaseEstimator):
    """Multi-class perceptron trained with Rosenblatt's mistake-driven rule.

    Parameters: `max_iter` epochs at most (stops early after an epoch without mistakes),
    `learning_rate` the step added on a mistake, `fit_intercept` learns a bias per class,
    `shuffle` visits samples in a new random order each epoch, `random_state` seeds it,
    `device` where the weights live.

    Learned: `coef_` (n_classes, n_features), `intercept_` (n_classes,), `classes_`,
    `n_features_in_`, `n_iter_`, `mistakes_` (mistakes made in each epoch)."""

    def __init__(self, max_iter=20, learning_rate=1.0, fit_intercept=True, shuffle=True, random_state=0, device="cpu"):
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.fit_intercept = fit_intercept
        self.shuffle = shuffle
        self.random_state = random_state
        self.device = device

    def _inputs(self, X, name: str = "X") -> torch.Tensor:
        """The inputs the rule sees: (n_samples, n_features) float tensor."""
        return as_matrix(X, name, self.device)

    def _check_params(self) -> None:
        check_positive(self.max_iter, "max_iter", integer=True)
        check_positive(self.learning_rate, "learning_rate")

    def fit(self, X, y):
        """Learn from `X` (n_samples, n_features) and class labels `y` (n_samples,)."""
        self._check_params()
        inputs = self._inputs(X)
        classes, targets = as_labels(y, inputs.shape[0])
        n_classes, n_features = classes.size, inputs.shape[1]
        weights = torch.zeros(n_classes, n_features, device=self.device)
        bias = torch.zeros(n_classes, device=self.device)
        gen = generator(self.random_state)
        self.mistakes_ = []
        for _ in range(self.max_iter):
            order = torch.randperm(inputs.shape[0], generator=gen) if self.shuffle else torch.arange(inputs.shape[0])
            mistakes = 0
            for index in order.tolist():
                x, target = inputs[index], int(targets[index])
                guess = int(torch.argmax(weights @ x + bias))
                if guess != target:
                    mistakes += 1
                    weights[target] += self.learning_rate * x
                    weights[guess] -= self.learning_rate * x
                    if self.fit_intercept:
                        bias[target] += self.learning_rate
                        bias[guess] -= self.learning_rate
            self.mistakes_.append(mistakes)
            if mistakes == 0:
                break
        self.coef_, self.intercept_ = weights, bias
        self.classes_ = classes
        self.n_features_in_ = n_features
        self.n_iter_ = len(self.mistakes_)
        return self

    def class_scores(self, X) -> np.ndarray:
        """Class scores `W x + b`: (n_samples, n_classes)."""
        check_fitted(self, "coef_", "decision_function/predict")
        inputs = self._inputs(X)
        check_n_features(inputs, self.n_features_in_, "X", type(self).__name__)
        return (inputs @ self.coef_.T + self.intercept_).cpu().numpy()

    def decision_function(self, X) -> np.ndarray:
        """scikit-learn's decision function: the class scores (n_samples, n_classes), or
        with two classes the score of the second minus the first's (n_samples,)."""
        scores = self.class_scores(X)
        return scores[:, 1] - scores[:, 0] if scores.shape[1] == 2 else scores

    def predict(self, X) -> np.ndarray:
        """The class with the largest score for each sample (the first on a tie): (n_samples,)."""
        scores = self.class_scores(X)
        return self.classes_[np.argmax(scores, axis=1)]


class VotingRecognizer(Perceptron):
    """The voting recogniser of seed 002: pixels with ink on them (value >= `ink_threshold`;
    the default 0.5 is ink level 8 and above on the digits' 0-16 scale) vote for classes; the class with most votes wins. On a mistake the weights from the
    active pixels to the correct class go up by one and those to the guessed class go down
    by one. No bias: only pixels vote.

    Learned: `coef_` (n_classes, n_pixels), the votes, drawn as weight maps by
    `axon.viz.classic.plot_weight_maps`."""

    def __init__(self, ink_threshold=0.5, max_iter=20, shuffle=True, random_state=0, device="cpu"):
        self.ink_threshold = ink_threshold
        super().__init__(max_iter=max_iter, learning_rate=1.0, fit_intercept=False, shuffle=shuffle,
                         random_state=random_state, device=device)

    def _inputs(self, X, name: str = "X") -> torch.Tensor:
        """Inked pixels: (n_samples, n_pixels) of 0/1."""
        check_fraction(self.ink_threshold, "ink_threshold", high_inclusive=False)
        return binarize(as_matrix(X, name, self.device), self.ink_threshold, 0.0)
