"""Bird's-eye-view pictures of lidar scenes with boxes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from axon.viz.io import new_figure, save_figure


def plot_bev(path: str | Path, points: np.ndarray, truth: np.ndarray, truth_names: list[str],
             detections: np.ndarray | None = None, scores: np.ndarray | None = None,
             extent: float = 70.0, title: str = "") -> Path:
    """Write a PNG of lidar `points (P, 4)` seen from above (coloured by height), ground-truth
    box outlines `truth (N, 4, 2)` (corners, x forward, y left) labelled with `truth_names`, and
    detection outlines `(M, 4, 2)` with their `scores (M,)`; `extent` metres ahead and to each
    side are shown."""
    fig, (ax,) = new_figure(width=9, height=9)
    near = (points[:, 0] > -10) & (points[:, 0] < extent) & (np.abs(points[:, 1]) < extent / 2 + 5)
    # x forward drawn upwards, y (left) drawn to the left
    height = points[near, 2]
    floor = np.percentile(height, 5) if len(height) else 0.0   # about the ground: dark
    raised = height > floor + 0.25                              # objects drawn larger, on top
    for mask, size in ((~raised, 0.5), (raised, 3.0)):
        ax.scatter(-points[near][mask, 1], points[near][mask, 0], s=size, c=height[mask], cmap="plasma",
                   vmin=floor, vmax=floor + 2.0, linewidths=0)
    for corners, name in zip(truth, truth_names):
        closed = np.vstack([corners, corners[:1]])
        ax.plot(-closed[:, 1], closed[:, 0], color="tab:green", linewidth=1.2)
        front = corners[[0, 3]].mean(0)  # the box's front edge: heading marker
        ax.plot([-corners[:, 1].mean(), -front[1]], [corners[:, 0].mean(), front[0]], color="tab:green", linewidth=1)
        ax.annotate(name, (-corners[:, 1].max(), corners[:, 0].max()), color="tab:green", fontsize=7)
    if detections is not None:
        for corners, score in zip(detections, scores if scores is not None else [None] * len(detections)):
            closed = np.vstack([corners, corners[:1]])
            ax.plot(-closed[:, 1], closed[:, 0], color="tab:red", linewidth=1, linestyle="--")
            if score is not None:
                ax.annotate(f"{score:.2f}", (-corners[:, 1].min(), corners[:, 0].min()), color="tab:red", fontsize=7)
    ax.plot([0], [0], marker="^", color="black")
    ax.set_xlim(-extent / 2, extent / 2)
    ax.set_ylim(-10, extent)
    ax.set_aspect("equal")
    ax.set_xlabel("left  <-  y (m)  ->  right")
    ax.set_ylabel("x forward (m)")
    ax.set_title(title + "  (green: ground truth, red dashed: detections)")
    return save_figure(fig, path)
