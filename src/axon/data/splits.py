"""`DataSplits`, what every registered data set returns, and the seeded stratified split
that carves a validation set out of a training set."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import Dataset

from axon.errors import ConfigError, DataError


@dataclass
class DataSplits:
    """Train, validation and test sets of `(input float32 (C, H, W) or (F,), target int64)`.

    val/test are None only when the data set has none. `train_targets` (N,) int64 are the
    training labels (for samplers), `input_shape` the model's input shape without the
    batch, and `preprocessing` the JSON-serialisable dict from which
    `axon.data.preprocessing_from_dict` rebuilds the transform from a raw file or array
    to the model's input (see `axon.data.preprocessing`)."""

    train: Dataset
    val: Dataset | None
    test: Dataset | None
    classes: list[str]
    input_shape: tuple[int, ...] = ()
    train_targets: torch.Tensor = field(default_factory=lambda: torch.empty(0, dtype=torch.int64))
    preprocessing: dict = field(default_factory=dict)
    source: dict | None = None
    """{"name": data set, reader argument: value, ...} when the splits came from the data
    registry (`build_dataset`), so a run folder can read the same data again."""


SPLIT_SOURCE = "axon_split"
"""The attribute `record_source` sets on each split data set: (split name, its DataSplits)."""


def record_source(splits: DataSplits, name: str, arguments: dict) -> DataSplits:
    """Remember on `splits` and on each of its data sets that they are the data set `name`
    read with `arguments` (every reader argument, defaults included); returns `splits`."""
    splits.source = {"name": name, **arguments}
    for split in ("train", "val", "test"):  # a set that is two splits (val = test) is named by the first
        dataset = getattr(splits, split)
        if dataset is not None and not hasattr(dataset, SPLIT_SOURCE):
            try:
                setattr(dataset, SPLIT_SOURCE, (split, splits))
            except AttributeError:  # a data set type that takes no attributes stays unrecorded
                pass
    return splits


def split_source(dataset) -> tuple[str, DataSplits] | None:
    """(split name, DataSplits) of a data set that `record_source` recorded, else None."""
    found = getattr(dataset, SPLIT_SOURCE, None)
    return found if isinstance(found, tuple) and len(found) == 2 and isinstance(found[1], DataSplits) else None


def check_fraction(name: str, value: float) -> float:
    """`value` if it is a fraction strictly between 0 and 1, else a ConfigError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
        raise ConfigError(f"{name}: expected a fraction strictly between 0 and 1, got {value!r}")
    return float(value)


def stratified_split(labels: torch.Tensor, fraction: float, seed: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, split off) of a seeded stratified split taking `fraction` of each class.

    labels: (N,) int64. `what` names the data in the error when a class is too small."""
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(labels))
    try:
        kept, taken = train_test_split(indices, test_size=fraction, stratify=labels.numpy(), random_state=seed)
    except ValueError as err:
        raise DataError(f"{what}: cannot split off a stratified fraction {fraction}: {err}") from None
    return np.sort(kept), np.sort(taken)
