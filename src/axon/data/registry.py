"""The data set registry: name -> reader function returning `DataSplits`.

A reader is a function whose keyword arguments are the data config's keys (`root`,
`val_fraction`, ...); `build_dataset(name, **args)` checks the name and the argument
names against it before calling it, so a typo is a ConfigError naming `data.name` or
`data.<arg>` with the closest valid spelling."""

from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass
from typing import Callable

from axon.data.splits import DataSplits, record_source
from axon.errors import ConfigError

_READERS: dict[str, Callable[..., DataSplits]] = {}

REQUIRED = inspect.Parameter.empty
"""The default `describe_dataset` gives for an argument that has none."""


@dataclass(frozen=True)
class DatasetInfo:
    """A registered data set: its name, one-line summary and arguments {name: default}
    (`REQUIRED` for an argument without a default)."""

    name: str
    summary: str
    arguments: dict[str, object]

    @property
    def required(self) -> list[str]:
        return [arg for arg, default in self.arguments.items() if default is REQUIRED]


def register_dataset(name: str):
    """Decorator: register `reader(**args) -> DataSplits` under `name`."""

    def decorate(reader):
        if name in _READERS:
            raise ValueError(f"data: data set name {name!r} is already registered")
        _READERS[name] = reader
        return reader

    return decorate


def dataset_names() -> list[str]:
    """All registered data set names, sorted."""
    return sorted(_READERS)


def _did_you_mean(value: str, choices) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _lookup(name: str) -> Callable[..., DataSplits]:
    if name not in _READERS:
        raise ConfigError(f"data.name: unknown data set {name!r}{_did_you_mean(str(name), _READERS)} "
                          f"(known: {', '.join(dataset_names())})")
    return _READERS[name]


def describe_dataset(name: str) -> DatasetInfo:
    """The data set's summary (first docstring line) and arguments with their defaults."""
    reader = _lookup(name)
    doc = inspect.getdoc(reader) or ""
    params = inspect.signature(reader).parameters
    return DatasetInfo(name, doc.splitlines()[0] if doc else "", {k: p.default for k, p in params.items()})


def build_dataset(name: str, **args) -> DataSplits:
    """The splits of the registered data set `name`, read with the reader's arguments; the
    splits remember where they came from (`DataSplits.source`, `axon.data.splits.split_source`)."""
    info = describe_dataset(name)
    for arg in args:
        if arg not in info.arguments:
            raise ConfigError(f"data.{arg}: data set {name!r} takes no argument {arg!r}"
                              f"{_did_you_mean(arg, info.arguments)} (it takes: {', '.join(info.arguments)})")
    missing = [arg for arg in info.required if arg not in args]
    if missing:
        raise ConfigError(f"data.{missing[0]}: data set {name!r} needs it (none given)")
    defaults = {arg: default for arg, default in info.arguments.items() if default is not REQUIRED}
    return record_source(_READERS[name](**args), name, {**defaults, **args})
