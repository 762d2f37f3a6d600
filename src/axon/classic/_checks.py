"""Input checks shared by the classic estimators. Each raises a ValueError subclass
(axon.errors.AxonError) whose message names the argument, what was given and what was
expected."""

from __future__ import annotations

import numpy as np
import torch

from axon.errors import AxonError


def as_matrix(data, name: str, device: torch.device | str = "cpu", dtype=torch.float32) -> torch.Tensor:
    """`data` (array-like or tensor, shape (n_samples, n_features)) as a finite tensor."""
    if isinstance(data, torch.Tensor):
        tensor = data.detach()
    else:
        try:
            tensor = torch.as_tensor(np.asarray(data, dtype=np.float64))
        except (TypeError, ValueError) as err:
            raise AxonError(f"{name}: expected a numeric array of shape (n_samples, n_features), got {type(data).__name__} ({err})") from None
    if tensor.dim() != 2:
        raise AxonError(f"{name}: expected a 2-d array of shape (n_samples, n_features), got shape {tuple(tensor.shape)}")
    if tensor.shape[0] == 0 or tensor.shape[1] == 0:
        raise AxonError(f"{name}: expected at least one sample and one feature, got shape {tuple(tensor.shape)}")
    tensor = tensor.to(device=device, dtype=dtype)
    if not torch.isfinite(tensor).all():
        raise AxonError(f"{name}: expected finite values, got NaN or infinity")
    return tensor


def as_labels(labels, n_samples: int, name: str = "y", device: torch.device | str = "cpu") -> torch.Tensor:
    """Integer class labels of shape (n_samples,) as an int64 tensor."""
    array = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if array.ndim != 1:
        raise AxonError(f"{name}: expected a 1-d array of class labels, got shape {array.shape}")
    if array.shape[0] != n_samples:
        raise AxonError(f"{name}: expected {n_samples} labels (one per sample of X), got {array.shape[0]}")
    if not np.issubdtype(array.dtype, np.integer):
        if not np.issubdtype(array.dtype, np.floating) or not np.all(np.mod(array, 1) == 0):
            raise AxonError(f"{name}: expected integer class labels, got dtype {array.dtype}")
    return torch.as_tensor(array.astype(np.int64), device=device)


def check_n_features(tensor: torch.Tensor, expected: int, name: str, owner: str) -> None:
    """Fail unless `tensor` (n_samples, n_features) has the `expected` number of features."""
    if tensor.shape[1] != expected:
        raise AxonError(f"{name}: {owner} was fitted with {expected} features per sample, got {tensor.shape[1]}")


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
