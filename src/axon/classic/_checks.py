"""Input checks shared by the classic estimators. Each raises a ValueError subclass
(axon.errors.AxonError) whose message names the argument, what was given and what was
expected."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import sklearn.exceptions
import torch
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, column_or_1d

from axon.errors import AxonError


SPARSE_FORMATS = ("csr", "csc", "coo")


class NotFittedError(AxonError, sklearn.exceptions.NotFittedError):
    """A method that needs a fitted estimator was called before `fit`."""


class InputTypeError(AxonError, TypeError):
    """The input holds values that are not numbers (strings, dicts, ...)."""


class AcceptsSparse:
    """Mixin for the classic estimators: scikit-learn's tags say sparse input is accepted
    (as_matrix densifies it)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def check_fitted(estimator, attribute: str, action: str) -> None:
    """Fail with NotFittedError unless `estimator` has `attribute` (set by fit)."""
    if not hasattr(estimator, attribute):
        raise NotFittedError(f"{type(estimator).__name__}: call fit before {action}")


def as_matrix(data, name: str, device: torch.device | str = "cpu", dtype=torch.float32) -> torch.Tensor:
    """`data` (array-like, sparse matrix or tensor, shape (n_samples, n_features)) as a
    dense finite tensor, validated by scikit-learn's check_array (its messages, which
    scikit-learn's estimator checks look for, prefixed by `name`). Sparse input is
    densified."""
    if isinstance(data, torch.Tensor):
        data = data.detach().cpu().numpy()
    try:
        array = check_array(data, accept_sparse=SPARSE_FORMATS, dtype=(np.float64, np.float32), input_name=name)
    except TypeError as err:
        raise InputTypeError(f"{name}: {err}") from None
    except ValueError as err:
        raise AxonError(f"{name}: {err}") from None
    if sp.issparse(array):
        array = array.toarray()
    elif not array.flags.writeable:
        array = array.copy()  # torch does not share read-only memory (e.g. a read-only memmap) safely
    return torch.as_tensor(array, device=device).to(dtype)


def as_labels(labels, n_samples: int, name: str = "y") -> tuple[np.ndarray, torch.Tensor]:
    """Class labels of any kind (ints, strings, ...) of shape (n_samples,): returns the
    sorted distinct classes (n_classes,) and each sample's class index as an int64 tensor
    (n_samples,). A column vector (n_samples, 1) is accepted with scikit-learn's warning."""
    if labels is None:
        raise AxonError(f"{name}: this classifier requires y to be passed, but the target y is None")
    array = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    try:
        array = column_or_1d(array, warn=True)
        check_classification_targets(array)
    except ValueError as err:
        raise AxonError(f"{name}: {err}") from None
    if array.shape[0] != n_samples:
        raise AxonError(f"{name}: expected {n_samples} labels (one per sample of X), got {array.shape[0]}")
    classes, targets = np.unique(array, return_inverse=True)
    if classes.size < 2:
        raise AxonError(f"{name}: expected at least 2 classes, got 1 class ({classes[0]!r})")
    return classes, torch.as_tensor(targets.astype(np.int64))


def check_n_features(tensor: torch.Tensor, expected: int, name: str, owner: str) -> None:
    """Fail unless `tensor` (n_samples, n_features) has the `expected` number of features."""
    if tensor.shape[1] != expected:
        raise AxonError(
            f"{name}: {owner} was fitted with {expected} features per sample, got {tensor.shape[1]} "
            f"(X has {tensor.shape[1]} features, but {owner} is expecting {expected} features as input)"
        )


def binarize(tensor: torch.Tensor, threshold: float, low: float) -> torch.Tensor:
    """1 where a value is >= `threshold`, `low` (0 or -1) elsewhere; same shape."""
    return torch.where(tensor >= threshold, 1.0, low).to(tensor.dtype)


def check_binarize(threshold, visible: str) -> None:
    """Fail unless `threshold` is None or a number, set only for Bernoulli visible units."""
    if threshold is None:
        return
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise AxonError(f"binarize: expected None or a threshold (a number), got {threshold!r}")
    if visible != "bernoulli":
        raise AxonError(f"binarize: applies to Bernoulli visible units only, got visible={visible!r}")


def check_unit_interval(tensor: torch.Tensor, name: str, owner: str) -> None:
    """Fail unless every value lies in [0, 1]."""
    low, high = float(tensor.min()), float(tensor.max())
    if low < 0.0 or high > 1.0:
        raise AxonError(
            f"{name}: {owner} expects values in [0, 1] (probabilities of binary units), got values "
            f"in [{low:g}, {high:g}]; rescale, e.g. with sklearn.preprocessing.MinMaxScaler"
        )


def check_spins(tensor: torch.Tensor, name: str) -> None:
    """Fail unless every value is -1 or +1."""
    bad = (tensor != 1) & (tensor != -1)
    if bad.any():
        value = float(tensor[bad][0])
        raise AxonError(f"{name}: expected states of -1 or +1 only, got the value {value:g}")


def check_positive(value, name: str, integer: bool = False) -> None:
    """Fail unless `value` is a positive number (a positive int when `integer`)."""
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        expected = "a positive integer" if integer else "a positive number"
        raise AxonError(f"{name}: expected {expected}, got {value!r}")


def check_fraction(value, name: str, low_inclusive: bool = True, high_inclusive: bool = True) -> None:
    """Fail unless `value` is a number in [0, 1] (bounds as given)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok:
        ok = (value >= 0 if low_inclusive else value > 0) and (value <= 1 if high_inclusive else value < 1)
    if not ok:
        interval = ("[" if low_inclusive else "(") + "0, 1" + ("]" if high_inclusive else ")")
        raise AxonError(f"{name}: expected a number in {interval}, got {value!r}")


def generator(seed: int | None, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch generator on `device`, seeded with `seed` (fresh entropy when None)."""
    gen = torch.Generator(device=device)
    if seed is None:
        gen.seed()
    else:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise AxonError(f"random_state: expected an integer seed or None, got {seed!r}")
        gen.manual_seed(int(seed))
    return gen
