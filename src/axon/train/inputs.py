"""The forms of data `Trainer.fit`, `evaluate` and `predict` accept, as torch Datasets:

- a torch `Dataset` of `(input, target)` pairs, or a `DataLoader` (used as it is);
- a tuple `(X, y)` of tensors or NumPy arrays (scikit-learn style); floating arrays
  become float32 and integer labels int64;
- a dict of columns `{input_key: X, target_key: y}`;
- a data set of dict items (Hugging Face `datasets` with `.with_format("torch")` or
  "numpy", or any object with `__len__` and `__getitem__` giving dicts), read by key;
- for `predict` also the inputs alone: a tensor or array `X`, or a tuple `(X,)`."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

ACCEPTED = ("a torch Dataset of (input, target) pairs, a DataLoader, a tuple (X, y) of tensors or NumPy "
            "arrays, a dict of columns {{{input!r}: X, {target!r}: y}}, or a data set of dict items "
            "(e.g. Hugging Face datasets) with keys {input!r} and {target!r}")


def as_tensor(values: Any, what: str) -> torch.Tensor:
    """A tensor of `values`: arrays, lists and numbers with floating values as float32; a
    tensor keeps its dtype (float64 stays float64, the caller's choice); small integer class
    labels (N,) become int64."""
    if isinstance(values, torch.Tensor):
        tensor = values
    else:
        try:
            tensor = torch.as_tensor(np.asarray(values))
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(f"{what}: cannot make a tensor of {type(values).__name__} ({err})") from None
        if tensor.dtype == torch.float64:
            tensor = tensor.to(torch.float32)
    if tensor.dtype in (torch.int8, torch.int16, torch.int32, torch.uint8) and tensor.ndim <= 1:
        return tensor.to(torch.int64)  # class labels
    return tensor


class KeyedDataset(Dataset):
    """(input, target) pairs from a data set of dict items: item[input_key], item[target_key]
    (the input alone when `target_key` is None)."""

    def __init__(self, items, input_key: str, target_key: str | None):
        self.items, self.input_key, self.target_key = items, input_key, target_key

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        item = self.items[index]
        keys = (self.input_key,) if self.target_key is None else (self.input_key, self.target_key)
        for key in keys:
            if key not in item:
                raise KeyError(f"data item {index}: no key {key!r} (it has {', '.join(map(str, item))}); "
                               f"name the keys with Trainer(input_key=..., target_key=...)")
        values = tuple(as_tensor(item[key], f"item {index} {key!r}") for key in keys)
        return values[0] if self.target_key is None else values


def _has_dict_items(data) -> bool:
    if not (hasattr(data, "__len__") and hasattr(data, "__getitem__")) or isinstance(data, (str, bytes, dict)):
        return False
    try:
        return len(data) > 0 and isinstance(data[0], dict)
    except Exception:  # an object that only looks indexable
        return False


def as_dataset(data, what: str, input_key: str = "input", target_key: str = "label",
               inputs_only: bool = False) -> Dataset | DataLoader:
    """`data` in one of the accepted forms as a Dataset (a DataLoader as it is); with
    `inputs_only` (predict) a bare tensor/array or a 1-tuple of inputs is accepted too.
    A form not accepted is a TypeError naming `what`, the type and the forms accepted."""
    if isinstance(data, (DataLoader, Dataset)) and not _has_dict_items(data):
        return data
    if isinstance(data, dict):
        missing = [k for k in (input_key, target_key) if k not in data]
        if missing and not (inputs_only and input_key in data):
            raise TypeError(f"{what}: the dict has no column {missing[0]!r} (it has {', '.join(map(str, data))}); "
                            f"name the columns with input_key=/target_key=")
        data = (data[input_key],) if inputs_only and target_key not in data else (data[input_key], data[target_key])
    if isinstance(data, (torch.Tensor, np.ndarray)) and inputs_only:
        data = (data,)
    if isinstance(data, (tuple, list)) and 1 <= len(data) <= 2 and all(
            isinstance(part, (torch.Tensor, np.ndarray)) for part in data):
        if len(data) == 1 and not inputs_only:
            raise TypeError(f"{what}: got only inputs (X,); training and evaluation need (X, y)")
        tensors = [as_tensor(part, f"{what}[{i}]") for i, part in enumerate(data)]
        if len(tensors) == 2 and len(tensors[0]) != len(tensors[1]):
            raise ValueError(f"{what}: X has {len(tensors[0])} samples but y has {len(tensors[1])}")
        return TensorDataset(*tensors)
    if _has_dict_items(data):
        if inputs_only and target_key not in data[0]:
            return KeyedDataset(data, input_key, None)
        return KeyedDataset(data, input_key, target_key)
    accepted = ACCEPTED.format(input=input_key, target=target_key)
    if inputs_only:
        accepted = "a tensor or NumPy array of inputs, " + accepted
    raise TypeError(f"{what}: expected {accepted}; got {type(data).__name__}")
