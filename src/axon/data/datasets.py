"""The two Dataset types readers return, and the checks and split every reader shares.

Both apply a `Preprocessing` per item (`decode` -> `to_unit` -> `normalise`), so item i
equals the recorded transform of its raw source bit for bit, and both expose `unit(i)`
(the item before normalisation, for augmentation) and `targets` (N,) int64."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from axon.data.decoded_cache import DecodedCache
from axon.data.preprocessing import Preprocessing
from axon.data.splits import DataSplits, check_fraction, stratified_split
from axon.errors import ConfigError, DataError


class ArrayDataset(Dataset):
    """Items of an in-memory array: values (N, *shape) in raw units (uint8 pixels,
    features), targets (N,) int64."""

    def __init__(self, values: torch.Tensor, targets: torch.Tensor, preprocessing: Preprocessing):
        self.values, self.targets, self.preprocessing = values, targets, preprocessing

    def __len__(self) -> int:
        return len(self.targets)

    def unit(self, index: int, geometry: bool = True) -> torch.Tensor:
        """Item `index` before normalisation (float32, raw units / divisor)."""
        return self.preprocessing.to_unit(self.values[index])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.preprocessing.normalise(self.unit(index)), self.targets[index]

    def subset(self, indices: Sequence[int]) -> "ArrayDataset":
        indices = torch.as_tensor(np.asarray(indices), dtype=torch.int64)
        return ArrayDataset(self.values[indices], self.targets[indices], self.preprocessing)


class FileDataset(Dataset):
    """Items decoded from files when indexed (so DataLoader workers do the decoding):
    paths (N,), targets (N,) int64."""

    def __init__(self, paths: Sequence[Path], targets: torch.Tensor, preprocessing: Preprocessing):
        self.paths, self.targets, self.preprocessing = list(paths), targets, preprocessing
        self.cache: DecodedCache | None = None

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def cache_bytes(self) -> int:
        """Shared memory a decoded-image cache of this data set takes."""
        return DecodedCache.nbytes(len(self), self.preprocessing.shape)

    @property
    def reads_files(self) -> bool:
        """Whether indexing decodes files (False once every item is in the cache)."""
        return self.cache is None or not bool(self.cache.filled.all())

    def decode_all(self, workers: int = 0) -> None:
        """Decode every item the cache lacks into it now, in `workers` DataLoader worker
        processes (0: in this process). A file that does not decode, or decodes to another
        shape, raises its DataError."""
        missing = (~self.cache.filled).nonzero().flatten().tolist()
        for _ in DataLoader(missing, batch_size=64, num_workers=workers, collate_fn=self._check_items):
            pass

    def _check_items(self, indices: list[int]) -> int:
        for index in indices:
            self[index]
        return len(indices)

    def keep_decoded(self) -> None:
        """From now on keep every decoded item in shared memory (`axon.data.decoded_cache`),
        so later epochs and evaluations skip decoding. Call before the loader starts workers."""
        if self.cache is None:
            self.cache = DecodedCache(len(self), self.preprocessing.shape)

    def unit(self, index: int, geometry: bool = True) -> torch.Tensor:
        """Item `index` before normalisation; `geometry=False` skips resize and crop (for a
        random crop of the whole image)."""
        cached = self.cache is not None and geometry
        pixels = self.cache.get(index) if cached else None
        if pixels is None:
            path = self.paths[index]
            pixels = self.preprocessing.decode(path, str(path), geometry)
            if cached:
                self.cache.put(index, pixels)
        return self.preprocessing.to_unit(pixels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.preprocessing.normalise(self.unit(index))
        if tuple(x.shape) != self.preprocessing.shape:
            raise DataError(f"{self.paths[index]}: image gives an input of shape {list(x.shape)}, expected "
                            f"{list(self.preprocessing.shape)} (set data.crop, or data.resize and data.crop)")
        return x, self.targets[index]

    def __getitems__(self, indices: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Items `indices` (what a DataLoader fetches for one batch): cached ones converted
        as one batch, equal bit for bit to indexing them one by one."""
        if self.cache is None or not bool(self.cache.filled[indices].all()):
            return [self[index] for index in indices]
        x = self.preprocessing.normalise(self.preprocessing.to_unit(self.cache.pixels[indices]).transpose(0, 1))
        return list(zip(x.transpose(0, 1).unbind(0), self.targets[indices].unbind(0)))

    def subset(self, indices: Sequence[int]) -> "FileDataset":
        indices = [int(i) for i in indices]
        return FileDataset([self.paths[i] for i in indices], self.targets[indices], self.preprocessing)


def check_targets(labels: np.ndarray, classes: int, what: str) -> torch.Tensor:
    """Integer labels (N,) as int64, or a DataError naming `what` if any is outside [0, classes)."""
    if labels.dtype.kind not in "iu":
        raise DataError(f"{what}: expected integer class labels, got dtype {labels.dtype}")
    if labels.ndim != 1:
        raise DataError(f"{what}: expected one label per sample (shape (N,)), got shape {list(labels.shape)}")
    bad = (labels < 0) | (labels >= classes)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(f"{what}: label {int(labels[first])} at index {first} is out of range "
                        f"(expected 0..{classes - 1} for {classes} classes)")
    return torch.from_numpy(labels.astype(np.int64))


def check_same_length(inputs: int, labels: int, what: str) -> None:
    if inputs != labels:
        raise DataError(f"{what}: {inputs} inputs but {labels} labels (expected one label per input)")


def normalisation(normalize, channels: int, measure) -> tuple[tuple[float, ...] | None, tuple[float, ...] | None]:
    """(mean, std) per channel from the `normalize` argument: None (no normalisation),
    "measure" (`measure()` -> (mean, std) on the training data), "imagenet" (ImageNet's
    RGB statistics), or {"mean": [...], "std": [...]}."""
    if normalize is None:
        return None, None
    if normalize == "measure":
        mean, std = measure()
        return tuple(float(v) for v in mean), tuple(max(float(v), 1e-6) for v in std)
    if normalize == "imagenet":
        if channels != 3:
            raise ConfigError(f"data.normalize: 'imagenet' statistics are for RGB (3 channels), got {channels}")
        return (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    if isinstance(normalize, dict) and set(normalize) == {"mean", "std"}:
        return tuple(normalize["mean"]), tuple(normalize["std"])
    raise ConfigError(f"data.normalize: expected null, 'measure', 'imagenet' or {{mean: [...], std: [...]}}, "
                      f"got {normalize!r}")


def finish_splits(train, val, test, classes: list[str], val_fraction: float, split_seed: int,
                  what: str) -> DataSplits:
    """DataSplits of the reader's sets; without a validation set one is split off `train`
    (a stratified, seeded `val_fraction`)."""
    if val is None:
        kept, taken = stratified_split(train.targets, check_fraction("data.val_fraction", val_fraction),
                                       split_seed, what)
        train, val = train.subset(kept), train.subset(taken)
    return DataSplits(train=train, val=val, test=test, classes=list(classes),
                      input_shape=train.preprocessing.shape, train_targets=train.targets,
                      preprocessing=train.preprocessing.to_dict())
