"""PVM snapshots: one safetensors file holding every weight and running tensor of the
model, with the JSON state (model, step, switches, input modes) in its metadata under
`axon_pvm`. Written atomically (temp file, fsync, rename); nothing that loads with pickle.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from axon.errors import CheckpointError
from axon.pvm.config import PVMConfig, parse_model

FORMAT = "axon-pvm-snapshot-1"


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
    state = json.loads(meta["axon_pvm"])
    if state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: snapshot format {state.get('format')!r}, expected {FORMAT}")
    return state


def load_snapshot(path: str | Path, expect: PVMConfig | None = None
                  ) -> tuple[PVMConfig, dict, dict[str, torch.Tensor]]:
    """Read a snapshot: (its model, its state, its tensors). With `expect`, a snapshot
    of a different model is a CheckpointError naming the first differing key."""
    state = read_snapshot_state(path)
    cfg = parse_model(state["model"], f"{path} (model)")
    if expect is not None and cfg != expect:
        mine, theirs = expect.model_dump(), cfg.model_dump()
        diff = _first_difference(mine, theirs)
        raise CheckpointError(
            f"{path}: snapshot is of a different model ({diff}); nothing was loaded")
    return cfg, state, load_file(str(path))


def _first_difference(a: dict, b: dict, prefix: str = "") -> str:
    for key in a:
        if a[key] != b.get(key):
            if isinstance(a[key], dict) and isinstance(b.get(key), dict):
                return _first_difference(a[key], b[key], f"{prefix}{key}.")
            return f"{prefix}{key}: run model has {a[key]!r}, snapshot has {b.get(key)!r}"
    return "models differ"
