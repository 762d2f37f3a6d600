"""Plots for the Predictive Vision Model: the display grid, image sequences (dreams,
blind-spot filling, tracking), and error curves. Written as PNG files."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def _show(ax, img: np.ndarray, title: str | None = None) -> None:
    img = np.clip(img, 0, 1)
    ax.imshow(img, cmap=None if img.ndim == 3 else "gray", vmin=0, vmax=1,
              interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def display_figure(panels: dict):
    """The display grid as a matplotlib figure: a column per layer, a row per view
    (signal, prediction, |error|, state, readout), and the text line as the title.
    `panels = {"columns": [{"title", "rows": {name: image}}], "text": str}`."""
    cols = panels["columns"]
    names = list(dict.fromkeys(n for c in cols for n in c["rows"]))
    fig, axes = plt.subplots(len(names), len(cols), figsize=(1.7 * len(cols), 1.8 * len(names)),
                             squeeze=False)
    for j, col in enumerate(cols):
        for i, name in enumerate(names):
            ax = axes[i, j]
            if name in col["rows"]:
                _show(ax, col["rows"][name], col["title"] if i == 0 else None)
            else:
                ax.axis("off")
            if j == 0:
                ax.set_ylabel(name, fontsize=8)
    fig.suptitle(panels["text"], fontsize=8)
    fig.tight_layout()
    return fig


def save_display(path: str | Path, panels: dict) -> Path:
    """The display grid (see `display_figure`) as a PNG file."""
    return _save(display_figure(panels), path)


def figure_pixels(fig) -> np.ndarray:
    """Render a figure to `(height, width, 3)` uint8 pixels and close it."""
    fig.set_dpi(100)
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy()
    plt.close(fig)
    return rgb


def save_image_rows(path: str | Path, rows: list[tuple[str, list[np.ndarray]]],
                    col_titles: list[str] | None = None, title: str = "") -> Path:
    """Rows of images (`(H, W)` or `(H, W, 3)` in [0, 1]), each row labelled."""
    n = max(len(imgs) for _, imgs in rows)
    fig, axes = plt.subplots(len(rows), n, figsize=(1.3 * n, 1.4 * len(rows)), squeeze=False)
    for i, (label, imgs) in enumerate(rows):
        for j in range(n):
            ax = axes[i, j]
            if j < len(imgs):
                _show(ax, imgs[j], col_titles[j] if (col_titles and i == 0) else None)
            else:
                ax.axis("off")
            if j == 0:
                ax.set_ylabel(label, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def plot_curves(path: str | Path, curves: dict[str, tuple[list, list]], ylabel: str,
                title: str = "", logy: bool = True) -> Path:
    """Several curves `name -> (steps, values)` on one plot."""
    fig, ax = plt.subplots(figsize=(8.5, 4.2))
    for name, (xs, ys) in curves.items():
        ax.plot(xs, ys, label=name, lw=1.4)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))  # off the curves
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)
