"""Image (or feature) classification: logits (N, C) against class indices (N,)."""

from __future__ import annotations

import torch
from torch import nn

from axon import zoo
from axon.errors import ConfigError
from axon.run.metrics import ClassificationMetrics, classification_metrics
from axon.run.tasks.base import Task
from axon.train.callbacks.loggers import COLUMNS
from axon.train.losses import build_loss


class Classification(Task):
    name = "classification"

    def load_data(self, config):
        from axon.run.data import load_data

        data = load_data(config.data)
        if data.val is None or data.test is None:
            missing = "val" if data.val is None else "test"
            raise ConfigError(f"data: data set {config.data.name!r} gave no {missing} split "
                              f"(give one, or a {missing}_fraction)")
        return data

    def model_args(self, config, data) -> dict:
        """`model.args`, plus num_classes, in_bands, image_size and input_shape from the data
        for the builder arguments of those names that the config does not give."""
        shape = tuple(data.input_shape)
        implied = {"num_classes": len(data.classes), "input_shape": list(shape)}
        if len(shape) == 3:
            implied["in_bands"] = shape[0]
            if shape[1] == shape[2]:
                implied["image_size"] = shape[1]
        takes = zoo.arguments(config.model.name)
        return {**{k: v for k, v in implied.items() if k in takes}, **config.model.args}

    def check_model(self, config, model: nn.Module, data) -> None:
        inputs = torch.stack([data.train[i][0] for i in range(min(2, len(data.train)))])
        model.eval()
        with torch.no_grad():
            try:
                outputs = model(inputs)
            except (RuntimeError, ValueError) as err:
                raise ConfigError(
                    f"model {config.model.name!r}: does not accept the data's inputs of shape "
                    f"{tuple(inputs.shape)} ({str(err).splitlines()[0]})"
                ) from None
        model.train()
        classes = len(data.classes)
        if not isinstance(outputs, torch.Tensor) or tuple(outputs.shape) != (len(inputs), classes):
            got = tuple(outputs.shape) if isinstance(outputs, torch.Tensor) else type(outputs).__name__
            raise ConfigError(
                f"model {config.model.name!r}: gives outputs of shape {got} for a batch of {len(inputs)}, "
                f"expected ({len(inputs)}, {classes}) for the {classes} classes of data {config.data.name!r}"
            )

    def loss(self, config) -> nn.Module:
        return build_loss(config.loss, config.label_smoothing, config.focal_gamma)

    def record(self, data) -> dict:
        return {"task": self.name, "classes": list(data.classes), "input_shape": list(data.input_shape),
                "preprocessing": dict(data.preprocessing)}

    test_metric = "test accuracy"

    def test_score(self, trainer, data) -> float:
        return trainer.evaluate(data.test)["acc"]

    def evaluate(self, outputs: torch.Tensor, targets: torch.Tensor, record: dict) -> ClassificationMetrics:
        return classification_metrics(outputs.float(), targets, record["classes"])

    def epoch_metrics(self, config, data) -> list[str]:
        return list(COLUMNS)  # the engine's columns; accuracy and validation are always there
