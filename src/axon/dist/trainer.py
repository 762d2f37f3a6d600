"""The Trainer of one process of a data-parallel job."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader

from axon.dist import sharding
from axon.dist.group import collective, comm_device
from axon.dist.trainable import AveragedTrainable, ShardedTrainable
from axon.errors import ConfigError
from axon.train.callbacks.base import Callback
from axon.train.checkpoint import MODEL_FILE, STATE_FILE, checkpoint_folder, read_checkpoint, snapshot
from axon.train.inputs import as_dataset
from axon.train.trainer import Data, Trainer, resolve_device

STRATEGIES = ("ddp", "fsdp")


class DistributedTrainer(Trainer):
    """A `Trainer` for one process of a data-parallel job; build it after joining the
    process group (`axon.dist.group.join`). It takes the Trainer's arguments plus
    `timeout` (seconds, the group's collective timeout, quoted in errors) and `strategy`:
    "ddp" (every process holds the whole model) or "fsdp" (sharded, see axon.dist.sharding).

    - `batch_size` is per process: the global batch is batch_size * world_size.
    - The training sampler gives process r every world_size-th sample of the epoch's
      seeded order from r, and resumes mid-epoch; so N processes with batch B/N see the
      same samples per step as one process with batch B.
    - Gradients are averaged across processes after each backward (AveragedTrainable;
      with fsdp, FSDP's reduce-scatter averages them).
    - Validation and `evaluate` data are split across processes in equal numbers of
      batches and the sums all-reduced, so every process gets the metrics of the whole set.
    - Only rank 0 runs the file-writing callbacks (logs, plots) and writes checkpoints;
      the Trainer waits at a barrier after every epoch and at the end, so a checkpoint is
      complete before any process goes on, and every process loads the checkpoint on resume."""

    def __init__(self, model: torch.nn.Module, *, timeout: float = 300.0, device: str = "auto",
                 strategy: str = "ddp", **kwargs):
        if not dist.is_initialized():
            raise RuntimeError("DistributedTrainer: join the process group first (axon.dist.group.join)")
        if strategy not in STRATEGIES:
            raise ConfigError(f"distributed.strategy: expected one of {', '.join(STRATEGIES)}, got {strategy!r}")
        resolved = resolve_device(device)
        if resolved.type == "cuda" and dist.get_backend() == "nccl":
            resolved = comm_device()  # one GPU per process: cuda:LOCAL_RANK
        super().__init__(model, device=resolved, **kwargs)
        self.rank, self.world_size = dist.get_rank(), dist.get_world_size()
        self.timeout = timeout
        self.sharded = strategy == "fsdp"
        if self.sharded:
            if getattr(self.optimizer_config, "name", None) == "lbfgs":
                raise ConfigError("distributed.strategy: fsdp cannot run the lbfgs optimizer (use sgd or adamw)")
            sharding.shard_model(self.model, self.device)
        self.callbacks.append(EpochTotals())
        self.callbacks.sort(key=lambda cb: cb.order)

    def make_trainable(self, loader: DataLoader) -> AveragedTrainable:
        wrapper = ShardedTrainable if self.sharded else AveragedTrainable
        return wrapper(super().make_trainable(loader), self.timeout)

    # ----- checkpoints of a sharded model: gathered and re-sharded by every process
    def optimizer_state(self) -> dict:
        if not self.sharded:
            return super().optimizer_state()
        with collective("the gather of the optimizer state", self.timeout):
            return sharding.full_optimizer_state(self.model, self.optimizer)

    def load_optimizer_state(self, state: dict) -> None:
        if not self.sharded:
            return super().load_optimizer_state(state)
        with collective("the re-sharding of the optimizer state", self.timeout):
            sharding.load_full_optimizer_state(self.model, self.optimizer, state)

    def checkpoint_payload(self) -> tuple[dict, dict] | None:
        if not self.sharded:
            return super().checkpoint_payload()
        with collective("the gather of the weights for a checkpoint", self.timeout):
            weights = sharding.full_weights(self.model)
        state = snapshot(self.state_dict())  # every process: the optimizer state is gathered
        return (weights, state) if self.is_main_process else None

    def load_checkpoint(self, folder: str | Path) -> None:
        if not self.sharded:
            return super().load_checkpoint(folder)
        state = read_checkpoint(folder)  # checked before the model is touched
        self.load_weights(checkpoint_folder(folder) / MODEL_FILE)
        self.load_state_dict(state, checkpoint_folder(folder) / STATE_FILE)

    def load_weights(self, path: str | Path) -> None:
        if not self.sharded:
            return super().load_weights(path)
        with collective("the re-sharding of the weights", self.timeout):
            sharding.load_full_weights(self.model, path)

    def all_reduce_sums(self, values: list[float]) -> list[float]:
        totals = torch.tensor(values, dtype=torch.float64, device=comm_device())
        with collective("the all-reduce of epoch metrics", self.timeout):
            dist.all_reduce(totals)
        return totals.tolist()

    def barrier(self) -> None:
        with collective("the end-of-epoch barrier", self.timeout):
            dist.barrier()

    def make_loader(self, data: Data, train: bool, what: str | None = None, inputs_only: bool = False) -> DataLoader:
        if train or isinstance(data, DataLoader):
            return super().make_loader(data, train, what, inputs_only)
        data = as_dataset(data, what or "data", self.input_key, self.target_key, inputs_only)
        if isinstance(data, DataLoader):
            return data
        batches = even_batches(len(data), *self.data_shard, self.eval_batch_size)
        # its own generator, as the Trainer's: starting an iterator leaves the global RNG alone
        return DataLoader(data, batch_sampler=batches, num_workers=self.num_workers,
                          collate_fn=getattr(data, "collate_fn", None),
                          pin_memory=self.pin_memory and self.device.type == "cuda",
                          generator=torch.Generator().manual_seed(0))


def even_batches(samples: int, rank: int, world_size: int, batch_size: int) -> list[list[int]]:
    """Process `rank`'s share of `samples` evaluation samples as batches of at most about
    `batch_size`: contiguous shards of sizes differing by at most one, and every process
    the same number of non-empty batches (a sharded forward is a collective)."""
    if batch_size < 2:
        raise ValueError(f"even_batches: batch_size must be at least 2, got {batch_size}")
    if samples < world_size:
        raise ValueError(f"evaluation data: {samples} samples cannot be split across {world_size} processes")
    start, stop = rank * samples // world_size, (rank + 1) * samples // world_size
    largest_share = -(-samples // world_size)
    count = -(-largest_share // batch_size)  # with batch_size >= 2 no share gets an empty batch
    size = stop - start
    return [list(range(start + i * size // count, start + (i + 1) * size // count)) for i in range(count)]


class EpochTotals(Callback):
    """The epoch's running sums over all processes, kept in every checkpoint.

    A checkpoint holds rank 0's trainer state; resumed mid-epoch, every process takes an
    equal share of these totals as its running sums, so the epoch's metrics (the sums
    all-reduced at its end) are those of an uninterrupted run."""

    def __init__(self):
        self.totals = [0.0, 0.0, 0.0]
        self.restored = False  # from a checkpoint of a multi-process run

    def on_fit_start(self, trainer) -> None:
        if trainer.batch_in_epoch > 0:  # resumed mid-epoch
            if not self.restored:  # a one-process checkpoint: its running sums are the totals
                self.totals = list(trainer._running[:3])
            share = [value / trainer.data_shard[1] for value in self.totals]
            trainer._running = share + trainer._running[3:]

    def on_epoch_start(self, trainer) -> None:
        self.totals = [0.0, 0.0, 0.0]

    def on_batch_end(self, trainer, result) -> None:
        self.totals = [a + b for a, b in zip(self.totals, result.totals)]

    def state_dict(self) -> dict:
        return {"totals": list(self.totals)}

    def load_state_dict(self, state: dict) -> None:
        self.totals = list(state["totals"])
        self.restored = True
