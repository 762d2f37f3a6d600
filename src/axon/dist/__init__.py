"""Data-parallel training on torch.distributed: the distributed Trainable and Trainer,
launching N processes on one node or many (the elastic agent behind torchrun). Runs from
a config (also on Spark) are in axon.run.distributed and axon.run.spark."""

from axon.dist.errors import DistributedError
from axon.dist.group import join, launched, leave
from axon.dist.launch import launch
from axon.dist.trainable import AveragedTrainable
from axon.dist.trainer import DistributedTrainer

__all__ = [
    "AveragedTrainable", "DistributedError", "DistributedTrainer", "join", "launch", "launched", "leave",
]
