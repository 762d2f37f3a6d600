"""The data a run config names: its splits, training sampler and curriculum."""

from __future__ import annotations

from axon.data import DigitsSplits, load_digits_splits
from axon.data.sampling import CurriculumSampler, RepeatFactorSampler, task_stages
from axon.data.shapes import load_shapes_splits
from axon.errors import ConfigError
from axon.run.config import DataConfig


def load_data(config: DataConfig) -> DigitsSplits:
    """The train/val/test splits a data config names."""
    if config.name == "shapes":
        return load_shapes_splits(seed=config.split_seed, imbalance=config.imbalance, size=config.image_size)
    return load_digits_splits(config.test_fraction, config.val_fraction, config.split_seed)


def training_labels(splits):
    """The class index of every training sample, (N,) int64."""
    return splits.train.tensors[1]


def sampler_factory(config: DataConfig, splits):
    """The training sampler the data config asks for (repeat-factor or curriculum by
    class), checked now; None for the plain seeded shuffle."""
    if config.repeat_factor is not None and config.curriculum_epochs is not None:
        raise ConfigError("data: repeat_factor and curriculum_epochs cannot be combined; choose one")
    if config.repeat_factor is None and config.curriculum_epochs is None:
        return None
    labels = training_labels(splits)
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

