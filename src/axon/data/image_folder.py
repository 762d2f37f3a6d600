"""Images in class folders: `root/<class>/<image>` (PNG, JPEG, BMP, WebP; subfolders of a
class folder included), decoded lazily per item so DataLoader workers do the decoding.

Validation and test sets are separate folders of the same layout, or stratified seeded
fractions of the training folder. Images are converted to RGB or grey, optionally resized
(shorter side) and center-cropped, scaled to [0, 1] and optionally normalised."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from axon.data.decoded_cache import cache_budget
from axon.data.datasets import FileDataset, finish_splits, normalisation
from axon.data.preprocessing import IMAGE_SUFFIXES, MODES, Preprocessing
from axon.data.registry import register_dataset
from axon.data.splits import DataSplits, check_fraction, stratified_split
from axon.errors import ConfigError, DataError

MEASURE_IMAGES = 2000
"""`normalize: measure` measures mean and std on at most this many training images (a seeded choice)."""


def scan(root: str | Path, classes: list[str] | None = None) -> tuple[list[str], list[Path], torch.Tensor]:
    """(class names, image paths, targets (N,) int64) of a class-folder tree. With `classes`
    (the training folder's), every class folder here must be one of them."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such image folder")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise DataError(f"{root}: no class folders (expected root/<class>/<image>)")
    names = [folder.name for folder in folders]
    if classes is not None:
        unknown = [name for name in names if name not in classes]
        if unknown:
            raise DataError(f"{root / unknown[0]}: class {unknown[0]!r} is not a class of the training folder")
    index = {name: k for k, name in enumerate(classes if classes is not None else names)}
    paths, targets = [], []
    for folder in folders:
        images = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
                        and not p.name.startswith("."))
        if not images:
            raise DataError(f"{folder}: empty class folder (no {'/'.join(IMAGE_SUFFIXES)} images)")
        paths += images
        targets += [index[folder.name]] * len(images)
    return names, paths, torch.tensor(targets, dtype=torch.int64)


def measure_mean_std(dataset: FileDataset, seed: int) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of (up to MEASURE_IMAGES) training images after resize/crop."""
    chosen = np.random.default_rng(seed).permutation(len(dataset))[:MEASURE_IMAGES]
    total = torch.zeros(3, dtype=torch.float64)  # per channel: count, sum, sum of squares
    sums = torch.zeros(dataset.preprocessing.shape[0], 2, dtype=torch.float64)
    for i in sorted(chosen.tolist()):
        x = dataset.unit(i).to(torch.float64).flatten(1)
        total[0] += x.shape[1]
        sums[:, 0] += x.sum(1)
        sums[:, 1] += (x * x).sum(1)
    mean = sums[:, 0] / total[0]
    std = (sums[:, 1] / total[0] - mean * mean).clamp(min=0).sqrt()
    return mean.tolist(), std.tolist()


@register_dataset("image_folder")
def image_folder(root: str, val: str | None = None, test: str | None = None, val_fraction: float = 0.1,
                 test_fraction: float | None = None, split_seed: int = 0, mode: str = "RGB",
                 resize: int | None = None, crop: int | None = None, normalize=None,
                 cache: bool | str = "auto") -> DataSplits:
    """Images in class folders root/<class>/<image> (PNG, JPEG, BMP, WebP), decoded in workers."""
    if cache not in ("auto", True, False):
        raise ConfigError(f"data.cache: expected auto, true or false, got {cache!r}")
    if mode not in MODES:
        raise ConfigError(f"data.mode: expected one of {list(MODES)} (RGB or grey), got {mode!r}")
    for field, value in (("resize", resize), ("crop", crop)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ConfigError(f"data.{field}: expected a positive number of pixels, got {value!r}")
    classes, paths, targets = scan(root)
    if crop is not None:
        size = (crop, crop)
    else:
        first = Preprocessing("image", (MODES[mode], 1, 1), mode=mode, resize=resize).decode(paths[0], str(paths[0]))
        size = tuple(first.shape[1:])
    shape = (MODES[mode],) + size
    test_set = None
    if test is not None:
        test_set = scan(test, classes)
    elif test_fraction is not None:
        kept, taken = stratified_split(targets, check_fraction("data.test_fraction", test_fraction), split_seed,
                                       str(root))
        test_set = (classes, [paths[i] for i in taken], targets[taken])
        paths, targets = [paths[i] for i in kept], targets[kept]
    val_set = scan(val, classes) if val is not None else None
    unnormalised = FileDataset(paths, targets, Preprocessing("image", shape, divisor=255.0, mode=mode,
                                                             resize=resize, crop=crop))

    mean, std = normalisation(normalize, shape[0], lambda: measure_mean_std(unnormalised, split_seed))
    preprocessing = Preprocessing("image", shape, divisor=255.0, mean=mean, std=std, mode=mode, resize=resize,
                                  crop=crop)

    def dataset(found):
        return None if found is None else FileDataset(found[1], found[2], preprocessing)

    splits = finish_splits(FileDataset(paths, targets, preprocessing), dataset(val_set), dataset(test_set),
                           classes, val_fraction, split_seed, str(root))
    if cache:
        keep_splits_decoded(splits, required=cache is True)
    return splits


def keep_splits_decoded(splits: DataSplits, required: bool) -> None:
    """Keep the decoded images of every split in shared memory when they fit the cache
    budget (`axon.data.decoded_cache.cache_budget`); `required`: a ConfigError if they do not."""
    sets = [found for found in (splits.train, splits.val, splits.test) if found is not None]
    needed, budget = sum(found.cache_bytes for found in sets), cache_budget()
    if needed > budget:
        if required:
            raise ConfigError(f"data.cache: the decoded images need {needed / 2**20:.0f} MiB, over the "
                              f"{budget / 2**20:.0f} MiB a cache may take (a quarter of the free memory, half "
                              f"of the free shared memory); set data.cache: auto or false")
        return
    for found in sets:
        found.keep_decoded()
