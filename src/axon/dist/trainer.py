"""The Trainer of one process of a data-parallel job."""

from __future__ import annotations

from torch.utils.data import DataLoader, Subset, TensorDataset

import torch
import torch.distributed as dist

from axon.dist.group import collective, comm_device
from axon.dist.trainable import AveragedTrainable
from axon.train.callbacks.base import Callback
from axon.train.trainer import Data, Trainer, resolve_device


class DistributedTrainer(Trainer):
    """A `Trainer` for one process of a data-parallel job; build it after joining the
    process group (`axon.dist.group.join`). It takes the Trainer's arguments plus
    `timeout` (seconds, the group's collective timeout, quoted in errors).

    - `batch_size` is per process: the global batch is batch_size * world_size.
    - The training sampler gives process r every world_size-th sample of the epoch's
      seeded order from r, and resumes mid-epoch; so N processes with batch B/N see the
      same samples per step as one process with batch B.
    - Gradients are averaged across processes after each backward (AveragedTrainable).
    - Validation and `evaluate` data are split across processes and the sums all-reduced,
      so every process gets the metrics of the whole set.
    - Only rank 0 runs the file-writing callbacks (logs, plots, checkpoints); the Trainer
      waits at a barrier after every epoch, so a checkpoint is complete before any
      process goes on, and every process loads the checkpoint on resume."""

    def __init__(self, model: torch.nn.Module, *, timeout: float = 300.0, device: str = "auto", **kwargs):
        if not dist.is_initialized():
            raise RuntimeError("DistributedTrainer: join the process group first (axon.dist.group.join)")
        resolved = resolve_device(device)
        if resolved.type == "cuda" and dist.get_backend() == "nccl":
            resolved = comm_device()  # one GPU per process: cuda:LOCAL_RANK
        super().__init__(model, device=resolved, **kwargs)
        self.rank, self.world_size = dist.get_rank(), dist.get_world_size()
        self.timeout = timeout
        self.callbacks.append(EpochTotals())
        self.callbacks.sort(key=lambda cb: cb.order)

    def make_trainable(self, loader: DataLoader) -> AveragedTrainable:
        return AveragedTrainable(super().make_trainable(loader), self.timeout)

    def all_reduce_sums(self, values: list[float]) -> list[float]:
        totals = torch.tensor(values, dtype=torch.float64, device=comm_device())
        with collective("the all-reduce of epoch metrics", self.timeout):
            dist.all_reduce(totals)
        return totals.tolist()

    def barrier(self) -> None:
        with collective("the end-of-epoch barrier", self.timeout):
            dist.barrier()

    def make_loader(self, data: Data, train: bool) -> DataLoader:
        if train or isinstance(data, DataLoader):
            return super().make_loader(data, train)
        if isinstance(data, tuple):
            data = TensorDataset(*data)
        return super().make_loader(Subset(data, range(self.rank, len(data), self.world_size)), train)


class EpochTotals(Callback):
    """The epoch's running sums over all processes, kept in every checkpoint.

    A checkpoint holds rank 0's trainer state; resumed mid-epoch, every process takes an
    equal share of these totals as its running sums, so the epoch's metrics (the sums
    all-reduced at its end) are those of an uninterrupted run."""

    def __init__(self):
        self.totals = [0.0, 0.0, 0.0]

    def on_fit_start(self, trainer) -> None:
        if trainer.batch_in_epoch > 0:  # resumed mid-epoch
            share = [value / trainer.world_size for value in self.totals]
            trainer._running = share + trainer._running[3:]

    def on_epoch_start(self, trainer) -> None:
        self.totals = [0.0, 0.0, 0.0]

    def on_batch_end(self, trainer, result) -> None:
        self.totals = [a + b for a, b in zip(self.totals, result.totals)]

    def state_dict(self) -> dict:
        return {"totals": list(self.totals)}

    def load_state_dict(self, state: dict) -> None:
        self.totals = list(state["totals"])
