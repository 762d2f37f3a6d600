"""scikit-learn's bundled 8x8 digits (1797 images, 10 classes), split for training.

The test split is a stratified 20% with a fixed seed; validation is carved (stratified)
from the remaining training images. Pixels are scaled from 0..16 to [0, 1]."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import TensorDataset

CLASSES = [str(d) for d in range(10)]


@dataclass
class DigitsSplits:
    """Train, validation and test sets of `(image (1, 8, 8) float32, label int64)`."""

    train: TensorDataset
    val: TensorDataset
    test: TensorDataset
    classes: list[str]


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name}: expected a fraction strictly between 0 and 1, got {value}")


def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """All 1797 digits: images (N, 8, 8) float32 in [0, 1] and labels (N,) int64."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return (bunch.images / 16.0).astype(np.float32), bunch.target.astype(np.int64)


def load_digits_splits(
    test_fraction: float = 0.2, val_fraction: float = 0.1, split_seed: int = 0
) -> DigitsSplits:
    """Stratified train/val/test splits; `val_fraction` is a fraction of the training part."""
    from sklearn.model_selection import train_test_split

    _check_fraction("data.test_fraction", test_fraction)
    _check_fraction("data.val_fraction", val_fraction)
    images, labels = load_digits_arrays()
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=test_fraction, stratify=labels, random_state=split_seed
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_train, y_train, test_size=val_fraction, stratify=y_train, random_state=split_seed
    )

    def as_dataset(x: np.ndarray, y: np.ndarray) -> TensorDataset:
        return TensorDataset(torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y))

    return DigitsSplits(
        train=as_dataset(x_train, y_train),
        val=as_dataset(x_val, y_val),
        test=as_dataset(x_test, y_test),
        classes=CLASSES,
    )
