"""What config.yaml may change between a checkpoint and its resume.

The config a run's checkpoints were trained with travels in their trainer state
(`ConfigRecord`); `axon train --resume` compares config.yaml with it before anything
is built, so an edit that would break the run or silently make it another one (a
different model, data, optimizer, batch, or a One Cycle stretched over more epochs) is
one line instead of a failure deep in the restore."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from axon.errors import CheckpointError, ConfigError
from axon.run.config import RunConfig, dump_config
from axon.train.callbacks.base import Callback
from axon.train.checkpoint import STATE_FILE, checkpoint_folder, read_checkpoint

FREE = {"name", "out", "threads", "device", "compile", "data.num_workers", "data.pin_memory",
        "data.prefetch_factor", "checkpoint.every", "checkpoint.every_steps", "early_stopping.patience",
        "distributed.backend", "distributed.timeout"}
"""Keys that say how or where a run computes, not what it computes (another thread count
or device changes only the rounding)."""


class ConfigRecord(Callback):
    """Keeps the run's resolved config (YAML text) in the trainer state of every checkpoint."""

    changes_training = False

    def __init__(self, config: RunConfig):
        self.text = dump_config(config)

    def state_dict(self) -> dict:
        return {"config": self.text}


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """{dotted key: value} of nested mappings (lists are values)."""
    if not isinstance(value, dict):
        return {prefix: value}
    flat = {}
    for key, item in value.items():
        flat.update(_flat(item, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def recorded_config(last: Path) -> dict | None:
    """The config recorded in the checkpoint folder `last` (None for a checkpoint written
    before configs were recorded); a damaged checkpoint is a CheckpointError."""
    state = read_checkpoint(last)
    callbacks = state.get("callbacks") if isinstance(state, dict) else None
    record = callbacks.get(ConfigRecord.__name__) if isinstance(callbacks, dict) else None
    text = record.get("config") if isinstance(record, dict) else None
    if text is None:
        return None
    try:
        config = yaml.safe_load(text) if isinstance(text, str) else None
    except yaml.YAMLError:
        config = None
    if not isinstance(config, dict):
        raise CheckpointError(f"{checkpoint_folder(last) / STATE_FILE}: damaged trainer state: entry "
                              f"'callbacks.{ConfigRecord.__name__}.config' is not a run config")
    return config


def check_resumable(config: RunConfig, run_dir: Path) -> None:
    """config.yaml of `run_dir` (read as `config`) differs from the config its
    checkpoints/last was trained with only in FREE keys (and in epochs, unless the
    schedule is a One Cycle, whose length is the run's); else a ConfigError naming the
    changed keys."""
    last = run_dir / "checkpoints" / "last"
    recorded = recorded_config(last)
    if recorded is None:
        return
    before, now = _flat(recorded), _flat(yaml.safe_load(dump_config(config)))
    changed = [key for key in dict.fromkeys([*before, *now])
               if before.get(key) != now.get(key) and key not in FREE]
    if changed == ["epochs"] and now.get("schedule.name") != "onecycle":
        return
    if not changed:
        return
    where = f"{run_dir / 'config.yaml'}: edited since {last} was written"
    restart = f"or start a new run (init_from: {last / 'model.safetensors'} keeps its weights)"
    if changed == ["epochs"]:
        raise ConfigError(f"{where} (epochs {before['epochs']} -> {now['epochs']}): the One Cycle schedule "
                          f"spans the epochs the run began with and cannot be stretched; put epochs back, {restart}")
    shown = "; ".join(f"{key} {before.get(key)!r} -> {now.get(key)!r}" for key in changed[:3])
    more = f"; and {len(changed) - 3} more" if len(changed) > 3 else ""
    raise ConfigError(f"{where} ({shown}{more}): a resume trains on with the config the run began with; "
                      f"put the value{'s' if len(changed) > 1 else ''} back, {restart}")
