"""Saving and loading the classic models' learned tensors as safetensors files, written
atomically (temporary file, fsync, rename) so a crash never leaves half a file."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load, save

from axon.errors import AxonError


def save_tensors(path, tensors: dict[str, torch.Tensor]) -> Path:
    """Write `tensors` (name -> tensor) to `path` in safetensors format, atomically (a
    temporary file beside it, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = save({name: tensor.detach().cpu().contiguous() for name, tensor in tensors.items()})
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "xb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def load_tensors(path, required: tuple[str, ...] = ()) -> dict[str, torch.Tensor]:
    """Read a safetensors file; fail with a message naming the file when it is missing,
    not safetensors, or lacks one of the `required` tensors."""
    path = Path(path)
    if not path.is_file():
        raise AxonError(f"{path}: no such weights file")
    try:
        tensors = load(path.read_bytes())
    except (SafetensorError, ValueError) as err:
        raise AxonError(f"{path}: not a safetensors file ({err})") from None
    missing = [name for name in required if name not in tensors]
    if missing:
        raise AxonError(f"{path}: expected tensors {', '.join(required)}, missing {', '.join(missing)} (found {', '.join(tensors) or 'none'})")
    return tensors
