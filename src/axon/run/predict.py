"""Predicting with a trained run on raw inputs (image files, folders of them, .npy arrays):
each goes through the preprocessing the run recorded (so it is treated exactly as the
evaluation's data was), and the top-k classes with their probabilities come out."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from axon.data import preprocessing_from_dict
from axon.data.preprocessing import IMAGE_SUFFIXES, Preprocessing, load_npy
from axon.errors import DataError
from axon.run.folder import write_atomically
from axon.run.load import LoadedRun

MAX_FILES = 1_000_000
"""Inputs gathered from folders at most (a guard against pointing at the root of a disk)."""


@dataclass
class Prediction:
    source: str
    """The file (and `[i]` for a row of a batch .npy)."""
    classes: list[str]
    probabilities: list[float]
    """The top-k classes, most probable first, with their softmax probabilities."""


def gather_inputs(paths: list[str | Path]) -> list[Path]:
    """The files named, with folders replaced by the image and .npy files in them
    (recursively, sorted); a missing path or an empty folder is a DataError."""
    files: list[Path] = []
    suffixes = (*IMAGE_SUFFIXES, ".npy")
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
            if not found:
                raise DataError(f"{path}: no image ({', '.join(IMAGE_SUFFIXES)}) or .npy files in this folder")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise DataError(f"{path}: no such file or folder")
        if len(files) > MAX_FILES:
            raise DataError(f"{path}: more than {MAX_FILES} input files; predict on fewer at a time")
    return files


def _samples(path: Path, preprocessing: Preprocessing):
    """(source name, model input) for a file: one sample, or each row of a .npy batch
    (N, *shape) for a model of array inputs."""
    if path.suffix.lower() == ".npy":
        array = load_npy(path)
        rows = math.prod(preprocessing.shape)
        if preprocessing.kind == "array" and array.ndim >= 2 and array.size != rows and array.size % rows == 0 \
                and math.prod(array.shape[1:]) == rows:
            for i, row in enumerate(array):
                yield f"{path}[{i}]", preprocessing(row, name=f"{path}[{i}]")
            return
        yield str(path), preprocessing(array, name=str(path))
        return
    yield str(path), preprocessing(path)


def predict_files(run: LoadedRun, paths: list[str | Path], top_k: int = 5, batch_size: int = 64) -> list[Prediction]:
    """Top-k predictions of the loaded run for every input file (folders expanded)."""
    if top_k < 1:
        raise DataError(f"--top-k: expected at least 1, got {top_k}")
    if not run.preprocessing:
        raise DataError(f"{run.run_dir}: the run recorded no preprocessing (task.json); train it again")
    preprocessing = preprocessing_from_dict(run.preprocessing)
    k = min(top_k, len(run.classes))
    predictions: list[Prediction] = []
    names, batch = [], []

    def flush() -> None:
        probabilities = run(torch.stack(batch)).softmax(dim=1)
        values, indices = probabilities.topk(k, dim=1)
        for name, p, i in zip(names, values.tolist(), indices.tolist()):
            predictions.append(Prediction(name, [run.classes[j] for j in i], p))
        names.clear()
        batch.clear()

    for path in gather_inputs(paths):
        for name, x in _samples(path, preprocessing):
            names.append(name)
            batch.append(x)
            if len(batch) == batch_size:
                flush()
    if batch:
        flush()
    return predictions


def format_predictions(predictions: list[Prediction]) -> str:
    """One line per input: the source, then `class (probability)` for the top k."""
    return "\n".join(f"{p.source}: " + ", ".join(f"{c} ({q:.4f})" for c, q in zip(p.classes, p.probabilities))
                     for p in predictions)


def write_predictions(predictions: list[Prediction], out: str | Path) -> Path:
    """Write the predictions as CSV (input, class_1, probability_1, ...) or JSON, by the
    suffix of `out` (.csv or .json); written atomically."""
    out = Path(out)
    if out.suffix.lower() == ".json":
        text = json.dumps([{"input": p.source, "top": [{"class": c, "probability": q}
                                                        for c, q in zip(p.classes, p.probabilities)]}
                           for p in predictions], indent=1) + "\n"
    elif out.suffix.lower() == ".csv":
        k = max((len(p.classes) for p in predictions), default=0)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["input", *[f"{what}_{i}" for i in range(1, k + 1) for what in ("class", "probability")]])
        for p in predictions:
            writer.writerow([p.source, *[v for c, q in zip(p.classes, p.probabilities) for v in (c, f"{q:.6g}")]])
        text = buffer.getvalue()
    else:
        raise DataError(f"--out {out}: expected a .csv or .json file name")
    write_atomically(out, text)
    return out


__all__ = ["Prediction", "format_predictions", "gather_inputs", "predict_files", "write_predictions"]
