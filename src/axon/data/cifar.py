"""CIFAR-10 and CIFAR-100, binary versions only (the Python versions are pickles and are
never loaded).

CIFAR-10 (`cifar-10-batches-bin/`): `data_batch_1.bin` .. `data_batch_5.bin`,
`test_batch.bin`, records of 1 label byte + 3072 pixel bytes (1024 red, 1024 green,
1024 blue, each 32x32 row-major), and `batches.meta.txt` with the 10 class names.
CIFAR-100 (`cifar-100-binary/`): `train.bin`, `test.bin`, records of a coarse and a fine
label byte + 3072 pixel bytes, and `fine_label_names.txt` / `coarse_label_names.txt`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from axon.data.datasets import ArrayDataset, check_targets, finish_splits, normalisation
from axon.data.preprocessing import Preprocessing
from axon.data.registry import register_dataset
from axon.data.splits import DataSplits
from axon.errors import ConfigError, DataError

PIXELS = 3 * 32 * 32


def read_records(path: Path, label_bytes: int, classes: tuple[int, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8 and labels (N, label_bytes) uint8 of one binary file;
    with `classes` (the class count of each label byte) every label is checked against it."""
    record = label_bytes + PIXELS
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    if size == 0 or size % record:
        raise DataError(f"{path}: {size} bytes is not a whole number of {record}-byte records "
                        f"({label_bytes} label byte(s) + {PIXELS} pixels)")
    records = np.fromfile(path, dtype=np.uint8).reshape(-1, record)
    for column, count in enumerate(classes or ()):
        check_targets(records[:, column], count, str(path))
    return records[:, label_bytes:].reshape(-1, 3, 32, 32), records[:, :label_bytes]


def read_names(path: Path, count: int) -> list[str]:
    """The `count` class names in `path`, one per line (blank lines ignored)."""
    try:
        text = path.read_bytes()[: 64 * 1024].decode("utf-8", errors="replace")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file (the class names of the binary version)") from None
    names = [line.strip() for line in text.splitlines() if line.strip()]
    if len(names) != count:
        raise DataError(f"{path}: expected {count} class names, one per line, got {len(names)}")
    return names


def find_folder(root: str | Path, subfolder: str, marker: str) -> Path:
    """`root`, or `root/subfolder` when the files are there (the archive's own folder)."""
    root = Path(root)
    for folder in (root, root / subfolder):
        if (folder / marker).is_file():
            return folder
    raise DataError(f"{root}: no {marker} here or in {subfolder}/ (expected the CIFAR binary version)")


def to_splits(folder: Path, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
              label_column: int, classes: list[str], val_fraction: float, split_seed: int,
              normalize) -> DataSplits:
    train_images = torch.from_numpy(train[0])

    def measure():
        unit = train_images.to(torch.float64) / 255.0
        return unit.mean((0, 2, 3)).tolist(), unit.std((0, 2, 3)).tolist()

    mean, std = normalisation(normalize, 3, measure)
    preprocessing = Preprocessing("image", (3, 32, 32), divisor=255.0, mean=mean, std=std, mode="RGB")

    def dataset(images, labels):  # images stay a strided view of the records (no copy)
        return ArrayDataset(torch.from_numpy(images), torch.from_numpy(labels[:, label_column].astype(np.int64)),
                            preprocessing)

    return finish_splits(dataset(*train), None, dataset(*test), classes, val_fraction, split_seed, str(folder))


@register_dataset("cifar10")
def cifar10(root: str, val_fraction: float = 0.1, split_seed: int = 0, normalize=None) -> DataSplits:
    """CIFAR-10 binary version (data_batch_1..5.bin, test_batch.bin), 32x32 RGB, 10 classes."""
    folder = find_folder(root, "cifar-10-batches-bin", "test_batch.bin")
    classes = read_names(folder / "batches.meta.txt", 10)
    batches = [read_records(folder / f"data_batch_{i}.bin", 1, (10,)) for i in range(1, 6)]
    train = (np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches]))
    test = read_records(folder / "test_batch.bin", 1, (10,))
    return to_splits(folder, train, test, 0, classes, val_fraction, split_seed, normalize)


@register_dataset("cifar100")
def cifar100(root: str, labels: str = "fine", val_fraction: float = 0.1, split_seed: int = 0,
             normalize=None) -> DataSplits:
    """CIFAR-100 binary version (train.bin, test.bin), 32x32 RGB, 100 fine or 20 coarse classes."""
    if labels not in ("fine", "coarse"):
        raise ConfigError(f"data.labels: expected 'fine' (100 classes) or 'coarse' (20), got {labels!r}")
    folder = find_folder(root, "cifar-100-binary", "test.bin")
    classes = read_names(folder / f"{labels}_label_names.txt", 100 if labels == "fine" else 20)
    train, test = (read_records(folder / name, 2, (20, 100)) for name in ("train.bin", "test.bin"))
    return to_splits(folder, train, test, 1 if labels == "fine" else 0, classes, val_fraction, split_seed,
                     normalize)
