"""Validation of the learning parameters shared by the TD models."""

from __future__ import annotations

from axon.errors import ConfigError

TRACES = ("accumulating", "replacing")


def check_rate(name: str, value: float) -> float:
    """A learning rate (epsilon, alpha) in (0, 1]."""
    if not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ConfigError(f"{name}: {value!r}; expected a learning rate in (0, 1]")
    return float(value)


def check_fraction(name: str, value: float) -> float:
    """A discount or trace decay (gamma, lambda) in [0, 1]."""
    if not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigError(f"{name}: {value!r}; expected a value in [0, 1]")
    return float(value)


def check_trace(trace: str) -> str:
    """An eligibility trace kind: accumulating or replacing."""
    if trace not in TRACES:
        raise ConfigError(f"trace: {trace!r}; expected one of {', '.join(TRACES)}")
    return trace


def check_count(name: str, value: int, minimum: int = 1) -> int:
    """A whole count (trials, games, runs) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name}: {value!r}; expected an integer >= {minimum}")
    return value
