"""What a Trainer with a run folder records about itself in RUN_DIR/trainer.json, so that a
run trained from Python can be evaluated, predicted from, exported and resumed by the
`axon` commands (the run layer reads the file; the engine knows no model or data set by
name, so it records what the zoo and the data registry left on the model and the data).

Recorded: the engine's settings under their run-config names, how the model was built
(`axon.zoo.create` leaves {"name", "args"} on it) and which split of which registered data
set it trained on (`axon.data.build_dataset` leaves that on each split), or, for in-memory
arrays (X, y), their input shape and classes (enough to predict and export). What cannot be
recorded (a model not from the zoo, data not from the registry, a Python callable as loss
or optimizer, a custom sampler or callback) is listed under "unrecorded" with the reason,
so a command that needs it can say exactly what is missing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from axon.data.splits import split_source
from axon.train.callbacks.guards import EarlyStopping, NaNGuard
from axon.train.config import OptimizerConfig
from axon.train.inputs import as_tensor

TRAINER_FILE = "trainer.json"
RUN_CONFIG_FILE = "config.yaml"
"""A folder the run layer made (`axon train`) has its config already: no trainer.json then."""

ZOO_SPEC = "axon_zoo"
"""The attribute axon.zoo.create sets on a model: {"name": ..., "args": {...}}."""

LOSSES = {"cross_entropy", "focal"}
"""The losses a run config can name."""



def _path_as_text(value):
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _json_or_none(value):
    """`value` as plain JSON (paths as text), or None when it holds anything else."""
    try:
        return json.loads(json.dumps(value, default=_path_as_text))
    except (TypeError, ValueError):
        return None


def _model(trainer, unrecorded: dict) -> dict | None:
    spec = _json_or_none(getattr(trainer.model, ZOO_SPEC, None))
    if spec is None:
        unrecorded["model"] = (f"a {type(trainer.model).__name__} that axon.zoo.create did not build "
                               f"(or whose arguments are not plain values)")
    return spec


def _arrays(data) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(X, y) of in-memory arrays given to fit: a tuple (X, y) of tensors or NumPy arrays,
    or a TensorDataset of two tensors; else None."""
    if isinstance(data, TensorDataset) and len(data.tensors) == 2:
        return data.tensors
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(p, (torch.Tensor, np.ndarray)) for p in data):
        return as_tensor(data[0], "train_data[0]"), as_tensor(data[1], "train_data[1]")
    return None


def _array_data(trainer, inputs: torch.Tensor, targets: torch.Tensor, unrecorded: dict) -> dict | None:
    """What predict and export need of a model trained on in-memory arrays: the input shape
    (X's shape past the batch), the classes "0".."K-1" (K: the zoo model's num_classes, else
    the largest label + 1) and the preprocessing of a raw array (reshaped, nothing else)."""
    spec = getattr(trainer.model, ZOO_SPEC, None) or {}
    count = spec.get("args", {}).get("num_classes")
    if not isinstance(count, int):
        if targets.ndim != 1 or targets.dtype.is_floating_point or targets.is_complex() or len(targets) == 0:
            unrecorded["data"] = (f"train_data was arrays (X, y) whose y (shape {list(targets.shape)}, {targets.dtype}) "
                                  f"are not class labels, and the model records no num_classes")
            return None
        count = int(targets.max()) + 1
    shape = list(inputs.shape[1:])
    unrecorded["data_source"] = (f"train_data was in-memory arrays (X, y): their input shape {shape} and "
                                 f"{count} classes are recorded, not the samples")
    return {"source": None, "classes": [str(k) for k in range(count)], "input_shape": shape,
            "preprocessing": {"kind": "array", "shape": shape}}


