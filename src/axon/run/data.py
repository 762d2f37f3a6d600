"""The data a run config names (through the data registry) and its training sampler."""

from __future__ import annotations

import os

from axon.data import DataSplits, build_dataset
from axon.data.augment import AugmentedDataset, build_augmentation
from axon.data.sampling import CurriculumSampler, RepeatFactorSampler, task_stages
from axon.errors import ConfigError
from axon.run.config import DataConfig


def load_data(config: DataConfig) -> DataSplits:
    """The train/val/test splits of the data set the config names, read with its arguments."""
    return build_dataset(config.name, **config.reader_arguments())


def training_set(config: DataConfig, splits: DataSplits, seed: int):
    """The training set, augmented as `data.augment` says (per-sample draws from the run's
    seed, the epoch and the sample index)."""
    augmentation = build_augmentation(config.augment, splits.input_shape)
    if augmentation is None:
        return splits.train
    if not hasattr(splits.train, "unit"):
        raise ConfigError(f"data.augment: data set {config.name!r} cannot be augmented (augmentation is for "
                          f"the image readers: image_folder, mnist, fashion_mnist, cifar10, cifar100)")
    return AugmentedDataset(splits.train, augmentation, seed=seed)


def worker_count(config: DataConfig, train) -> int:
    """`data.num_workers`, with auto made explicit: 2 worker processes (at most the CPU
    count) when the training set decodes files as it is indexed, else 0 (in memory:
    workers would only add start-up and copying)."""
    if config.num_workers != "auto":
        return config.num_workers
    return min(2, os.cpu_count() or 1) if reads_files(train) else 0


def decode_into_memory(config: DataConfig, splits: DataSplits, progress: bool) -> None:
    """Decode now, with the run's loader workers, every split that keeps its decoded items
    in memory (image_folder's `cache`), so that the epochs read memory, not files (and
    `num_workers: auto` then needs no workers: in memory they only add start-up and copying)."""
    pending = [found for found in (splits.train, splits.val, splits.test)
               if getattr(found, "cache", None) is not None and found.reads_files]
    if not pending:
        return
    workers = worker_count(config, splits.train)
    if progress:
        count, size = sum(len(found) for found in pending), sum(found.cache_bytes for found in pending)
        print(f"decoding {count:,} images into memory ({size / 2**20:.1f} MiB) with {workers} "
              f"worker{'s' if workers != 1 else ''}", flush=True)
    for found in pending:
        found.decode_all(workers)


def reads_files(data) -> bool:
    """Whether indexing `data`, or a data set it wraps (`.dataset`, `.frames`), reads files
    (a `reads_files` class attribute says so)."""
    while data is not None:
        if getattr(data, "reads_files", False):
            return True
        data = getattr(data, "dataset", None) or getattr(data, "frames", None)
    return False


def sampler_factory(config: DataConfig, splits: DataSplits):
    """The training sampler the data config asks for (repeat-factor or curriculum by
    class), checked now; None for the plain seeded shuffle."""
    if config.repeat_factor is not None and config.curriculum_epochs is not None:
        raise ConfigError("data: repeat_factor and curriculum_epochs cannot be combined; choose one")
    if config.repeat_factor is None and config.curriculum_epochs is None:
        return None
    labels = splits.train_targets
    if config.repeat_factor is not None:
        def factory(data, seed, rank, world_size):
            return RepeatFactorSampler(labels, config.repeat_factor, seed, rank=rank, world_size=world_size)
    else:
        try:
            stages = task_stages(labels, config.curriculum_epochs)
            CurriculumSampler(labels, stages)
        except ValueError as err:
            raise ConfigError(f"data.curriculum_epochs: {err}") from None

        def factory(data, seed, rank, world_size):
            return CurriculumSampler(labels, stages, seed, rank=rank, world_size=world_size)
    return factory
