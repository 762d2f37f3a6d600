"""Run folders written from Python: a `Trainer(run_dir=...)` leaves RUN_DIR/trainer.json
(axon.train.run_record) instead of config.yaml and task.json; here it becomes the run's
config and task record, so every `axon` command reads such a folder like one of its own.

What the Trainer could not record (a model not from the zoo, data not from the registry,
a callable loss, ...) is one RunDirError naming the folder, what is missing and why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from axon.errors import ConfigError, RunDirError
from axon.run.config import DataConfig, RunConfig, validate_config
from axon.train.run_record import TRAINER_FILE

NEEDED_TO_REBUILD = ("model", "data")
"""What every command needs: the model from the zoo and the data from the registry."""

FROM_PYTHON = "trained from Python with"


def trainer_record_path(run_dir: str | Path) -> Path | None:
    """RUN_DIR/trainer.json, or None when the folder has none."""
    path = Path(run_dir) / TRAINER_FILE
    return path if path.is_file() else None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    args: dict[str, Any]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: dict[str, Any] | None
    """None: in-memory arrays given to fit (the samples are not in the folder)."""
    classes: list[str]
    input_shape: list[int]
    preprocessing: dict[str, Any]

    @field_validator("source")
    @classmethod
    def _named(cls, source: dict | None) -> dict | None:
        if source is not None and not isinstance(source.get("name"), str):
            raise ValueError(f"expected the data set's name under 'name', got {source.get('name')!r}")
        return source


class _TrainerRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    written_by: str
    model: _Model | None
    data: _Data | None
    settings: dict[str, Any]
    unrecorded: dict[str, str]


def read_trainer_record(path: Path) -> dict:
    """trainer.json, checked to have the parts (and types) the run layer reads."""
    try:
        record = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RunDirError(f"{path}: not valid JSON ({err})") from None
    except RecursionError:
        raise RunDirError(f"{path}: JSON nested too deeply") from None
    except OSError as err:
        raise RunDirError(f"{path}: cannot read it ({err.strerror})") from None
    try:
        record = _TrainerRecord.model_validate(record).model_dump()
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "top level"
        raise RunDirError(f"{path}: {where}: {first['msg']} (axon.Trainer writes this file; "
                          f"{len(err.errors())} problem(s))") from None
    for part in NEEDED_TO_REBUILD:
        if record[part] is None and part not in record["unrecorded"]:
            raise RunDirError(f"{path}: {part} is null and 'unrecorded' gives no reason (axon.Trainer writes this file)")
    return record


def _missing(path: Path, record: dict, parts: tuple[str, ...], needed_for: str) -> None:
    """A RunDirError naming what of `parts` the Trainer could not record."""
    missing = {key: reason for key, reason in record["unrecorded"].items() if key in parts}
    if missing:
        what = "; ".join(f"{key}: {reason}" for key, reason in missing.items())
        raise RunDirError(f"{path}: {FROM_PYTHON} {what}; {needed_for}")


REBUILD_HINT = ("the axon commands rebuild the model with axon.zoo.create and read the data with "
                "axon.data.build_dataset (or load_digits_splits): train with those to make a run they can read")


ARRAYS_HINT = ("`axon eval` and `axon train --resume` read the data set again: evaluate with "
               "trainer.evaluate((X_test, y_test)) and continue with trainer.fit((X, y), ckpt_path=...) from Python, "
               "or save the arrays (np.savez('train.npz', x=X, y=y), and test.npz) and train on "
               "axon.data.build_dataset('arrays', train='train.npz', test='test.npz'); "
               "`axon predict` and `axon export` take this folder as it is")

IN_MEMORY = "(in-memory arrays)"
"""The data set name in the config of a run trained on arrays given to fit: no reader has it."""


def trainer_config(path: Path, needs_data: bool = True) -> RunConfig:
    """The run config of a folder written by `Trainer.fit` (its trainer.json). A run trained
    on in-memory arrays has no data set to read: with `needs_data` that is a RunDirError
    saying what to do, else its config's data set is named IN_MEMORY (enough to rebuild the
    model, for predict and export)."""
    record = read_trainer_record(path)
    rebuild = any(key in record["unrecorded"] for key in NEEDED_TO_REBUILD)
    _missing(path, record, NEEDED_TO_REBUILD + (("data_source",) if needs_data else ()),
             REBUILD_HINT if rebuild else ARRAYS_HINT)
    source = record["data"]["source"]
    if source is None and needs_data:  # a record that does not say why
        raise RunDirError(f"{path}: trained from Python with in-memory arrays; {ARRAYS_HINT}")
    settings = dict(record["settings"])
    data = {**(source or {}), **{key: settings.pop(key) for key in
                                 ("num_workers", "pin_memory", "prefetch_factor") if key in settings}}
    if settings.get("loss") is None or "loss" in record["unrecorded"]:
        settings.pop("loss", None)  # evaluating, predicting and exporting need no loss; resuming is refused
    if settings.get("seed") is None:
        settings.pop("seed", None)
    run_dir = path.parent
    config = {**settings, "name": run_dir.name, "out": str(run_dir.parent), "model": record["model"],
              "data": data if source is not None else {}}
    try:
        config = validate_config(config, source=str(path))
    except ConfigError as err:
        raise RunDirError(str(err)) from None
    if source is None:
        return config.model_copy(update={"data": DataConfig.model_construct(name=IN_MEMORY, **data)})
    return config


def trainer_task_record(path: Path) -> dict:
    """task.json's contents for a folder written by `Trainer.fit`: classification of the
    recorded data set's classes, input shape and preprocessing."""
    record = read_trainer_record(path)
    _missing(path, record, ("data",), "its class names, input shape and preprocessing are unknown; " + REBUILD_HINT)
    data = record["data"]
    return {"task": "classification", "classes": data.get("classes", []), "input_shape": data.get("input_shape", []),
            "preprocessing": data.get("preprocessing") or {}}


def check_cli_can_continue(run_dir: str | Path) -> None:
    """Raise a RunDirError when `run_dir` was trained from Python with something that
    `axon train --resume` cannot rebuild (a callable loss or optimizer, custom callbacks, ...)."""
    path = trainer_record_path(run_dir)
    if path is None or (Path(run_dir) / "config.yaml").is_file():
        return
    record = read_trainer_record(path)
    _missing(path, record, tuple(record["unrecorded"]),
             f"`axon train --resume` cannot continue it; continue it from Python with "
             f"trainer.fit(..., ckpt_path='{Path(run_dir) / 'checkpoints' / 'last'}')")
