"""The Task interface: how a run config becomes data, a model, a loss, an evaluation and
predictions for one kind of problem."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from axon.run.config import RunConfig


class Task:
    """One kind of problem. Subclasses set `name` and implement every method."""

    name: str = ""

    def load_data(self, config: RunConfig) -> Any:
        """The train/val/test splits the config's `data` section names."""
        raise NotImplementedError

    def training_set(self, config: RunConfig, data: Any):
        """The data set training draws from: the train split, augmented as `data.augment`
        says (image augmentation by default)."""
        from axon.run.data import training_set

        return training_set(config.data, data, config.seed)

    def check_augment(self, spec: dict | None) -> None:
        """Raise a ConfigError naming `data.augment.<key>` unless the block is one this task
        runs; image augmentation (axon.data.augment) by default."""
        from axon.data.augment import check_augment

        check_augment(spec)

    def model_args(self, config: RunConfig, data: Any) -> dict:
        """The zoo builder's arguments: the config's `model.args`, completed with what the
        data implies (e.g. the number of classes) where the config leaves them out."""
        raise NotImplementedError

    def check_model(self, config: RunConfig, model: nn.Module, data: Any) -> None:
        """Raise a ConfigError when `model` cannot take the data's inputs or targets."""
        raise NotImplementedError

    def loss(self, config: RunConfig) -> nn.Module:
        raise NotImplementedError

    def record(self, data: Any) -> dict:
        """What the run folder keeps about the data (JSON): enough to predict on raw inputs."""
        raise NotImplementedError

    def evaluate(self, outputs: torch.Tensor, targets: torch.Tensor, record: dict) -> Any:
        """The task's metrics for `outputs` of the model against `targets`."""
        raise NotImplementedError

    test_metric: str = ""
    """What `test_score` measures, as the run's summary names it."""

    def test_score(self, trainer, data: Any) -> float:
        """The summary's number for the trainer's current weights on the test split."""
        raise NotImplementedError

    def callbacks(self, config: RunConfig, data: Any) -> list:
        """Callbacks the task adds to training (e.g. a metric computed every epoch)."""
        return []

    def epoch_metrics(self, config: RunConfig, data: Any) -> list[str] | None:
        """The names in every epoch's metrics row (what checkpoint.monitor and
        early_stopping.monitor may watch); None where they are known only after an epoch."""
        return None
