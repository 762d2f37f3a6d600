"""`load_run(RUN_DIR)`: a trained run's model with its class names and preprocessing,
ready to predict, evaluate or export."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from axon.run.config import RunConfig
from axon.run.folder import read_run_config, read_task_record, weights_path
from axon.run.python_runs import IN_MEMORY
from axon.run.runs import build_model, load_data
from axon.run.tasks import Task, get_task
from axon.train.checkpoint import load_weights
from axon.train.trainer import resolve_device


@dataclass
class LoadedRun:
    """A run folder's model (eval mode, on `device`) with what the run recorded."""

    run_dir: Path
    config: RunConfig
    model: nn.Module
    task: Task
    record: dict
    """task.json: task, classes, input_shape, preprocessing."""
    device: torch.device

    @property
    def classes(self) -> list[str]:
        return list(self.record.get("classes", []))

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.record["input_shape"])

    @property
    def preprocessing(self) -> dict:
        """How raw inputs become the model's inputs (JSON; see axon.data.preprocessing_from_dict)."""
        return dict(self.record.get("preprocessing") or {})

    @property
    def has_data(self) -> bool:
        """Whether the run's data set can be read again (not so for a run trained from Python
        on in-memory arrays)."""
        return self.config.data.name != IN_MEMORY

    def data(self):
        """The run's data splits, read again as its config says; for a run trained on
        in-memory arrays a RunDirError saying what to do instead."""
        if not self.has_data:
            read_run_config(self.run_dir)  # raises, naming the folder and what to do
        return load_data(self.config)

    @torch.no_grad()
    def __call__(self, inputs: torch.Tensor) -> torch.Tensor:
        """The model's outputs for preprocessed inputs (N, *input_shape), on the CPU."""
        return self.model(inputs.to(self.device)).float().cpu()


def load_run(run_dir: str | Path, checkpoint: str = "best", device: str | None = None) -> LoadedRun:
    """The model of RUN_DIR's `checkpoint` (best or last) in eval mode, on `device`
    (default: the run's own device setting), with the run's class names and preprocessing."""
    run_dir = Path(run_dir)
    config = read_run_config(run_dir, needs_data=False)
    record = read_task_record(run_dir)
    task = get_task(record["task"])
    path = weights_path(run_dir, checkpoint)
    model = build_model(config)
    load_weights(model, path)
    target = resolve_device(device or config.device)
    return LoadedRun(run_dir, config, model.to(target).eval(), task, record, target)
