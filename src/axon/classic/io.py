"""Saving and loading the classic models' learned tensors as safetensors files, written
atomically (temporary file, fsync, rename) so a crash never leaves half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load, save

from axon.errors import AxonError


def save_tensors(path, tensors: dict[str, torch.Tensor]) -> Path:
    """Write `tensors` (name -> tensor) to `path` in safetensors format, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = save({name: tensor.detach().cpu().contiguous() for name, tensor in tensors.items()})
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
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
