"""Checkpoint folders: `model.safetensors` (the weights, readable by any safetensors
tool), `trainer.safetensors` (the trainer state, see axon.train.state) and
`checksums.sha256` (the SHA-256 of both, in `sha256sum` format, checked on every load).

A folder is replaced atomically: the new one is written and fsynced beside it, then
renamed into place; a crash between the two renames leaves `.<name>.old`, which
`read_checkpoint` falls back to and `clean_checkpoints` restores."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, save_file

from axon.errors import CheckpointError, RunDirError
from axon.train.state import load_state, save_state

MODEL_FILE = "model.safetensors"
STATE_FILE = "trainer.safetensors"
CHECKSUM_FILE = "checksums.sha256"
FILES = (MODEL_FILE, STATE_FILE, CHECKSUM_FILE)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def snapshot_weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of the model's state dict; a tensor shared under several names (tied
    weights) is kept once, under its first name, as safetensors' save_model does."""
    weights, seen = {}, set()
    for name, tensor in model.state_dict().items():
        key = (tensor.device, tensor.data_ptr(), tensor.dtype, tuple(tensor.shape), tuple(tensor.stride()))
        if key in seen:
            continue
        seen.add(key)
        weights[name] = tensor.detach().to("cpu", copy=True).contiguous()
    return weights


def snapshot(obj):
    """A copy of nested trainer state whose tensors will not change under training."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: snapshot(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(snapshot(v) for v in obj)
    return obj


def _replace_folder(directory: Path, fill) -> None:
    """Atomically (re)place folder `directory` by one that `fill(tmp_folder)` writes."""
    parent = directory.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=parent))
    try:
        fill(tmp)
        umask = os.umask(0)
        os.umask(umask)
        for path in [*tmp.iterdir(), tmp]:
            os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask)  # mkdtemp makes it private
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


def write_checkpoint(directories: str | Path | list, weights: torch.nn.Module | dict, state: dict) -> None:
    """Atomically (re)place each checkpoint folder in `directories` with `weights` (a
    model, or a state dict from `snapshot_weights`) and the trainer `state`. The files
    are written once; further folders get hard links to them (copies where links fail)."""
    directories = [Path(d) for d in (directories if isinstance(directories, list) else [directories])]
    if isinstance(weights, torch.nn.Module):
        weights = snapshot_weights(weights)

    def write(folder: Path) -> None:
        save_file(weights, str(folder / MODEL_FILE))
        save_state(state, folder / STATE_FILE)
        lines = [f"{_sha256(folder / name)}  {name}\n" for name in (MODEL_FILE, STATE_FILE)]
        (folder / CHECKSUM_FILE).write_text("".join(lines))

    _checked_write(directories[0], write)
    for directory in directories[1:]:
        def link(folder: Path, source: Path = directories[0]) -> None:
            for name in FILES:
                try:
                    os.link(source / name, folder / name)
                except OSError:
                    shutil.copyfile(source / name, folder / name)

        _checked_write(directory, link)


def _checked_write(directory: Path, fill) -> None:
    """`_replace_folder`, a failed write (full disk, read-only folder) as a RunDirError."""
    try:
        _replace_folder(directory, fill)
    except (OSError, SafetensorError) as err:
        detail = getattr(err, "strerror", None) or str(err).strip().splitlines()[0]
        raise RunDirError(f"{directory}: cannot write the checkpoint ({detail}); any previous one is kept") from None


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
    verify_checksum(folder / STATE_FILE)
    state = load_state(folder / STATE_FILE)
    if model is not None:
        load_weights(model, folder / MODEL_FILE)
    return state


def load_weights(model: torch.nn.Module, path: str | Path) -> None:
    """Load safetensors weights into `model`; names and shapes must match exactly. The
    weights of a checkpoint folder are first checked against its checksums."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: weights file is missing")
    verify_checksum(path)
    backup = {k: v.clone() for k, v in model.state_dict().items()}
    try:
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
        load_model(model, str(path), strict=True, device=str(device))
    except (SafetensorError, OSError, RuntimeError) as err:
        model.load_state_dict(backup)
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(f"{path}: cannot load weights into the model ({first})") from err


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def verify_checksum(path: Path) -> None:
    """Check a checkpoint folder's file against the folder's checksums.sha256 (a
    CheckpointError if it differs or the list is missing). A weights file outside a
    checkpoint folder (no trainer state beside it, e.g. an `init_from` file) is not checked."""
    folder = path.parent
    if not (folder / STATE_FILE).is_file():
        return
    sums = folder / CHECKSUM_FILE
    try:
        listed = dict(reversed(line.split("  ", 1)) for line in sums.read_text().splitlines())
    except FileNotFoundError:
        raise CheckpointError(f"{sums}: checksum list is missing; the checkpoint cannot be verified") from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise CheckpointError(f"{sums}: unreadable checksum list ({err})") from None
    if path.name not in listed:
        raise CheckpointError(f"{sums}: no checksum for {path.name}")
    if _sha256(path) != listed[path.name]:
        raise CheckpointError(
            f"{path}: checksum does not match {CHECKSUM_FILE} (the file was changed or damaged after it was written)")


def clean_checkpoints(directory: str | Path) -> None:
    """Tidy a checkpoints folder before a run writes into it: delete the temporary
    folders of writes a crash interrupted, and put back a `<name>` that a crash between
    the two renames left only as `.<name>.old`."""
    directory = Path(directory)
    if not directory.is_dir():
        return
    for entry in directory.iterdir():
        name = entry.name
        if name.startswith(".") and ".tmp-" in name:
            shutil.rmtree(entry, ignore_errors=True)
        elif name.startswith(".") and name.endswith(".old"):
            target = directory / name[1:-len(".old")]
            if target.exists():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                os.replace(entry, target)
