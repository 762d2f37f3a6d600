"""Anchors for a single-stage BEV detector (SECOND/PointPillars): at every cell of the head's
output grid, per class, one box of the class's size per rotation, its bottom at the class's
height.

Order: anchors are laid out `(H, W, A, 7)` lidar boxes (x, y, z centre, dx, dy, dz, heading)
with A = classes x rotations, class-major, the layout of `axon.zoo.pointpillars.AnchorHead`.
"""

from __future__ import annotations

import torch
from torch import Tensor


def make_anchors(feature_size: tuple[int, int], point_range, anchor_config: dict,
                 align_center: bool = False) -> Tensor:
    """Anchors `(H, W, A, 7)` over `point_range` (x_min, y_min, z_min, x_max, y_max, z_max).

    `anchor_config` holds per class `sizes` (length, width, height), `bottoms` (z of the
    bottom) and the shared `rotations`. As OpenPCDet's generator with `align_center` false
    (its KITTI PointPillars setting), the first and last anchors sit on the range's edges;
    with `align_center` true they sit at the cells' centres."""
    rows, cols = feature_size
    x_min, y_min, _, x_max, y_max, _ = map(float, point_range)
    if align_center:
        xs = x_min + (torch.arange(cols, dtype=torch.float64) + 0.5) * (x_max - x_min) / cols
        ys = y_min + (torch.arange(rows, dtype=torch.float64) + 0.5) * (y_max - y_min) / rows
    else:
        xs = torch.linspace(x_min, x_max, cols, dtype=torch.float64)
        ys = torch.linspace(y_min, y_max, rows, dtype=torch.float64)
    per_location = []
    for size, bottom in zip(anchor_config["sizes"], anchor_config["bottoms"]):
        for rotation in anchor_config["rotations"]:
            per_location.append([bottom + size[2] / 2, *size, rotation])
    per_location = torch.tensor(per_location, dtype=torch.float64)                  # (A, 5): z, dx, dy, dz, heading
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    centres = torch.stack([grid_x, grid_y], dim=-1)[:, :, None, :].expand(rows, cols, len(per_location), 2)
    rest = per_location[None, None].expand(rows, cols, -1, -1)
    return torch.cat([centres, rest], dim=-1).float()


def anchor_classes(anchor_config: dict) -> Tensor:
    """The class index `(A,)` of each anchor at one location, class-major."""
    rotations = len(anchor_config["rotations"])
    return torch.arange(len(anchor_config["sizes"])).repeat_interleave(rotations)
