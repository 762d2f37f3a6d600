"""Data-parallel training on torch.distributed: the distributed Trainable and Trainer,
launching N processes on one node or many (the elastic agent behind torchrun), config
runs, and the Spark launcher (axon.dist.spark, needs the `spark` extra)."""

from axon.dist.errors import DistributedError
from axon.dist.group import join, launched, leave
from axon.dist.launch import launch
from axon.dist.runs import launch_run, run_process
from axon.dist.trainable import AveragedTrainable
from axon.dist.trainer import DistributedTrainer

__all__ = [
    "AveragedTrainable", "DistributedError", "DistributedTrainer", "join", "launch", "launch_run",
    "launched", "leave", "run_process",
]
