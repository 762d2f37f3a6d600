"""The model registry: name -> builder function returning an nn.Module."""

from __future__ import annotations

import difflib
import inspect
from typing import Callable

from torch import nn

from axon.errors import ConfigError

_BUILDERS: dict[str, Callable[..., nn.Module]] = {}


def register(name: str):
    """Decorator: register `builder(**kwargs) -> nn.Module` under `name`."""

    def decorate(builder):
        if name in _BUILDERS:
            raise ValueError(f"zoo: model name {name!r} is already registered")
        _BUILDERS[name] = builder
        return builder

    return decorate


def names() -> list[str]:
    """All registered model names, sorted."""
    return sorted(_BUILDERS)


def describe(name: str) -> str:
    """First line of the builder's docstring."""
    doc = inspect.getdoc(_lookup(name)) or ""
    return doc.splitlines()[0] if doc else ""


def _lookup(name: str) -> Callable[..., nn.Module]:
    if name not in _BUILDERS:
        close = difflib.get_close_matches(name, names(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"model.name: unknown model {name!r}{hint} (known: {', '.join(names())})")
    return _BUILDERS[name]


def arguments(name: str) -> dict[str, object]:
    """The builder's keyword arguments and their defaults (inspect.Parameter.empty: none)."""
    return {k: p.default for k, p in inspect.signature(_lookup(name)).parameters.items()}


def create(name: str, **kwargs) -> nn.Module:
    """Build the registered model `name` with the builder's keyword arguments."""
    builder = _lookup(name)
    params = inspect.signature(builder).parameters
    unknown = [k for k in kwargs if k not in params]
    if unknown:
        raise ConfigError(
            f"model.args: {name!r} takes no argument {unknown[0]!r} (it takes: {', '.join(params)})"
        )
    return builder(**kwargs)
