"""Cutting a model into pipeline stages along its layer order.

A model can be cut when it is an axon graph (`axon.nn.Model`, one input and one output)
or an `nn.Sequential`. A cut goes between two consecutive layers of the run order and
must be a single tensor edge: exactly one tensor computed before it (or the graph's
input) is read after it. The stages either start at named layers (`split_at`) or balance
the parameter bytes, or the multiply-adds measured by torch's FLOP counter, along the
layer order (the cut minimising the largest stage).

Every stage module keeps the full model's parameter names (`layers.conv1.weight` in a
graph, `3.weight` in a Sequential), so the stages' state dicts together are the full
model's state dict."""

from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from axon.errors import ConfigError
from axon.nn.model import Model

BALANCES = ("parameters", "multiply_adds")


class GraphStage(nn.Module):
    """The layers `names` (consecutive in the run order) of a graph Model: takes the one
    tensor crossing the cut before them, (N, ...), and returns the one crossing the cut
    after them (the model's output for the last stage)."""

    def __init__(self, model: Model, names: Sequence[str], input_name: str, output_name: str):
        super().__init__()
        wanted = set(names)
        self.layers = nn.ModuleDict({name: model.layers[name] for name in names})
        self._wiring = [(name, inputs) for name, inputs in model.wiring if name in wanted]
        self.input_name, self.output_name = input_name, output_name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = {self.input_name: x}
        for name, inputs in self._wiring:
            values[name] = self.layers[name](*[values[i] for i in inputs])
        return values[self.output_name]

    def extra_repr(self) -> str:
        return f"input={self.input_name!r}, output={self.output_name!r}"


def layer_names(model: nn.Module) -> list[str]:
    """The layers of a graph Model (run order) or an nn.Sequential (children), by name."""
    if isinstance(model, Model):
        if len(model.input_names) != 1 or len(model.output_names) != 1:
            raise ConfigError(
                f"distributed.strategy: pipeline needs a graph with one input and one output; this one has "
                f"inputs {model.input_names} and outputs {model.output_names}"
            )
        return [name for name, _ in model.wiring]
    if isinstance(model, nn.Sequential):
        return [name for name, _ in model.named_children()]
    raise ConfigError(
        f"distributed.strategy: pipeline can cut an axon graph Model (axon.nn Input/Model) or an "
        f"nn.Sequential into stages, not a {type(model).__name__}"
    )


def crossing(model: nn.Module, cut: int) -> list[str]:
    """Names of the tensors computed before layer number `cut` (or the graph's input) and
    read from it on (or returned by the model): a valid cut crosses exactly one."""
    if not isinstance(model, Model):
        return [str(cut - 1)]
    wiring = model.wiring
    before = set(model.input_names) | {name for name, _ in wiring[:cut]}
    read = {i for _, inputs in wiring[cut:] for i in inputs} | set(model.output_names)
    return [name for name in [*model.input_names, *(n for n, _ in wiring[:cut])] if name in before & read]


def valid_cuts(model: nn.Module) -> list[int]:
    """Positions k (the cut before layer k, 0 < k < layers) that are single tensor edges."""
    return [k for k in range(1, len(layer_names(model))) if len(crossing(model, k)) == 1]


def named_cuts(model: nn.Module, split_at: Sequence[str], stages: int) -> list[int]:
    """The cut positions before the layers named in `split_at`, checked."""
    names = layer_names(model)
    if len(split_at) != stages - 1:
        raise ConfigError(
            f"distributed.split_at: {len(split_at)} cut(s) {list(split_at)} make {len(split_at) + 1} stages, "
            f"but distributed.stages is {stages} (give {stages - 1} layer names)"
        )
    cuts = []
    for name in split_at:
        if name not in names:
            raise ConfigError(f"distributed.split_at: no layer named {name!r} (layers in order: {', '.join(names)})")
        k = names.index(name)
        if k == 0:
            raise ConfigError(f"distributed.split_at: {name!r} is the first layer; a stage must start after it")
        crossed = crossing(model, k)
        if len(crossed) != 1:
            raise ConfigError(
                f"distributed.split_at: the cut before layer {name!r} is not a single tensor edge: "
                f"{len(crossed)} tensors cross it ({', '.join(repr(c) for c in crossed)})"
            )
        if cuts and k <= cuts[-1]:
            raise ConfigError(f"distributed.split_at: {name!r} comes before {names[cuts[-1]]!r} in the layer "
                              f"order; list the cuts in order")
        cuts.append(k)
    return cuts


