"""Bodies of the processes the tests launch (importable by name in spawned processes)."""

from __future__ import annotations

import time

import torch
import torch.distributed as dist
from torch import nn

from axon.dist import DistributedTrainer, join, leave
from axon.dist.group import check_same_config, collective
from axon.train import Trainer


def data(samples: int):
    """A float64 classification set: (samples, 6) inputs, labels in 0..2."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(samples, 6, generator=g, dtype=torch.float64)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long() + (x[:, 2] > 1).long()
    return x, y


def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3)).double()


def fit(trainer_class, optimizer: str, batch_size: int, samples: int, **kwargs):
    """Final weights and history of 2 epochs on `data(samples)` (validated on the same set)."""
    net = model()
    trainer = trainer_class(net, epochs=2, batch_size=batch_size, optimizer=optimizer, lr=0.05,
                            schedule="onecycle", seed=3, device="cpu", progress=False, **kwargs)
    history = trainer.fit(data(samples), val_data=data(samples // 2 + 1))
    return {k: v.clone() for k, v in net.state_dict().items()}, history


def train_both(global_batch: int, samples: int):
    """In each process: SGD and AdamW runs with per-process batch global_batch / N, and
    the final state (weights and batch-norm statistics) of a model with batch norm."""
    join("gloo", timeout=60)
    try:
        per_process = global_batch // dist.get_world_size()
        runs = {name: fit(DistributedTrainer, name, per_process, samples, timeout=60) for name in ("sgd", "adamw")}
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3)).double()
        DistributedTrainer(net, epochs=1, batch_size=per_process, seed=3, device="cpu", progress=False,
                           timeout=60).fit(data(samples))
        runs["batchnorm"] = {k: v.clone() for k, v in net.state_dict().items()}
        return runs
    finally:
        leave()


def single(optimizer: str, batch_size: int, samples: int):
    return fit(Trainer, optimizer, batch_size, samples)


def fail_on_rank(bad_rank: int):
    join("gloo", timeout=60)
    if dist.get_rank() == bad_rank:
        raise ValueError(f"boom in the model on purpose (rank {bad_rank})")
    with collective("a test all-reduce", 60):
        dist.all_reduce(torch.ones(1))


def hang_on_rank(bad_rank: int, timeout: float):
    """Rank `bad_rank` sleeps instead of joining the all-reduce the others wait in."""
    join("gloo", timeout=timeout)
    if dist.get_rank() == bad_rank:
        time.sleep(600)
    with collective("a test all-reduce", timeout):
        dist.all_reduce(torch.ones(1))


def different_configs():
    join("gloo", timeout=60)
    check_same_config(f"seed: {dist.get_rank()}\n", 60)
