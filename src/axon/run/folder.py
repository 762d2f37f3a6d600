"""The run folder: created once (never reused), with config.yaml (the resolved config)
and task.json (what the task keeps about the data: class names, input shape,
preprocessing), so evaluating, predicting and exporting need nothing else. A folder
written by `Trainer(run_dir=...).fit` from Python has trainer.json instead, read through
axon.run.python_runs."""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Callable

from axon.errors import CheckpointError, RunDirError
from axon.run.config import RunConfig, load_config
from axon.run.python_runs import trainer_config, trainer_record_path, trainer_task_record
from axon.train.checkpoint import MODEL_FILE, checkpoint_folder

CONFIG_FILE = "config.yaml"
TASK_FILE = "task.json"


def create_run_dir(out: str | Path, name: str | None, files: Callable[[str], dict[str, str]]) -> Path:
    """Make a new run folder `out/name` (or `out/<timestamp>`) holding `files(folder_name)`
    (file name -> text); never reuse one. The files are written in a hidden folder renamed
    into place, so a run folder that exists always has them (a kill leaves at most a
    `.new-run-*` folder)."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RunDirError(f"{out}: cannot create the runs folder ({err.strerror})") from None
    if not out.is_dir():
        raise RunDirError(f"{out}: the runs folder is not a folder")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=".new-run-", dir=out))
    except OSError as err:
        raise RunDirError(f"{out}: cannot create a run folder in it ({err.strerror})") from None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        candidates = [name] if name else [stamp] + [f"{stamp}-{i}" for i in range(2, 100)]
        for candidate in candidates:
            path = out / candidate
            if os.path.lexists(path):
                continue
            for file_name, text in files(candidate).items():
                (tmp / file_name).write_text(text)
            try:
                os.rename(tmp, path)
            except OSError as err:
                if err.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR):
                    continue  # made by another process since the check
                raise
            return path
    except OSError as err:
        raise RunDirError(f"{err.filename or out}: cannot create the run folder ({err.strerror})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    taken = out / candidates[0]
    is_run = (taken / CONFIG_FILE).is_file() or trainer_record_path(taken) is not None
    hint = f"continue it with `axon train --resume {taken}`" if is_run \
        else "it is not an axon run folder"
    raise RunDirError(f"{taken}: run folder already exists; pick another --name, or {hint}")


def read_run_config(run_dir: str | Path, needs_data: bool = True) -> RunConfig:
    """The config of an existing run folder; a folder that is not a run is an error, and so,
    with `needs_data`, is one trained from Python on arrays (its data set cannot be read again)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: no such run folder")
    if not (run_dir / CONFIG_FILE).is_file():
        from_python = trainer_record_path(run_dir)
        if from_python is not None:
            return trainer_config(from_python, needs_data)
        raise RunDirError(f"{run_dir}: not an axon run folder (no {CONFIG_FILE}, and no trainer.json "
                          f"from a Trainer(run_dir=...))")
    return load_config(run_dir / CONFIG_FILE)


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file renamed into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise RunDirError(f"{path}: cannot write the file ({err.strerror})") from None


def task_record_text(record: dict) -> str:
    """task.json's text for `record`."""
    return json.dumps(record, indent=2) + "\n"


def run_task(run_dir: str | Path) -> str:
    """The task of a run folder (checked to be a run folder first, then its task.json)."""
    read_run_config(run_dir, needs_data=False)
    return read_task_record(run_dir)["task"]


def read_task_record(run_dir: str | Path) -> dict:
    """task.json of a run folder (task, classes, input_shape, preprocessing)."""
    path = Path(run_dir) / TASK_FILE
    from_python = trainer_record_path(run_dir)
    if not path.is_file() and from_python is not None and not (Path(run_dir) / CONFIG_FILE).is_file():
        return trainer_task_record(from_python)
    if not path.is_file():
        raise RunDirError(f"{run_dir}: run folder has no {TASK_FILE} (written by `axon train` since the task "
                          f"layer; train the run again)")
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RunDirError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(record, dict) or not isinstance(record.get("classes", []), list) \
            or not isinstance(record.get("task"), str):
        raise RunDirError(f"{path}: expected an object with 'task' and 'classes', got {str(record)[:80]}")
    return record


def weights_path(run_dir: str | Path, checkpoint: str = "best") -> Path:
    """RUN_DIR/checkpoints/<checkpoint>/model.safetensors (best or last); missing is an error."""
    if checkpoint not in {"best", "last"}:
        raise RunDirError(f"checkpoint: expected best or last, got {checkpoint!r}")
    folder = Path(run_dir) / "checkpoints" / checkpoint
    try:
        return checkpoint_folder(folder) / MODEL_FILE
    except CheckpointError:
        raise RunDirError(f"{run_dir}: run has no {checkpoint} checkpoint ({folder} is missing)") from None
