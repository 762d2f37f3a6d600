"""MNIST and Fashion-MNIST from their IDX files (raw or .gz) in one folder:
`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
`t10k-labels-idx1-ubyte`. Images (1, H, W) in [0, 1] (optionally normalised)."""

from __future__ import annotations

from pathlib import Path

import torch

from axon.data.datasets import ArrayDataset, check_same_length, check_targets, finish_splits, normalisation
from axon.data.idx import read_idx
from axon.data.preprocessing import Preprocessing
from axon.data.registry import register_dataset
from axon.data.splits import DataSplits
from axon.errors import DataError

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


def find_file(root: Path, name: str) -> Path:
    """`root/name` or `root/name.gz`, or a DataError naming both."""
    for candidate in (root / name, root / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise DataError(f"{root / name}: no such file (nor {name}.gz) in the data folder")


def read_idx_pair(root: Path, prefix: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 1, H, W) uint8 and labels (N,) int64 of `prefix` ("train" or "t10k")."""
    images_path = find_file(root, f"{prefix}-images-idx3-ubyte")
    labels_path = find_file(root, f"{prefix}-labels-idx1-ubyte")
    images, labels = read_idx(images_path, 3), read_idx(labels_path, 1)
    if images.dtype != "u1" or labels.dtype.kind not in "iu":
        raise DataError(f"{images_path}: expected uint8 images and integer labels, got {images.dtype} "
                        f"and {labels.dtype}")
    check_same_length(len(images), len(labels), f"{labels_path} ({images_path.name})")
    if len(images) == 0:
        raise DataError(f"{images_path}: holds no images")
    return torch.from_numpy(images).unsqueeze(1), check_targets(labels, 10, str(labels_path))


def read_mnist_layout(root: str | Path, classes: list[str], val_fraction: float, split_seed: int,
                      normalize) -> DataSplits:
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such data folder")
    train_images, train_labels = read_idx_pair(root, "train")
    test_images, test_labels = read_idx_pair(root, "t10k")
    if train_images.shape[1:] != test_images.shape[1:]:
        raise DataError(f"{root}: train images are {list(train_images.shape[2:])} but t10k images "
                        f"{list(test_images.shape[2:])}")

    def measure():
        unit = train_images.to(torch.float64) / 255.0
        return [unit.mean().item()], [unit.std().item()]

    mean, std = normalisation(normalize, 1, measure)
    preprocessing = Preprocessing("image", tuple(train_images.shape[1:]), divisor=255.0, mean=mean, std=std,
                                  mode="L")
    return finish_splits(ArrayDataset(train_images, train_labels, preprocessing), None,
                         ArrayDataset(test_images, test_labels, preprocessing), classes, val_fraction,
                         split_seed, str(root))


@register_dataset("mnist")
def mnist(root: str, val_fraction: float = 0.1, split_seed: int = 0, normalize=None) -> DataSplits:
    """MNIST handwritten digits from the IDX files in `root` (raw or .gz), 10 classes."""
    return read_mnist_layout(root, MNIST_CLASSES, val_fraction, split_seed, normalize)


@register_dataset("fashion_mnist")
def fashion_mnist(root: str, val_fraction: float = 0.1, split_seed: int = 0, normalize=None) -> DataSplits:
    """Fashion-MNIST clothing images from the IDX files in `root` (raw or .gz), 10 classes."""
    return read_mnist_layout(root, FASHION_CLASSES, val_fraction, split_seed, normalize)
