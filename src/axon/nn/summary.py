"""`Model.summary()`'s table: one row per node (name, type, output shape, parameters,
multiply-adds per sample) and the totals; and `summary(module, example)` for any
nn.Module, whose multiply-adds PyTorch's FLOP counter (torch.utils.flop_counter) counts
on one forward pass."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from axon.nn.model import Model


def count_parameters(module) -> int:
    """Number of trainable and frozen parameter elements (buffers excluded)."""
    return sum(p.numel() for p in module.parameters())


def summary_rows(model: Model) -> list[tuple[str, str, str, int, int]]:
    """(name, type, output shape, parameters, multiply-adds per sample) for every node."""
    rows = [(n, "Input", str(model.shapes[n]), 0, 0) for n in model.input_names]
    for name, inputs in model.wiring:
        layer = model.layers[name]
        macs = layer.multiply_adds(*[model.shapes[i] for i in inputs])
        rows.append((name, type(layer).__name__, str(model.shapes[name]), count_parameters(layer), macs))
    return rows


def format_summary(model: Model) -> str:
    rows = summary_rows(model)
    header = ("name", "type", "output shape", "parameters", "multiply-adds")
    cells = [header] + [(n, t, s, f"{p:,}", f"{m:,}") for n, t, s, p, m in rows]
    total = ("total", "", "", f"{count_parameters(model):,}", f"{sum(r[4] for r in rows):,}")
    widths = [max(len(row[i]) for row in cells + [total]) for i in range(5)]

    def line(row) -> str:
        left = [row[i].ljust(widths[i]) for i in range(3)]
        right = [row[i].rjust(widths[i]) for i in range(3, 5)]
        return "  ".join(left + right).rstrip()

    rule = "-" * len(line(header))
    return "\n".join([line(header), rule, *[line(r) for r in cells[1:]], rule, line(total)])


@dataclass
class ModelSummary:
    """Totals for one sample, and per top-level child module."""

    parameters: int
    trainable: int
    multiply_adds: int
    """Multiply-adds per sample (FLOPs / 2) of one forward pass."""
    rows: list[tuple[str, str, int, int]]
    """(module name, type, parameters, multiply-adds per sample) of every leaf module
    (one without children) that has parameters or multiplies."""

    def __str__(self) -> str:
        header = ("module", "type", "parameters", "multiply-adds")
        cells = [header] + [(n, t, f"{p:,}", f"{m:,}") for n, t, p, m in self.rows]
        total = ("total", "", f"{self.parameters:,}", f"{self.multiply_adds:,}")
        widths = [max(len(row[i]) for row in cells + [total]) for i in range(4)]

        def line(row) -> str:
            return "  ".join([row[0].ljust(widths[0]), row[1].ljust(widths[1]),
                              row[2].rjust(widths[2]), row[3].rjust(widths[3])]).rstrip()

        rule = "-" * len(line(header))
        lines = [line(header), rule, *[line(r) for r in cells[1:]], rule, line(total)]
        if self.trainable != self.parameters:
            lines.append(f"trainable parameters: {self.trainable:,}")
        return "\n".join(lines)


def summary(model: nn.Module, example: torch.Tensor | tuple[torch.Tensor, ...]) -> ModelSummary:
    """Parameters and multiply-adds per sample of `model` on `example` (a batch, or a tuple
    of the forward's inputs; the counts are divided by the batch size). Runs one forward
    pass in eval mode without gradients."""
    inputs = example if isinstance(example, tuple) else (example,)
    if not inputs or not all(isinstance(t, torch.Tensor) for t in inputs):
        raise TypeError(f"summary: expected an example batch tensor (or a tuple of them), got {type(example).__name__}")
    batch = inputs[0].shape[0] if inputs[0].ndim else 1
    counter = FlopCounterMode(display=False, depth=1_000)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), counter:
            model(*inputs)
    finally:
        model.train(was_training)
    by_module = counter.get_flop_counts()
    rows = []
    for name, module in model.named_modules():
        if not name or next(module.children(), None) is not None:
            continue
        flops = sum(by_module.get(f"{type(model).__name__}.{name}", {}).values())
        parameters = sum(p.numel() for p in module.parameters())
        if parameters or flops:
            rows.append((name, type(module).__name__, parameters, flops // 2 // max(batch, 1)))
    return ModelSummary(
        parameters=sum(p.numel() for p in model.parameters()),
        trainable=sum(p.numel() for p in model.parameters() if p.requires_grad),
        multiply_adds=counter.get_total_flops() // 2 // max(batch, 1),
        rows=rows,
    )
