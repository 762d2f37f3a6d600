"""Training curves: loss and accuracy against epoch."""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.ticker import MaxNLocator

from axon.viz.io import new_figure, save_figure


def _series(history: list[dict], key: str) -> tuple[list, list]:
    points = [(row["epoch"], row[key]) for row in history
              if isinstance(row.get(key), (int, float)) and not math.isnan(row[key])]
    return [p[0] for p in points], [p[1] for p in points]


def plot_curves(history: list[dict], path: str | Path) -> Path:
    """Two panels from per-epoch rows: train/val loss, and train/val accuracy (when logged)."""
    has_acc = any("val_acc" in row or "train_acc" in row for row in history)
    fig, axes = new_figure(1, 2 if has_acc else 1, width=5.0)
    for key, style in (("train_loss", "-"), ("val_loss", "--")):
        axes[0].plot(*_series(history, key), style, marker="o", markersize=3, label=key)
    axes[0].set(xlabel="epoch", ylabel="loss", title="Loss")
    axes[0].set_yscale("log")
    if has_acc:
        for key, style in (("train_acc", "-"), ("val_acc", "--")):
            axes[1].plot(*_series(history, key), style, marker="o", markersize=3, label=key)
        axes[1].set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    return save_figure(fig, path)
