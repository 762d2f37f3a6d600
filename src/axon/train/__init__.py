"""The training engine: Trainable, Trainer, callbacks, optimizer/schedule configs, checkpoints.
It knows no data set and no model by name (runs from a config are axon.run)."""

from axon.train.trainable import StepResult, Trainable, evaluate
from axon.train.trainer import Trainer, run_folder_callbacks, seed_everything

__all__ = [
    "StepResult", "Trainable", "Trainer", "evaluate",
    "run_folder_callbacks", "seed_everything",
]
