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


ZOO_SPEC = "axon_zoo"
"""The attribute `create` sets on the models it builds: {"name": ..., "args": {...}}."""


def create(name: str, **kwargs) -> nn.Module:
    """Build the registered model `name` with the builder's keyword arguments. The model
    remembers how it was built (`zoo_spec(model)`), so a run folder written by a Trainer
    can build it again."""
    builder = _lookup(name)
    signature = inspect.signature(builder)
    unknown = [k for k in kwargs if k not in signature.parameters]
    if unknown:
        raise ConfigError(
            f"model.args: {name!r} takes no argument {unknown[0]!r} (it takes: {', '.join(signature.parameters)})"
        )
    model = builder(**kwargs)
    bound = signature.bind_partial(**kwargs)
    bound.apply_defaults()
    setattr(model, ZOO_SPEC, {"name": name, "args": dict(bound.arguments)})
    return model


def zoo_spec(model: nn.Module) -> dict | None:
    """{"name", "args"} of a model built by `create` (None for any other module)."""
    return getattr(model, ZOO_SPEC, None)
