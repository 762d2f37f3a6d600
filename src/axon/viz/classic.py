"""Plots of the classic learning systems (axon.classic), written as PNG files: the voting
recogniser's weight maps, the Hopfield capacity curve, modern Hopfield retrieval, the
Boltzmann machine's KL divergence and an RBM's filters. Inputs are numpy arrays or lists."""

from __future__ import annotations

import math
import os
import uuid
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402


def save_figure(fig, path) -> Path:
    """Write `fig` to `path` as PNG atomically (a temporary file beside it, then rename);
    closes the figure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "xb") as file:
            fig.savefig(file, format="png", dpi=110, bbox_inches="tight")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        plt.close(fig)
    return path


def _grid(count: int) -> tuple[int, int]:
    cols = math.ceil(math.sqrt(count))
    return math.ceil(count / cols), cols


def plot_weight_maps(weights, image_shape: tuple[int, int], path, class_names=None, title: str | None = None) -> Path:
    """One map per output unit (seed 002): the weight from each pixel drawn at that pixel's
    place as a blob whose area is the weight's magnitude (relative to the largest weight)
    and whose colour is its sign (white positive, black negative) on grey.

    weights: (n_classes, height * width)."""
    weights = np.asarray(weights, dtype=float)
    height, width = image_shape
    if weights.ndim != 2 or weights.shape[1] != height * width:
        raise ValueError(f"weights: expected shape (n_classes, {height * width}) for images {height}x{width}, got {weights.shape}")
    names = class_names if class_names is not None else [str(i) for i in range(weights.shape[0])]
    scale = np.abs(weights).max() or 1.0
    rows, cols = _grid(weights.shape[0])
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols, 2.1 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for index, (ax, name) in enumerate(zip(axes.flat, names)):
        ax.set_facecolor("0.5")
        ax.add_patch(Rectangle((0, 0), width, height, color="0.5"))
        for pixel, value in enumerate(weights[index]):
            side = math.sqrt(abs(value) / scale) * 0.95
            if side == 0:
                continue
            row, col = divmod(pixel, width)
            ax.add_patch(Rectangle((col + 0.5 - side / 2, height - row - 0.5 - side / 2), side, side,
                                   color="white" if value > 0 else "black"))
        ax.set_xlim(0, width)
        ax.set_ylim(0, height)
        ax.set_aspect("equal")
        ax.set_title(name, fontsize=10)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_capacity(sizes, alphas, overlaps, theory_alphas, theory_overlaps, path, alpha_c: float = 0.138) -> Path:
    """Mean recall overlap m against load alpha = p/N, one line per N, with the theory
    curve and alpha_c marked. overlaps: (len(sizes), len(alphas))."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for n, row in zip(sizes, overlaps):
        ax.plot(alphas, row, "o-", ms=3.5, label=f"simulation, N = {n}")
    ax.plot(theory_alphas, theory_overlaps, "k--", lw=1.4, label="theory (Amit, Gutfreund, Sompolinsky)")
    ax.axvline(alpha_c, color="0.5", lw=0.8, ls=":")
    ax.text(alpha_c + 0.003, 0.05, rf"$\alpha_c \approx {alpha_c}$", color="0.3")
    ax.set_xlabel(r"load $\alpha = p / N$")
    ax.set_ylabel("overlap m after recall")
    ax.set_ylim(0, 1.03)
    ax.set_title("Hopfield network capacity (asynchronous recall from stored patterns)")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def plot_modern_retrieval(betas, n_patterns, success, dim: int, path) -> Path:
    """Fraction of corrupted cues retrieved exactly against beta, one line per number of
    stored patterns. success: (len(n_patterns), len(betas))."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for p, row in zip(n_patterns, success):
        ax.plot(betas, row, "o-", ms=3.5, label=f"p = {p} ({p / dim:.3g} N)")
    ax.set_xscale("log")
    ax.set_xlabel(r"inverse temperature $\beta$")
    ax.set_ylabel("exact retrieval rate")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"Modern Hopfield network, N = {dim}: one update $\\xi \\leftarrow X^T$softmax$(\\beta X \\xi)$")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def plot_kl(history, path, title: str = "Boltzmann machine learning") -> Path:
    """Exact KL(data || model) in nats against the update number."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.plot(np.arange(1, len(history) + 1), history)
    ax.set_xlabel("update")
    ax.set_ylabel("KL(data || model) [nats]")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def plot_filters(components, image_shape: tuple[int, int], path, max_filters: int = 100, title: str | None = None) -> Path:
    """Each hidden unit's weights drawn as an image (grey: 0, symmetric colour scale per
    filter). components: (n_components, height * width)."""
    components = np.asarray(components, dtype=float)
    height, width = image_shape
    if components.ndim != 2 or components.shape[1] != height * width:
        raise ValueError(f"components: expected shape (n_components, {height * width}) for images {height}x{width}, got {components.shape}")
    shown = components[:max_filters]
    rows, cols = _grid(shown.shape[0])
    fig, axes = plt.subplots(rows, cols, figsize=(0.9 * cols, 0.9 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, filt in zip(axes.flat, shown):
        limit = np.abs(filt).max() or 1.0
        ax.imshow(filt.reshape(height, width), cmap="gray", vmin=-limit, vmax=limit, interpolation="nearest")
    fig.subplots_adjust(top=1 - 0.4 / (0.9 * rows), wspace=0.08, hspace=0.08)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_rule_capacity(alphas, overlaps_by_rule: dict, n_neurons: int, path, theory=None) -> Path:
    """Recall overlap against load for each learning rule (rule -> overlaps (len(alphas),)),
    one line each, on one plot; `theory` (alphas, overlaps) drawn dashed for Hebb's rule."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for (rule, row), marker in zip(overlaps_by_rule.items(), "osd^"):
        ax.plot(alphas, row, marker=marker, ms=4, label=f"{rule} (simulation, N = {n_neurons})")
    if theory is not None:
        ax.plot(*theory, "k--", lw=1.2, label="Hebb theory (AGS)")
    ax.set_xlabel(r"load $\alpha = p / N$")
    ax.set_ylabel("overlap m after recall")
    ax.set_ylim(0, 1.05)
    ax.set_title("Capacity of three learning rules (recall from stored patterns)")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def plot_recall(frames, frame_every: int, energies, overlaps, pattern, stored_energy: float, image_shape, path,
                title: str) -> Path:
    """Recall from a noisy cue: the frames (k, N) as images (cue first) and the stored
    pattern, with each frame's overlap, above the energy after every single-neuron update."""
    k = len(frames)
    fig = plt.figure(figsize=(1.5 * (k + 1), 4.6))
    grid = fig.add_gridspec(2, k + 1, height_ratios=[1.0, 1.1])
    labels = ["cue"] + [f"after {min(i * frame_every, len(energies) - 1)} updates" for i in range(1, k)]
    labels[-1] = f"final ({len(energies) - 1} updates)"
    for i, (frame, label) in enumerate(zip(frames, labels)):
        ax = fig.add_subplot(grid[0, i])
        ax.imshow(np.asarray(frame).reshape(image_shape), cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(f"{label}\nm = {overlaps[i]:.2f}", fontsize=7)
        ax.set_axis_off()
    ax = fig.add_subplot(grid[0, k])
    ax.imshow(np.asarray(pattern).reshape(image_shape), cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_title("stored pattern", fontsize=7)
    ax.set_axis_off()
    ax = fig.add_subplot(grid[1, :])
    ax.plot(np.arange(len(energies)), energies, lw=1.2, label="energy H of the state")
    ax.axhline(stored_energy, color="k", ls="--", lw=0.8, label="energy of the stored pattern")
    ax.set_xlabel("single-neuron updates")
    ax.set_ylabel("energy H")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def plot_hopfield_states(temperatures, pattern, mixture, theory, n_patterns, fractions, kinds, path) -> Path:
    """Left: overlap with the starting state after Glauber dynamics against temperature,
    from stored patterns and from 3-pattern mixtures, with the mean-field theory. Right:
    fractions (len(n_patterns), len(kinds)) of random starts ending in each kind of state,
    stacked, against the number of stored patterns."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.3))
    left.plot(temperatures, pattern, "o-", ms=4, label="from a stored pattern")
    left.plot(temperatures, mixture, "s-", ms=4, label="from a 3-pattern mixture")
    left.plot(temperatures, theory, "k--", lw=1.2, label="theory m = tanh(m / T)")
    left.axhline(0.5, color="0.6", lw=0.8, ls=":")
    left.text(temperatures[0], 0.52, "overlap of one pattern with a 3-mixture", fontsize=7, color="0.35")
    left.set_xlabel("temperature T")
    left.set_ylabel("overlap with the starting state")
    left.set_title("stochastic (Glauber) dynamics")
    left.set_ylim(-0.05, 1.05)
    left.legend(fontsize=8, loc="lower left")
    left.grid(alpha=0.3)
    positions = np.arange(len(n_patterns))
    bottom = np.zeros(len(n_patterns))
    for j, kind in enumerate(kinds):
        right.bar(positions, fractions[:, j], bottom=bottom, label=kind)
        bottom += fractions[:, j]
    right.set_xticks(positions, [str(p) for p in n_patterns])
    right.set_xlabel("stored patterns p")
    right.set_ylabel("fraction of random starts")
    right.set_title("where the dynamics end (T = 0)")
    right.set_ylim(0, 1.25)
    right.legend(fontsize=8, loc="upper center", ncol=2)
    return save_figure(fig, path)


def plot_image_rows(rows, image_shape: tuple[int, int], path, title: str, vmin: float = 0.0,
                    vmax: float = 1.0) -> Path:
    """Rows of small images, each row labelled: rows is a list of (label, images (k, h*w));
    rows may have different lengths. Grey scale from vmin (black) to vmax (white)."""
    width = max(len(images) for _, images in rows)
    fig, axes = plt.subplots(len(rows), width, figsize=(0.75 * width + 1.8, 0.85 * len(rows) + 0.6), squeeze=False)
    for r, (label, images) in enumerate(rows):
        for c in range(width):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(images):
                ax.imshow(np.asarray(images[c]).reshape(image_shape), cmap="gray", vmin=vmin, vmax=vmax,
                          interpolation="nearest")
            else:
                ax.set_axis_off()
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)
