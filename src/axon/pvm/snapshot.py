"""PVM snapshots: one safetensors file holding every weight and running tensor of the
model, with the JSON state (model, step, switches, input modes) in its metadata under
`axon_pvm`. Written atomically (temp file, fsync, rename); nothing that loads with pickle.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from axon.errors import CheckpointError, ConfigError
from axon.pvm.config import PVMConfig, parse_model

FORMAT = "axon-pvm-snapshot-1"


class Switches(BaseModel):
    """The runner's and engine's switches at the snapshot (see PVMRunner.state)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    frozen: bool
    lr_override: float | None = Field(ge=0)
    lateral: bool | None
    feedback: bool | None
    deep_dream: bool
    dream: bool
    blindspot: bool
    noise: bool


class SnapshotState(BaseModel):
    """The JSON state in a snapshot's metadata."""

    model_config = ConfigDict(extra="forbid", strict=True)
    format: str
    model: dict
    step: int = Field(ge=0)
    has_pred: bool
    source: str = ""
    switches: Switches


def save_snapshot(path: str | Path, tensors: dict[str, torch.Tensor], state: dict) -> Path:
    """Write `tensors` (full-model, see `PVMEngine.state_tensors`) and the JSON-able
    `state` (must hold `model`, the config dict, and `step`) atomically to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"axon_pvm": json.dumps({"format": FORMAT, **state})}
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp),
                  metadata=meta)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def read_snapshot_state(path: str | Path) -> dict:
    """The JSON state of a snapshot, without loading its tensors."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: snapshot does not exist")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{path}: not a safetensors snapshot ({err})") from None
    if "axon_pvm" not in meta:
        raise CheckpointError(f"{path}: not an axon PVM snapshot (no axon_pvm metadata)")
    try:
        state = json.loads(meta["axon_pvm"])
    except (json.JSONDecodeError, RecursionError) as err:
        raise CheckpointError(f"{path}: damaged snapshot metadata (not JSON: {err})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"{path}: snapshot format {found!r}, expected {FORMAT}")
    try:
        return SnapshotState.model_validate(state).model_dump()
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CheckpointError(f"{path}: damaged snapshot metadata: {where}: {first['msg']} "
                              f"(got {first.get('input')!r})"[:500]) from None


def load_snapshot(path: str | Path, expect: PVMConfig | None = None
                  ) -> tuple[PVMConfig, dict, dict[str, torch.Tensor]]:
    """Read a snapshot: (its model, its state, its tensors). With `expect`, a snapshot
    of a different model is a CheckpointError naming the first differing key."""
    state = read_snapshot_state(path)
    try:
        cfg = parse_model(state["model"], f"{path} (model)")
    except ConfigError as err:
        raise CheckpointError(str(err)) from None
    if expect is not None and cfg != expect:
        mine, theirs = expect.model_dump(), cfg.model_dump()
        diff = _first_difference(mine, theirs)
        raise CheckpointError(
            f"{path}: snapshot is of a different model ({diff}); nothing was loaded")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{path}: damaged snapshot tensors ({err})") from None
    return cfg, state, tensors


def _first_difference(a: dict, b: dict, prefix: str = "") -> str:
    for key in a:
        if a[key] != b.get(key):
            if isinstance(a[key], dict) and isinstance(b.get(key), dict):
                return _first_difference(a[key], b[key], f"{prefix}{key}.")
            return f"{prefix}{key}: run model has {a[key]!r}, snapshot has {b.get(key)!r}"
    return "models differ"
