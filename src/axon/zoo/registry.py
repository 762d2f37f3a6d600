"""The model registry: name -> builder function returning an nn.Module."""

from __future__ import annotations

import difflib
import inspect
import typing
from contextlib import contextmanager
from typing import Callable

import torch
from pydantic import TypeAdapter, ValidationError
from torch import nn

from axon.errors import ConfigError
from axon.memory import check_fits

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


def check_arguments(name: str, kwargs: dict) -> None:
    """Each argument is one the builder takes, of the type its signature gives (an int
    width is not 'wide', 2.5 or true); else a ConfigError naming model.args.<key>."""
    builder = _lookup(name)
    signature = inspect.signature(builder)
    unknown = [k for k in kwargs if k not in signature.parameters]
    if unknown:
        raise ConfigError(
            f"model.args: {name!r} takes no argument {unknown[0]!r} (it takes: {', '.join(signature.parameters)})"
        )
    hints = typing.get_type_hints(builder)
    for key, value in kwargs.items():
        if key not in hints:
            continue
        try:
            TypeAdapter(hints[key]).validate_python(value, strict=True)
        except ValidationError as err:
            expected = getattr(hints[key], "__name__", None) or str(hints[key]).replace("typing.", "")
            raise ConfigError(f"model.args.{key}: {value!r} is not a valid {expected} for {name!r} "
                              f"({err.errors()[0]['msg']})") from None


def _weight_bytes(model: nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])


ZOO_SPEC = "axon_zoo"
"""The attribute `create` sets on the models it builds: {"name": ..., "args": {...}}."""


def create(name: str, **kwargs) -> nn.Module:
    """Build the registered model `name` with the builder's keyword arguments. The
    arguments are checked first, and the model is built on the meta device (where
    nothing is allocated), so arguments the builder refuses or weights larger than the
    free memory are a ConfigError naming model.args before any weight exists. The model
    remembers how it was built (`zoo_spec(model)`), so a run folder written by a Trainer
    can build it again."""
    check_arguments(name, kwargs)
    builder = _lookup(name)
    given = ", ".join(f"model.args.{k} {v!r}" for k, v in kwargs.items()) or "its default arguments"
    with _arguments_named(name, given):
        with torch.device("meta"):
            needed = _weight_bytes(builder(**kwargs))
        check_fits(needed, f"model {name!r} with {given}: its weights")
        model = builder(**kwargs)
    bound = inspect.signature(builder).bind_partial(**kwargs)
    bound.apply_defaults()
    setattr(model, ZOO_SPEC, {"name": name, "args": dict(bound.arguments)})
    return model


def zoo_spec(model: nn.Module) -> dict | None:
    """{"name", "args"} of a model built by `create` (None for any other module)."""
    return getattr(model, ZOO_SPEC, None)


@contextmanager
def _arguments_named(name: str, given: str):
    """A builder's failure (a size torch cannot make, a value a layer refuses) as a
    ConfigError naming the model and its arguments."""
    try:
        yield
    except ConfigError:
        raise
    except (TypeError, ValueError, RuntimeError, OverflowError, MemoryError) as err:
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(f"model {name!r} with {given}: {detail}") from None
