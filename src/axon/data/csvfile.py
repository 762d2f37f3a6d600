"""Tabular data sets from CSV files: one label column (by header name or 0-based index,
negative from the end) and numeric feature columns (all the others). Class names are
the training file's distinct label values (sorted numerically when all are integers)."""

from __future__ import annotations

import csv as csvlib
from pathlib import Path

import numpy as np
import torch

from axon.data.datasets import ArrayDataset, finish_splits, normalisation
from axon.data.preprocessing import Preprocessing
from axon.data.registry import register_dataset
from axon.data.splits import DataSplits
from axon.errors import ConfigError, DataError


def read_table(path: str | Path, label, header: bool, delimiter: str) -> tuple[np.ndarray, list[str]]:
    """Features (N, F) float32 and label strings (N,) of one CSV file."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as stream:
            rows = [(line, row) for line, row in enumerate(csvlib.reader(stream, delimiter=delimiter), 1) if row]
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (csvlib.Error, UnicodeDecodeError, ValueError) as err:
        raise DataError(f"{path}: not a readable CSV file ({type(err).__name__}: {err})") from None
    names = rows.pop(0)[1] if header and rows else None
    if not rows:
        raise DataError(f"{path}: holds no data rows")
    width = len(names) if names is not None else len(rows[0][1])
    if width < 2:
        raise DataError(f"{path}: expected a label column and at least one feature column, got {width} column(s)")
    column = _label_column(label, names, width, path)
    features, labels = np.empty((len(rows), width - 1), np.float32), []
    for i, (line, row) in enumerate(rows):
        if len(row) != width:
            raise DataError(f"{path}:{line}: {len(row)} columns, expected {width}")
        labels.append(row[column].strip())
        values = row[:column] + row[column + 1:]
        try:
            features[i] = [float(v) for v in values]
        except ValueError:
            bad = next(j for j, v in enumerate(values) if not _is_number(v))
            raise DataError(f"{path}:{line}: feature column {bad + (bad >= column)} holds {values[bad]!r}, "
                            f"expected a number") from None
    if not np.isfinite(features).all():
        raise DataError(f"{path}: the features hold NaN or infinite values")
    return features, labels


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _label_column(label, names: list[str] | None, width: int, path: Path) -> int:
    if isinstance(label, str):
        if names is None:
            raise ConfigError(f"data.label: a column name ({label!r}) needs data.header: true")
        if label not in names:
            raise DataError(f"{path}: no column {label!r} (columns: {', '.join(names)})")
        return names.index(label)
    if isinstance(label, int) and not isinstance(label, bool) and -width <= label < width:
        return label % width
    raise ConfigError(f"data.label: expected a column name or an index in [{-width}, {width}), got {label!r}")


def class_names(labels: list[str]) -> list[str]:
    """Distinct label values, sorted numerically when all are integers, else as text."""
    distinct = set(labels)
    try:
        return sorted(distinct, key=int)
    except ValueError:
        return sorted(distinct)


@register_dataset("csv")
def csv(train: str, val: str | None = None, test: str | None = None, label: str | int = -1, header: bool = True,
        delimiter: str = ",", val_fraction: float = 0.1, split_seed: int = 0, normalize=None) -> DataSplits:
    """Numeric feature columns and a label column from CSV files (one per split)."""
    paths = {field: path for field, path in (("train", train), ("val", val), ("test", test)) if path is not None}
    tables = {field: read_table(path, label, header, delimiter) for field, path in paths.items()}
    classes = class_names(tables["train"][1])
    index = {name: k for k, name in enumerate(classes)}
    parts = {}
    for field, (features, labels) in tables.items():
        path = paths[field]
        if features.shape[1] != tables["train"][0].shape[1]:
            raise DataError(f"{path}: {features.shape[1]} feature columns but the training file has "
                            f"{tables['train'][0].shape[1]}")
        unknown = next((name for name in labels if name not in index), None)
        if unknown is not None:
            raise DataError(f"{path}: label {unknown!r} is not a class of the training file {train}")
        parts[field] = torch.from_numpy(features), torch.tensor([index[name] for name in labels])
    values = parts["train"][0]
    mean, std = normalisation(normalize, values.shape[1], lambda: (values.mean(0).tolist(), values.std(0).tolist()))
    preprocessing = Preprocessing("array", (values.shape[1],), mean=mean, std=std)
    sets = {field: ArrayDataset(x, y, preprocessing) for field, (x, y) in parts.items()}
    return finish_splits(sets["train"], sets.get("val"), sets.get("test"), classes, val_fraction, split_seed, train)
