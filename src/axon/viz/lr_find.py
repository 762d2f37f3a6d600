"""The learning-rate range test plot: loss against learning rate (log scale)."""

from __future__ import annotations

from pathlib import Path

from axon.viz.io import new_figure, save_figure


def plot_lr_find(lrs: list[float], raw_losses: list[float], losses: list[float], marks: dict[str, float],
                 path: str | Path, title: str = "Learning-rate range test") -> Path:
    """Batch loss (faint) and smoothed loss against the learning rate, with a dashed
    vertical line per entry of `marks` ({label: learning rate})."""
    fig, (ax,) = new_figure(1, 1, width=6.5, height=4.2)
    ax.plot(lrs, raw_losses, color="tab:blue", alpha=0.25, linewidth=1, label="batch loss")
    ax.plot(lrs, losses, color="tab:blue", linewidth=2, label="smoothed loss")
    colours = ["tab:red", "tab:green", "tab:orange", "tab:purple"]
    for (label, lr), colour in zip(marks.items(), colours):
        ax.axvline(lr, color=colour, linestyle="--", linewidth=1.2, label=f"{label}: {lr:.2g}")
    ax.set_xscale("log")
    top = max(losses[0], min(losses)) * 1.6  # keep the divergence from squashing the useful part
    bottom = min(min(losses), min(raw_losses)) * 0.9
    ax.set_ylim(bottom, top)
    ax.set(xlabel="learning rate", ylabel="training loss", title=title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper left", fontsize=8)
    return save_figure(fig, path)
