"""scikit-learn's bundled 8x8 digits (1797 images, 10 classes), split for training.

The test split is a stratified 20% with a fixed seed; validation is carved (stratified)
from the remaining training images. Pixels are scaled from 0..16 to [0, 1]."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import TensorDataset

from axon.data.preprocessing import Preprocessing
from axon.data.registry import register_dataset
from axon.data.splits import DataSplits, check_fraction, record_source

CLASSES = [str(d) for d in range(10)]

DigitsSplits = DataSplits
"""The name these splits had before the registry (kept for existing callers)."""

PREPROCESSING = Preprocessing("array", (1, 8, 8), divisor=16.0)
"""A raw digit: 64 values 0..16 (scikit-learn's `load_digits().images[i]`)."""


def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """All 1797 digits: images (N, 8, 8) float32 in [0, 1] and labels (N,) int64."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return (bunch.images / 16.0).astype(np.float32), bunch.target.astype(np.int64)


def load_digits_splits(
    test_fraction: float = 0.2, val_fraction: float = 0.1, split_seed: int = 0
) -> DataSplits:
    """Stratified train/val/test splits; `val_fraction` is a fraction of the training part."""
    from sklearn.model_selection import train_test_split

    check_fraction("data.test_fraction", test_fraction)
    check_fraction("data.val_fraction", val_fraction)
    images, labels = load_digits_arrays()
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=test_fraction, stratify=labels, random_state=split_seed
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_train, y_train, test_size=val_fraction, stratify=y_train, random_state=split_seed
    )

    def as_dataset(x: np.ndarray, y: np.ndarray) -> TensorDataset:
        return TensorDataset(torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y))

    splits = DataSplits(
        train=as_dataset(x_train, y_train),
        val=as_dataset(x_val, y_val),
        test=as_dataset(x_test, y_test),
        classes=CLASSES,
        input_shape=PREPROCESSING.shape,
        train_targets=torch.from_numpy(y_train),
        preprocessing=PREPROCESSING.to_dict(),
    )
    arguments = {"test_fraction": test_fraction, "val_fraction": val_fraction, "split_seed": split_seed}
    return record_source(splits, "digits", arguments)


@register_dataset("digits")
def digits(test_fraction: float = 0.2, val_fraction: float = 0.1, split_seed: int = 0) -> DataSplits:
    """scikit-learn's bundled 8x8 digits (1797 images, 10 classes), stratified splits."""
    return load_digits_splits(test_fraction, val_fraction, split_seed)
