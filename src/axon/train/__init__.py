"""The training engine: Trainable, Trainer, callbacks, configs, checkpoints."""

from axon.train.config import RunConfig, load_config
from axon.train.trainable import StepResult, Trainable, evaluate
from axon.train.trainer import Trainer, run_folder_callbacks, seed_everything

__all__ = [
    "RunConfig", "StepResult", "Trainable", "Trainer", "evaluate", "load_config",
    "run_folder_callbacks", "seed_everything",
]
