"""Bodies of the processes the tests launch (importable by name in spawned processes)."""

from __future__ import annotations

import time

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.tensor import DTensor

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
    return full_state(net), history


def full_state(net: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict, sharded tensors gathered (on every process: a collective)."""
    return {k: v.full_tensor() if isinstance(v, DTensor) else v.clone() for k, v in net.state_dict().items()}


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


def assert_matches_single(results: dict, optimizer: str, global_batch: int, samples: int) -> None:
    """Every process's run `optimizer` of a 2-process job ended with the weights (to 1e-10)
    and metrics of one process with the global batch."""
    weights, history = single(optimizer, global_batch, samples)
    start = model().state_dict()
    for rank in (0, 1):
        dist_weights, dist_history = results[rank][optimizer]
        for key, value in weights.items():
            assert not torch.equal(value, start[key])  # it trained
            assert torch.allclose(dist_weights[key], value, rtol=0, atol=1e-10), (optimizer, rank, key)
        for row, dist_row in zip(history, dist_history, strict=True):
            # the engine reports losses in float32
            for metric, tol in (("train_loss", 1e-6), ("train_acc", 0), ("lr", 1e-15),
                                ("val_loss", 1e-6), ("val_acc", 0)):
                assert abs(row[metric] - dist_row[metric]) <= tol, (optimizer, rank, metric)


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


class CrashAt:
    """A callback that raises on every process after optimizer step `step` (a simulated crash)."""

    order = 200
    main_process_only = False

    def __init__(self, step: int):
        self.step = step

    def __getattr__(self, name):  # the other hooks do nothing
        return lambda *args, **kwargs: None

    def on_batch_end(self, trainer, result) -> None:
        if trainer.global_step == self.step:
            raise RuntimeError("simulated crash")


def train_sharded(global_batch: int, samples: int, run_dir: str):
    """In each process, with strategy fsdp: SGD and AdamW runs as in `train_both`, each
    process's share of the first layer's weight, and a run with checkpoints every 2 steps
    that crashes at step 5 and resumes from checkpoints/last (its final full weights and
    those of the same run uninterrupted)."""
    from axon.dist import sharding
    from axon.train.checkpoint import load_weights

    join("gloo", timeout=60)
    try:
        per_process = global_batch // dist.get_world_size()
        runs = {name: fit(DistributedTrainer, name, per_process, samples, timeout=60, strategy="fsdp")
                for name in ("sgd", "adamw")}
        net = model()
        DistributedTrainer(net, device="cpu", progress=False, timeout=60, strategy="fsdp")
        runs["shard_numel"] = net[0].weight.to_local().numel()

        def adamw_trainer(folder, callbacks=()):
            net = model()
            trainer = DistributedTrainer(net, epochs=2, batch_size=per_process, optimizer="adamw", lr=0.05,
                                         seed=3, device="cpu", progress=False, timeout=60, strategy="fsdp",
                                         run_dir=f"{run_dir}/{folder}", checkpoint_every_steps=2,
                                         callbacks=list(callbacks))
            return trainer, net

        trainer, net = adamw_trainer("whole")
        trainer.fit(data(samples), val_data=data(samples // 2 + 1))
        runs["whole"] = sharding.full_weights(net)
        trainer, _ = adamw_trainer("crashed", [CrashAt(5)])
        try:
            trainer.fit(data(samples), val_data=data(samples // 2 + 1))
        except RuntimeError as err:
            assert "simulated crash" in str(err)
        trainer, net = adamw_trainer("crashed")
        trainer.fit(data(samples), val_data=data(samples // 2 + 1), ckpt_path=f"{run_dir}/crashed/checkpoints/last")
        runs["resumed"] = sharding.full_weights(net)
        plain = model()
        load_weights(plain, f"{run_dir}/crashed/checkpoints/last/model.safetensors")
        runs["checkpoint"] = {k: v.clone() for k, v in plain.state_dict().items()}
        return runs
    finally:
        leave()


def listening_addresses() -> list[str]:
    """The local addresses (hex, as /proc/net/tcp{,6} gives them) listening on MASTER_PORT."""
    import os

    port = f"{int(os.environ['MASTER_PORT']):04X}"
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in list(f)[1:]:
                local, state = line.split()[1], line.split()[3]
                address, _, local_port = local.rpartition(":")
                if local_port == port and state == "0A":  # LISTEN
                    found.append(address)
    return found