def layer_costs(model: nn.Module, balance: str) -> list[float]:
    """Each layer's cost: its parameter bytes, or its multiply-adds per sample (torch's FLOP
    counter over one forward of a zero sample; graph Models only, whose input shape is known)."""
    names = layer_names(model)
    modules = dict(model.layers.items()) if isinstance(model, Model) else dict(model.named_children())
    if balance == "parameters":
        return [float(sum(p.numel() * p.element_size() for p in modules[name].parameters())) for name in names]
    if balance != "multiply_adds":
        raise ConfigError(f"distributed.balance: expected one of {', '.join(BALANCES)}, got {balance!r}")
    if not isinstance(model, Model):
        raise ConfigError("distributed.balance: multiply_adds needs an axon graph Model (its input shape is "
                          "known); balance an nn.Sequential by parameters or name its cuts (split_at)")
    parameter = next(model.parameters(), None)
    dtype = parameter.dtype if parameter is not None else torch.float32
    sample = torch.zeros((1, *model.shapes[model.input_names[0]]), dtype=dtype)
    counter = FlopCounterMode(display=False)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), counter:
            model(sample)
    finally:
        model.train(was_training)
    flops = counter.get_flop_counts()
    prefix = type(model).__name__ + ".layers."
    return [float(sum(flops.get(prefix + name, {}).values())) / 2 for name in names]


def balanced_cuts(costs: Sequence[float], allowed: Sequence[int], stages: int) -> list[int]:
    """The `stages - 1` cut positions from `allowed` that minimise the largest stage's total
    cost (ties: the earliest cuts); costs[i] is layer i's cost."""
    n = len(costs)
    prefix = [0.0]
    for c in costs:
        prefix.append(prefix[-1] + c)
    points = [0, *sorted(allowed), n]
    # best[j][i]: (largest stage, cuts) covering layers [0, points[i]) in j stages
    best: list[dict[int, tuple[float, list[int]]]] = [{0: (0.0, [])}]
    for j in range(1, stages + 1):
        row = {}
        for i in range(1, len(points)):
            if j == stages and points[i] != n:
                continue
            options = []
            for h, (worst, cuts) in best[j - 1].items():
                if points[h] < points[i]:
                    stage = prefix[points[i]] - prefix[points[h]]
                    options.append((max(worst, stage), cuts + ([points[i]] if points[i] != n else [])))
            if options:
                row[i] = min(options)
        best.append(row)
    if len(points) - 1 not in best[stages]:
        raise ConfigError(
            f"distributed.stages: the model has {len(allowed)} place(s) to cut between layers where a single tensor "
            f"crosses, so at most {len(allowed) + 1} stages, not {stages}"
        )
    return best[stages][len(points) - 1][1]


def plan_stages(model: nn.Module, stages: int, split_at: Sequence[str] | None = None,
                balance: str = "parameters") -> list[list[str]]:
    """The layer names of each of `stages` stages, in order."""
    names = layer_names(model)
    if stages < 1 or stages > len(names):
        raise ConfigError(f"distributed.stages: expected 1 to {len(names)} (the model's layers), got {stages}")
    if split_at:
        cuts = named_cuts(model, split_at, stages)
    else:
        cuts = balanced_cuts(layer_costs(model, balance), valid_cuts(model), stages)
    bounds = [0, *cuts, len(names)]
    return [names[a:b] for a, b in zip(bounds, bounds[1:])]


def stage_module(model: nn.Module, plan: list[list[str]], index: int) -> nn.Module:
    """Stage `index` of `plan` as a module sharing `model`'s layers (and their names)."""
    names = plan[index]
    if isinstance(model, Model):
        first = len([n for stage in plan[:index] for n in stage])
        total = sum(len(stage) for stage in plan)
        last = first + len(names)
        (entering,) = crossing(model, first) if first else model.input_names
        (leaving,) = crossing(model, last) if last < total else model.output_names
        return GraphStage(model, names, entering, leaving)
    children = dict(model.named_children())
    return nn.Sequential(OrderedDict((name, children[name]) for name in names))
