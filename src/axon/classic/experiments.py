"""The experiments behind `axon classic ...`, as functions returning their results (the
CLI prints them and draws the plots). Digit experiments use axon.data's stratified digits
splits, flattened to (n, 64) in [0, 1]; the estimators train on train + validation and are
scored on the test split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from axon.classic._checks import check_fraction, check_positive, generator
from axon.classic.hopfield import HopfieldNetwork, corrupt, overlap
from axon.classic.logic import binary_inputs
from axon.classic.perceptron import Perceptron, VotingRecognizer


@dataclass
class Digits:
    """Flattened digits: x_* (n, 64) float32 in [0, 1], y_* (n,) int64."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits_flat(split_seed: int = 0) -> Digits:
    """axon's digits splits with train and validation merged, images flattened."""
    from axon.data import load_digits_splits

    splits = load_digits_splits(split_seed=split_seed)
    x_train = torch.cat([splits.train.tensors[0], splits.val.tensors[0]]).flatten(1).numpy()
    y_train = torch.cat([splits.train.tensors[1], splits.val.tensors[1]]).numpy()
    return Digits(x_train, y_train, splits.test.tensors[0].flatten(1).numpy(), splits.test.tensors[1].numpy())


def perceptron_on_gates(max_iter: int = 50, seed: int = 0) -> dict[str, tuple[int, float]]:
    """Train a perceptron on the AND, OR and XOR truth tables: gate -> (epochs run,
    training accuracy). AND and OR are linearly separable and converge; XOR never does."""
    inputs = binary_inputs(2).numpy()
    targets = {"AND": inputs[:, 0] * inputs[:, 1], "OR": np.maximum(inputs[:, 0], inputs[:, 1]),
               "XOR": (inputs[:, 0] != inputs[:, 1]).astype(float)}
    results = {}
    for name, y in targets.items():
        model = Perceptron(max_iter=max_iter, random_state=seed).fit(inputs, y.astype(int))
        results[name] = (model.n_iter_, float(model.score(inputs, y.astype(int))))
    return results


def train_on_digits(model, digits: Digits | None = None):
    """Fit `model` on the digits training part; returns (model, test accuracy)."""
    digits = digits or load_digits_flat()
    model.fit(digits.x_train, digits.y_train)
    return model, float(model.score(digits.x_test, digits.y_test))


def voting_recognizer(max_iter: int = 20, ink_threshold: float = 0.5, seed: int = 0):
    """The voting recogniser trained on digits: (model, test accuracy)."""
    return train_on_digits(VotingRecognizer(ink_threshold=ink_threshold, max_iter=max_iter, random_state=seed))


@dataclass
class RecallDemo:
    """Classical Hopfield recall from corrupted cues: mean overlap with the stored patterns
    before and after recall, mean energy of cues and results, for each update rule."""

    n_neurons: int
    n_patterns: int
    flip_fraction: float
    cue_overlap: float
    recalled_overlap: dict[str, float]
    cue_energy: float
    recalled_energy: dict[str, float]
    stored_energy: float


def hopfield_recall_demo(n_neurons: int = 200, n_patterns: int = 10, flip_fraction: float = 0.2, seed: int = 0,
                         rule: str = "hebb", temperature: float = 0.0) -> RecallDemo:
    """Store random patterns with `rule`, corrupt each, and recall with asynchronous and
    synchronous updates at `temperature`."""
    check_positive(n_neurons, "n_neurons", integer=True)
    check_positive(n_patterns, "n_patterns", integer=True)
    check_fraction(flip_fraction, "flip_fraction")
    gen = generator(seed)
    patterns = torch.randint(0, 2, (n_patterns, n_neurons), generator=gen).float() * 2 - 1
    cues = corrupt(patterns, flip_fraction, gen)
    recalled, energies = {}, {}
    for update in ("async", "sync"):
        net = HopfieldNetwork(rule=rule, update=update, temperature=temperature, random_state=seed).fit(patterns)
        final = net.recall(cues)
        recalled[update] = float(overlap(final, patterns).mean())
        energies[update] = float(net.energy(final).mean())
    return RecallDemo(n_neurons, n_patterns, flip_fraction, float(overlap(cues, patterns).mean()), recalled,
                      float(net.energy(cues).mean()), energies, float(net.energy(patterns).mean()))


def logistic_accuracy(x_train, y_train, x_test, y_test, C: float = 100.0) -> float:
    """Test accuracy of scikit-learn's logistic regression on the given features."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=2000)
    return float(model.fit(x_train, y_train).score(x_test, y_test))


def nudge_dataset(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's "nudged digits": each 8x8 image (n, 64) plus copies shifted by one
    pixel left, right, up and down: (5n, 64) and (5n,)."""
    shifts = [
        lambda x: x,
        lambda x: np.pad(x, ((0, 0), (0, 0), (1, 0)))[:, :, :-1],  # right
        lambda x: np.pad(x, ((0, 0), (0, 0), (0, 1)))[:, :, 1:],  # left
        lambda x: np.pad(x, ((0, 0), (1, 0), (0, 0)))[:, :-1, :],  # down
        lambda x: np.pad(x, ((0, 0), (0, 1), (0, 0)))[:, 1:, :],  # up
    ]
    grid = images.reshape(-1, 8, 8)
    return np.concatenate([shift(grid).reshape(-1, 64) for shift in shifts]), np.tile(labels, len(shifts))


@dataclass
class PipelineComparison:
    """Test accuracy of RBM features + logistic regression and of raw-pixel logistic
    regression on the nudged digits (scikit-learn's example setup)."""

    rbm_accuracy: float
    raw_accuracy: float


def rbm_pipeline_vs_raw(n_components: int = 100, n_iter: int = 10, learning_rate: float = 0.06, C_rbm: float = 6000.0,
                        C_raw: float = 100.0, seed: int = 0, device: str = "cpu") -> PipelineComparison:
    """scikit-learn's "RBM features for digit classification" example with axon's RBM:
    nudged digits (min-max scaled), 80/20 split, RBM + LogisticRegression against
    LogisticRegression on the raw pixels."""
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline

    from axon.classic.rbm import RBM

    bunch = load_digits()
    x, y = nudge_dataset(bunch.data.astype(np.float32), bunch.target)
    x = (x - x.min(0)) / (x.max(0) - x.min(0) + 1e-4)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0)
    rbm = RBM(n_components=n_components, learning_rate=learning_rate, n_iter=n_iter, persistent=True, momentum=0.0,
              initial_momentum=0.0, weight_decay=0.0, random_state=seed, device=device)  # scikit-learn's PCD
    pipeline = Pipeline([("rbm", rbm), ("logistic", LogisticRegression(C=C_rbm, max_iter=2000))])
    rbm_accuracy = float(pipeline.fit(x_train, y_train).score(x_test, y_test))
    return PipelineComparison(rbm_accuracy, logistic_accuracy(x_train, y_train, x_test, y_test, C=C_raw))
