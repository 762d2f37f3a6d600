"""In-memory data sets from NumPy files: each split is a `.npz` archive holding an inputs
and a labels array (keys `inputs`/`labels`, default "x"/"y"), or a pair of `.npy` files
`[inputs.npy, labels.npy]`. Inputs are (N, F) features, (N, H, W) grey images or
(N, C, H, W) images; labels (N,) integers 0..K-1. Pickled arrays are never loaded."""

from __future__ import annotations

import numpy as np
import torch

from axon.data.datasets import ArrayDataset, check_same_length, check_targets, finish_splits, normalisation
from axon.data.npy import load_npy, load_npz
from axon.data.preprocessing import Preprocessing
from axon.data.registry import register_dataset
from axon.data.splits import DataSplits
from axon.errors import ConfigError, DataError


def load_split(source, inputs: str, labels: str, field: str) -> tuple[np.ndarray, np.ndarray, str]:
    """(inputs, labels, description) of one split given as an .npz path or [inputs.npy, labels.npy]."""
    if isinstance(source, str) and source.endswith(".npz"):
        x, y = load_npz(source, [inputs, labels])
        return x, y, source
    if isinstance(source, (list, tuple)) and len(source) == 2 and all(isinstance(s, str) for s in source):
        return load_npy(source[0]), load_npy(source[1]), f"{source[0]} / {source[1]}"
    raise ConfigError(f"data.{field}: expected an .npz file or [inputs.npy, labels.npy], got {source!r}")


def check_inputs(x: np.ndarray, what: str) -> torch.Tensor:
    """Numeric, finite inputs (N, ...) as a tensor; grey images (N, H, W) become (N, 1, H, W)."""
    if x.dtype.kind not in "iuf" or x.ndim < 2 or len(x) == 0:
        raise DataError(f"{what}: expected a non-empty numeric array of inputs (N, F), (N, H, W) or (N, C, H, W), "
                        f"got {x.dtype} of shape {list(x.shape)}")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise DataError(f"{what}: the inputs hold NaN or infinite values")
    if x.dtype.kind == "f" and x.dtype != np.float32:
        x = x.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(x[:, None] if x.ndim == 3 else x))


@register_dataset("arrays")
def arrays(train, val=None, test=None, inputs: str = "x", labels: str = "y", classes: list[str] | None = None,
           divisor: float = 1.0, val_fraction: float = 0.1, split_seed: int = 0, normalize=None) -> DataSplits:
    """Inputs and integer labels from .npz files or [inputs.npy, labels.npy] pairs per split."""
    loaded = {field: load_split(source, inputs, labels, field)
              for field, source in (("train", train), ("val", val), ("test", test)) if source is not None}
    train_labels = loaded["train"][1]
    integers = train_labels.dtype.kind in "iu" and train_labels.size > 0
    count = len(classes) if classes is not None else int(train_labels.max()) + 1 if integers else 1
    if classes is None and count > len(train_labels):
        raise DataError(f"{loaded['train'][2]}: label {count - 1} is out of range: without data.classes the labels "
                        f"must be 0..K-1 with K at most the {len(train_labels)} training samples")
    parts = {}
    for field, (x, y, what) in loaded.items():
        check_same_length(len(x), len(y), what)
        parts[field] = check_inputs(x, what), check_targets(y, count, what)
        if parts[field][0].shape[1:] != parts["train"][0].shape[1:]:
            raise DataError(f"{what}: inputs are {list(parts[field][0].shape[1:])} but the training inputs "
                            f"{list(parts['train'][0].shape[1:])}")
    values = parts["train"][0]

    def measure():
        unit = values.to(torch.float64).transpose(0, 1).reshape(values.shape[1], -1) / divisor
        return unit.mean(1).tolist(), unit.std(1).tolist()

    mean, std = normalisation(normalize, values.shape[1], measure)
    preprocessing = Preprocessing("array", tuple(values.shape[1:]), divisor=divisor, mean=mean, std=std)
    sets = {field: ArrayDataset(x, y, preprocessing) for field, (x, y) in parts.items()}
    names = list(classes) if classes is not None else [str(k) for k in range(count)]
    return finish_splits(sets["train"], sets.get("val"), sets.get("test"), names, val_fraction, split_seed,
                         loaded["train"][2])
