"""Checkpoint folders: `model.safetensors` (the weights, readable by any safetensors
tool) and `trainer.safetensors` (the trainer state, see axon.train.state).

A folder is replaced atomically: the new one is written and fsynced beside it, then
renamed into place; a crash between the two renames leaves `.<name>.old`, which
`read_checkpoint` falls back to."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model

from axon.errors import CheckpointError
from axon.train.state import load_state, save_state

MODEL_FILE = "model.safetensors"
STATE_FILE = "trainer.safetensors"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_checkpoint(directory: str | Path, model: torch.nn.Module, state: dict) -> Path:
    """Atomically (re)place checkpoint folder `directory` with `model`'s weights and `state`."""
    directory = Path(directory)
    parent = directory.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=parent))
    try:
        save_model(model, str(tmp / MODEL_FILE))
        save_state(state, tmp / STATE_FILE)
        umask = os.umask(0)
        os.umask(umask)
        for path, mode in ((tmp / MODEL_FILE, 0o666), (tmp / STATE_FILE, 0o666), (tmp, 0o777)):
            os.chmod(path, mode & ~umask)  # mkdtemp makes the folder private
            _fsync(path)
        old = parent / f".{directory.name}.old"
        shutil.rmtree(old, ignore_errors=True)
        if directory.exists():
            os.replace(directory, old)
        os.replace(tmp, directory)
        _fsync(parent)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def checkpoint_folder(directory: str | Path) -> Path:
    """The folder to read for `directory`, falling back to a left-over `.<name>.old`."""
    directory = Path(directory)
    if directory.is_dir():
        return directory
    old = directory.parent / f".{directory.name}.old"
    if old.is_dir():
        return old
    raise CheckpointError(f"{directory}: no checkpoint here")


def read_checkpoint(directory: str | Path, model: torch.nn.Module | None = None) -> dict:
    """Load the weights into `model` (if given) and return the trainer state.

    Everything is read and checked before `model` is touched, so a damaged checkpoint
    raises CheckpointError and leaves the model as it was."""
    folder = checkpoint_folder(directory)
    state = load_state(folder / STATE_FILE)
    if model is not None:
        load_weights(model, folder / MODEL_FILE)
    return state


def load_weights(model: torch.nn.Module, path: str | Path) -> None:
    """Load safetensors weights into `model`; names and shapes must match exactly."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: weights file is missing")
    backup = {k: v.clone() for k, v in model.state_dict().items()}
    try:
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
        load_model(model, str(path), strict=True, device=str(device))
    except (SafetensorError, OSError, RuntimeError) as err:
        model.load_state_dict(backup)
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(f"{path}: cannot load weights into the model ({first})") from err
