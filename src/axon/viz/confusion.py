"""Confusion-matrix heat map."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from axon.viz.io import new_figure, save_figure


def plot_confusion(matrix: np.ndarray, classes: list[str], path: str | Path, title: str = "Confusion matrix") -> Path:
    """Rows: true class, columns: predicted class; each cell shows its count."""
    size = max(4.0, 0.5 * len(classes) + 1.5)
    fig, (ax,) = new_figure(width=size, height=size)
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ticks = np.arange(len(classes))
    ax.set(xticks=ticks, yticks=ticks, xticklabels=classes, yticklabels=classes,
           xlabel="predicted", ylabel="true", title=title)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, col), count in np.ndenumerate(matrix):
        ax.text(col, row, str(count), ha="center", va="center", fontsize=8,
                color="white" if count > threshold else "black")
    return save_figure(fig, path)
