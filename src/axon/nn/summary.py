"""`Model.summary()`'s table: one row per node (name, type, output shape, parameters,
multiply-adds per sample) and the totals."""

from __future__ import annotations

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
