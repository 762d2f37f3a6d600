"""Sharded data-parallel training (`distributed.strategy: fsdp`) on PyTorch's FSDP2
(`torch.distributed.fsdp.fully_shard`): each process holds 1/N of every parameter, of its
gradient and of the optimizer state; a layer's full weights exist only while it runs.

Checkpoints hold the full (unsharded) weights and optimizer state, so a sharded run's
checkpoint reads like any other (`axon eval`, `init_from`); gathering and re-sharding them
are collectives every process joins."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.distributed as dist
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions, get_model_state_dict, get_optimizer_state_dict, set_model_state_dict,
    set_optimizer_state_dict,
)
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard

from axon.errors import CheckpointError
from axon.train.checkpoint import verify_checksum

GATHER = StateDictOptions(full_state_dict=True, cpu_offload=True)  # full tensors, on rank 0 only
SCATTER = StateDictOptions(full_state_dict=True, strict=True)  # every rank passes the full tensors


def shard_model(model: nn.Module, device: torch.device) -> nn.Module:
    """Shard `model` in place across the process group: every module with parameters of
    its own (a Linear, a Conv, a norm layer) is one FSDP unit, gathered just before its
    forward and backward and freed after; then the root. Returns the model."""
    mesh = init_device_mesh(device.type, (dist.get_world_size(),))
    modules = list(model.modules())
    for module in reversed(modules[1:]):  # descendants before their ancestors
        if next(module.parameters(recurse=False), None) is not None:
            fully_shard(module, mesh=mesh)
    fully_shard(model, mesh=mesh)
    return model


def full_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """The unsharded state dict on the CPU of rank 0 ({} on the others); a collective."""
    return {name: tensor.contiguous() for name, tensor in get_model_state_dict(model, options=GATHER).items()}


def full_optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """The unsharded optimizer state (keyed by parameter name) on the CPU of rank 0 ({} on
    the others); a collective."""
    return get_optimizer_state_dict(model, optimizer, options=GATHER)


def load_full_weights(model: nn.Module, path: str | Path) -> None:
    """Every process reads the safetensors file `path` and keeps its shard; names and
    shapes must match the model. A collective."""
    weights = checked_weights(path, {name: tuple(t.shape) for name, t in model.state_dict().items()})
    set_model_state_dict(model, weights, options=SCATTER)


def checked_weights(path: str | Path, expected: dict[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    """The tensors of the safetensors file `path`, whose names and shapes must be
    `expected` (name -> shape); else a CheckpointError naming the file and the difference."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: weights file is missing")
    verify_checksum(path)
    try:
        weights = load_file(str(path))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{path}: damaged weights file ({err})") from err
    found = {name: tuple(t.shape) for name, t in weights.items()}
    if found != expected:
        missing, unexpected = sorted(expected.keys() - found.keys()), sorted(found.keys() - expected.keys())
        shapes = [name for name in expected.keys() & found.keys() if expected[name] != found[name]]
        raise CheckpointError(
            f"{path}: cannot load weights into the model (missing {missing[:3]}, unexpected "
            f"{unexpected[:3]}, other shapes {shapes[:3]})"
        )
    return weights


def load_full_optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer, state: dict) -> None:
    """Give each process its shard of a full optimizer state (from `full_optimizer_state`)."""
    set_optimizer_state_dict(model, optimizer, state, options=SCATTER)
