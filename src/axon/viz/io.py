"""Figure creation and atomic PNG writing (matplotlib, Agg backend)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def new_figure(rows: int = 1, cols: int = 1, width: float = 5.0, height: float = 4.0):
    """A figure of rows x cols panels (each width x height inches) and a flat list of axes."""
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    return fig, list(axes.flat)


def save_figure(fig, path: str | Path, dpi: int = 100) -> Path:
    """Write `fig` as PNG to `path` atomically (temp file then rename) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fig.tight_layout()
        fig.savefig(tmp, dpi=dpi, format="png")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        with contextlib.suppress(OSError):  # a read-only folder refuses even this
            tmp.unlink(missing_ok=True)
    return path