def _data(trainer, train_data, val_data, unrecorded: dict) -> dict | None:
    found = split_source(train_data)
    arrays = _arrays(train_data) if found is None else None
    if arrays is not None:
        return _array_data(trainer, *arrays, unrecorded)
    if found is None or found[0] != "train":
        unrecorded["data"] = (f"train_data ({type(train_data).__name__}) is not the train split of a data set "
                              f"from axon.data.build_dataset")
        return None
    _, splits = found
    source = _json_or_none(splits.source)
    if source is None:
        unrecorded["data"] = f"the reader arguments of data set {splits.source.get('name')!r} are not plain values"
        return None
    if val_data is None or val_data is not splits.val:
        unrecorded["val_data"] = "validation data other than the data set's val split"
    return {"source": source, "classes": list(splits.classes), "input_shape": list(splits.input_shape),
            "preprocessing": _json_or_none(dict(splits.preprocessing)) or {}}


def _settings(trainer, unrecorded: dict) -> dict:
    settings = {
        "epochs": trainer.epochs, "batch_size": trainer.batch_size, "seed": trainer.seed,
        "device": trainer.device_setting, "deterministic": trainer.deterministic,
        "precision": trainer.precision.dtype, "channels_last": trainer.precision.channels_last,
        "compile": trainer.compile, "grad_accum": trainer.grad_accum, "clip_grad_norm": trainer.clip_grad_norm,
        "nan_guard": any(isinstance(cb, NaNGuard) for cb in trainer.callbacks),
        "loss": trainer.loss_name, "schedule": trainer.schedule_config.model_dump(mode="json"),
        "num_workers": trainer.num_workers, "pin_memory": trainer.pin_memory,
        "prefetch_factor": trainer.prefetch_factor,
    }
    if trainer.seed is None:
        unrecorded["seed"] = "seed=None (an unseeded run cannot be continued exactly)"
    if trainer.loss_name not in LOSSES:
        unrecorded["loss"] = (f"loss {trainer.loss_name!r} (a run config has cross_entropy or focal)"
                              if trainer.loss_name else "a Python callable as loss")
    if isinstance(trainer.optimizer_config, OptimizerConfig):
        settings["optimizer"] = trainer.optimizer_config.model_dump(mode="json")
    else:
        unrecorded["optimizer"] = "a Python callable as optimizer"
    if trainer.sampler_factory is not None:
        unrecorded["sampler"] = "a custom training sampler"
    if trainer.checkpointer is not None:
        cp = trainer.checkpointer
        settings["checkpoint"] = {"monitor": cp.monitor, "mode": cp.mode, "every": cp.every,
                                  "every_steps": cp.every_steps}
    stopping = [cb for cb in trainer.callbacks if isinstance(cb, EarlyStopping)]
    if stopping:
        es = stopping[0]
        settings["early_stopping"] = {"monitor": es.monitor, "mode": es.mode, "patience": es.patience,
                                      "min_delta": es.min_delta}
    custom = [type(cb).__name__ for cb in trainer.callbacks
              if cb.changes_training and not isinstance(cb, EarlyStopping)] + [type(cb).__name__ for cb in stopping[1:]]
    if custom:
        unrecorded["callbacks"] = f"callbacks {', '.join(custom)}"
    return settings


def trainer_record(trainer, train_data, val_data) -> dict:
    """trainer.json's contents for `trainer` about to fit `train_data` (validating on `val_data`)."""
    unrecorded: dict[str, str] = {}
    return {
        "written_by": "axon.Trainer.fit",
        "model": _model(trainer, unrecorded),
        "data": _data(trainer, train_data, val_data, unrecorded),
        "settings": _settings(trainer, unrecorded),
        "unrecorded": unrecorded,
    }


def write_trainer_record(trainer, train_data, val_data) -> None:
    """Write RUN_DIR/trainer.json (atomically) for a fit from the start, unless the run
    layer made the folder (a resumed fit keeps the record of the fit it continues)."""
    run_dir = Path(trainer.run_dir)
    if (run_dir / RUN_CONFIG_FILE).exists():
        return
    text = json.dumps(trainer_record(trainer, train_data, val_data), indent=1) + "\n"
    path = run_dir / TRAINER_FILE
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
