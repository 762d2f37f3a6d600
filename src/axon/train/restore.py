"""Checks of a trainer state read from a checkpoint before it is restored: a damaged
or hand-edited state is a CheckpointError naming the file and the entry, never a
KeyError or a failure an epoch later."""

from __future__ import annotations

from contextlib import contextmanager
from numbers import Real

import torch

from axon.errors import CheckpointError


def _count(state: dict, key: str, source: str) -> int:
    value = state.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CheckpointError(f"{source}: damaged trainer state: entry {key!r} is {value!r}, expected a count >= 0")
    return value


def _number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def check_counters(state: dict, source: str, steps_per_epoch: int) -> None:
    """The loop counters, running sums and history of `state` have the right types."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{source}: damaged trainer state: expected a mapping, got {type(state).__name__}")
    missing = [k for k in ("epoch", "global_step", "batch_in_epoch", "running", "history", "optimizer",
                           "schedule", "scaler", "rng", "callbacks") if k not in state]
    if missing:
        raise CheckpointError(f"{source}: damaged trainer state: entries {', '.join(map(repr, missing))} are missing")
    _count(state, "epoch", source)
    _count(state, "global_step", source)
    if _count(state, "batch_in_epoch", source) >= max(steps_per_epoch, 1):
        raise CheckpointError(f"{source}: damaged trainer state: entry 'batch_in_epoch' is "
                              f"{state['batch_in_epoch']}, expected fewer than the {steps_per_epoch} batches of an epoch")
    running = state["running"]
    if not isinstance(running, list) or len(running) != 4 or not all(map(_number, running)):
        raise CheckpointError(f"{source}: damaged trainer state: entry 'running' is {running!r}, expected 4 numbers")
    history = state["history"]
    if not isinstance(history, list) or not all(
            isinstance(row, dict) and all(isinstance(k, str) and _number(v) for k, v in row.items()) for row in history):
        raise CheckpointError(f"{source}: damaged trainer state: entry 'history' is not a list of "
                              f"{{metric: number}} rows")
    if not isinstance(state["callbacks"], dict):
        raise CheckpointError(f"{source}: damaged trainer state: entry 'callbacks' is not a mapping")


def check_optimizer_shapes(optimizer: torch.optim.Optimizer) -> None:
    """Every per-parameter state tensor (momenta) of a loaded optimizer has its parameter's
    shape (torch's load_state_dict checks only the group sizes); else a ValueError."""
    for group in optimizer.param_groups:
        for param in group["params"]:
            for name, value in optimizer.state.get(param, {}).items():
                if isinstance(value, torch.Tensor) and value.ndim and value.shape != param.shape:
                    raise ValueError(f"{name} has shape {tuple(value.shape)} for a parameter of shape "
                                     f"{tuple(param.shape)}")


def check_like(state, expected, source: str, entry: str) -> None:
    """`state` has the keys of `expected` (a fresh state dict) with values of the same
    kind (number, text, list, mapping), recursively into mappings."""
    if not isinstance(state, dict) or set(state) != set(expected):
        raise CheckpointError(f"{source}: damaged trainer state: entry {entry!r} does not have the expected keys")
    for key, value in expected.items():
        kind = _kind(value)
        if _kind(state[key]) != kind and not (kind == "number" and state[key] is None):
            raise CheckpointError(f"{source}: damaged trainer state: entry {entry}.{key} is {state[key]!r}, "
                                  f"expected a {kind}")
        if kind == "mapping":
            check_like(state[key], value, source, f"{entry}.{key}")


def _kind(value) -> str:
    if _number(value):
        return "number"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, (list, tuple)):
        return "list"
    return type(value).__name__


@contextmanager
def restoring(source: str, entry: str):
    """Turn any failure while restoring `entry` into a CheckpointError naming it."""
    try:
        yield
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError, OverflowError) as err:
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{source}: damaged trainer state: cannot restore {entry!r} ({detail})") from None
