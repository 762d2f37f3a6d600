"""Pretraining and transfer: load weights by parameter name from another run, freeze
and unfreeze parameters by name pattern."""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from axon.errors import CheckpointError, ConfigError
from axon.train.callbacks.base import Callback


@dataclass
class TransferReport:
    """What `load_matching` did: names copied, and names it could not use."""

    source: Path
    matched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # in the model, not in the source
    unexpected: list[str] = field(default_factory=list)  # in the source, not in the model
    mismatched: list[str] = field(default_factory=list)  # both, but shapes differ: "name: (a) vs (b)"

    def __str__(self) -> str:
        lines = [f"init_from {self.source}: {len(self.matched)} tensors loaded"]
        for label, names in (("missing (kept their initial values)", self.missing),
                             ("unexpected (ignored)", self.unexpected),
                             ("shape mismatch (kept their initial values)", self.mismatched)):
            if names:
                shown = ", ".join(names[:8]) + (f", ... ({len(names)} in all)" if len(names) > 8 else "")
                lines.append(f"  {label}: {shown}")
        if not self.matched:
            lines.append("  warning: nothing matched; is it the same architecture?")
        return "\n".join(lines)


def weights_file(source: str | Path) -> Path:
    """The weights a run folder (best, else last checkpoint) or a .safetensors path names."""
    source = Path(source)
    if source.is_file():
        return source
    for which in ("best", "last"):
        candidate = source / "checkpoints" / which / "model.safetensors"
        if candidate.is_file():
            return candidate
    raise ConfigError(f"init_from: {source} is neither a .safetensors file nor a run folder with checkpoints")


@torch.no_grad()
def load_matching(model: nn.Module, source: str | Path) -> TransferReport:
    """Copy every tensor of `source` whose name and shape match into `model`."""
    path = weights_file(source)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{path}: cannot read weights ({err})") from None
    report = TransferReport(source=path)
    own = model.state_dict()
    for name, target in own.items():
        if name not in tensors:
            report.missing.append(name)
        elif tensors[name].shape != target.shape:
            report.mismatched.append(f"{name}: {tuple(tensors[name].shape)} vs {tuple(target.shape)}")
        else:
            target.copy_(tensors[name])
            report.matched.append(name)
    report.unexpected = [name for name in tensors if name not in own]
    return report


def matching(model: nn.Module, patterns: list[str]) -> list[str]:
    """Names of the parameters that match any pattern (fnmatch); every pattern must match."""
    names = []
    for pattern in patterns:
        hits = [name for name, _ in model.named_parameters() if fnmatchcase(name, pattern)]
        if not hits:
            raise ConfigError(f"transfer.freeze: pattern {pattern!r} matches no parameter")
        names.extend(hits)
    return sorted(set(names))


def set_trainable(model: nn.Module, patterns: list[str], trainable: bool) -> list[str]:
    """Set requires_grad on the parameters matching `patterns`; returns their names."""
    names = matching(model, patterns)
    params = dict(model.named_parameters())
    for name in names:
        params[name].requires_grad_(trainable)
    return names


class Unfreeze(Callback):
    """Make the parameters matching `patterns` trainable once `epoch` epochs are done."""

    def __init__(self, patterns: list[str], epoch: int):
        self.patterns, self.epoch = patterns, epoch

    def on_fit_start(self, trainer) -> None:
        self.on_epoch_start(trainer)  # a run resumed past the epoch

    def on_epoch_start(self, trainer) -> None:
        if trainer.epoch >= self.epoch:
            set_trainable(trainer.model, self.patterns, True)
