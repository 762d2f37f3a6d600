"""Nested trainer state (optimizer, schedule, RNG, counters) to and from a safetensors
file, without pickle: tensors go into the file's tensors, the structure around them
into JSON stored in the file's metadata header."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from axon.errors import CheckpointError

FORMAT = "axon-trainer-state"
VERSION = "1"


def _encode(obj: Any, tensors: dict[str, torch.Tensor], where: str) -> Any:
    if isinstance(obj, torch.Tensor):
        key = f"t{len(tensors)}"
        tensors[key] = obj.detach().to("cpu").contiguous()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: _encode(v, tensors, f"{where}.{k}") for k, v in obj.items()}
        return {"__dict__": [[_encode(k, tensors, where), _encode(v, tensors, f"{where}[{k!r}]")]
                             for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, tensors, f"{where}[{i}]") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, tensors, f"{where}[{i}]") for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if hasattr(obj, "item") and getattr(obj, "ndim", None) == 0:  # numpy scalar
        return obj.item()
    raise TypeError(f"trainer state: cannot store {type(obj).__name__} at {where}")


def _decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__tuple__" in obj:
            return tuple(_decode(v, tensors) for v in obj["__tuple__"])
        if "__dict__" in obj:
            return {_decode(k, tensors): _decode(v, tensors) for k, v in obj["__dict__"]}
        return {k: _decode(v, tensors) for k, v in obj.items()}
    return obj


def save_state(state: dict, path: str | Path) -> None:
    """Write `state` (nested dicts/lists/tuples of tensors and JSON scalars) to `path`."""
    tensors: dict[str, torch.Tensor] = {}
    tree = _encode(state, tensors, "state")
    metadata = {"format": FORMAT, "version": VERSION, "tree": json.dumps(tree)}
    save_file(tensors, str(path), metadata=metadata)


def load_state(path: str | Path) -> dict:
    """Read a state written by `save_state`; a damaged file raises CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: trainer state file is missing")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}
        if metadata.get("format") != FORMAT:
            raise CheckpointError(
                f"{path}: not an axon trainer state (format {metadata.get('format')!r}, expected {FORMAT!r})"
            )
        if metadata.get("version") != VERSION:
            raise CheckpointError(
                f"{path}: trainer state version {metadata.get('version')!r} is not supported (expected {VERSION!r})"
            )
        return _decode(json.loads(metadata["tree"]), tensors)
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: damaged or truncated trainer state ({err})") from err
