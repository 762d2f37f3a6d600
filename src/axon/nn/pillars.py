"""Pillars (Lang et al. 2019, PointPillars) in plain PyTorch: lidar points -> vertical
columns ("pillars") on a bird's-eye-view grid -> learned per-pillar features -> a 2D
pseudo-image that an ordinary CNN reads. No compiled extension; CPU and CUDA.

Shapes: a point cloud is `(N, 4)` (x, y, z, reflectance, lidar frame, metres). A batch of
pillars is padded: `pillars (B, P, M, 4)`, `num_points (B, P)` (0 marks a padding pillar),
`coords (B, P, 2)` as (row, column) = (y index, x index) on the grid. The pseudo-image is
`(B, C, ny, nx)`: rows follow y, columns follow x.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class PillarGrid:
    """The BEV grid: `point_range` (x_min, y_min, z_min, x_max, y_max, z_max) cut into
    pillars of `pillar_size` (dx, dy, dz); dz spans the whole z range (one pillar high)."""

    point_range: tuple[float, float, float, float, float, float]
    pillar_size: tuple[float, float, float]

    def __post_init__(self):
        if len(self.point_range) != 6 or len(self.pillar_size) != 3:
            raise ValueError(f"PillarGrid: point_range needs 6 values and pillar_size 3, got "
                             f"{list(self.point_range)} and {list(self.pillar_size)}")
        low, high = self.point_range[:3], self.point_range[3:]
        if any(h <= l for l, h in zip(low, high)) or any(s <= 0 for s in self.pillar_size):
            raise ValueError(f"PillarGrid: point_range {list(self.point_range)} must have min < max and "
                             f"pillar_size {list(self.pillar_size)} must be positive")
        if self.nz != 1:
            raise ValueError(f"PillarGrid: a pillar spans the whole height: pillar_size z "
                             f"{self.pillar_size[2]} must equal z_max - z_min {high[2] - low[2]}")

    def _cells(self, axis: int) -> int:
        return round((self.point_range[axis + 3] - self.point_range[axis]) / self.pillar_size[axis])

    @property
    def nx(self) -> int:
        return self._cells(0)

    @property
    def ny(self) -> int:
        return self._cells(1)

    @property
    def nz(self) -> int:
        return self._cells(2)


def pillarize(points: Tensor, grid: PillarGrid, max_points: int, max_pillars: int,
              generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Group one cloud's points `(N, >=4)` into at most `max_pillars` pillars of at most
    `max_points` points each.

    Points outside `grid.point_range` are dropped. Without `generator` points and pillars
    are kept first-come (in the cloud's order); with it the cloud is shuffled first, so
    both caps keep a random subset. Returns `pillars (P, max_points, 4)` (zero-padded),
    `num_points (P,)` and `coords (P, 2)` (row, column), P <= max_pillars, pillars in
    order of their first point."""
    if points.ndim != 2 or points.shape[1] < 4:
        raise ValueError(f"pillarize: points must be (N, 4) x, y, z, reflectance; got {tuple(points.shape)}")
    points = points[:, :4]
    if generator is not None:
        points = points[torch.randperm(len(points), generator=generator).to(points.device)]
    low = points.new_tensor(grid.point_range[:3])
    high = points.new_tensor(grid.point_range[3:])
    size = points.new_tensor(grid.pillar_size)
    inside = ((points[:, :3] >= low) & (points[:, :3] < high)).all(dim=1)
    points = points[inside]
    cell = ((points[:, :2] - low[:2]) / size[:2]).floor().long()
    cell[:, 0].clamp_(0, grid.nx - 1)
    cell[:, 1].clamp_(0, grid.ny - 1)
    key = cell[:, 1] * grid.nx + cell[:, 0]

    unique_keys, pillar_of_point = torch.unique(key, return_inverse=True)
    order = torch.arange(len(points), device=points.device)
    first_point = torch.full((len(unique_keys),), len(points), dtype=torch.long, device=points.device)
    first_point.scatter_reduce_(0, pillar_of_point, order, reduce="amin")
    pillar_order = first_point.argsort()[:max_pillars]            # kept pillars, first-come
    rank_of_pillar = torch.full_like(first_point, -1)
    rank_of_pillar[pillar_order] = torch.arange(len(pillar_order), device=points.device)
    pillar = rank_of_pillar[pillar_of_point]                     # -1: pillar dropped

    by_pillar = torch.sort(pillar, stable=True)                  # points grouped, cloud order kept
    counts = torch.bincount(pillar[pillar >= 0], minlength=len(pillar_order))
    starts = torch.cumsum(counts, 0) - counts
    sorted_pillar = by_pillar.values
    keep = sorted_pillar >= 0
    slot = torch.arange(len(points), device=points.device) - (len(points) - keep.sum())
    slot = slot[keep] - starts[sorted_pillar[keep]]
    point_index = by_pillar.indices[keep]
    fits = slot < max_points
    pillars = points.new_zeros((len(pillar_order), max_points, 4))
    pillars[sorted_pillar[keep][fits], slot[fits]] = points[point_index[fits]]
    coords = torch.stack([unique_keys[pillar_order] // grid.nx, unique_keys[pillar_order] % grid.nx], dim=1)
    return pillars, counts.clamp(max=max_points), coords


def pad_pillars(frames: Sequence[tuple[Tensor, Tensor, Tensor]]) -> tuple[Tensor, Tensor, Tensor]:
    """Stack per-frame `pillarize` outputs into a batch padded to the largest pillar count:
    `(B, P, M, 4)`, `(B, P)`, `(B, P, 2)`; padding pillars have `num_points == 0`."""
    if not frames:
        raise ValueError("pad_pillars: no frames")
    most = max(1, max(len(p) for p, _, _ in frames))
    max_points = frames[0][0].shape[1]
    pillars = frames[0][0].new_zeros((len(frames), most, max_points, 4))
    num_points = torch.zeros((len(frames), most), dtype=torch.long)
    coords = torch.zeros((len(frames), most, 2), dtype=torch.long)
    for b, (p, n, c) in enumerate(frames):
        pillars[b, :len(p)] = p
        num_points[b, :len(n)] = n
        coords[b, :len(c)] = c
    return pillars, num_points, coords


def pillar_point_features(pillars: Tensor, num_points: Tensor, coords: Tensor, grid: PillarGrid) -> Tensor:
    """The 10 decorated point features of PointPillars (OpenPCDet's PillarVFE with
    absolute xyz): x, y, z, r, offsets from the pillar's point mean (3) and from the
    pillar's centre (3); padded points are zero. `(B, P, M, 4) -> (B, P, M, 10)`."""
    max_points = pillars.shape[2]
    mask = (torch.arange(max_points, device=pillars.device) < num_points.unsqueeze(-1)).unsqueeze(-1)
    xyz = pillars[..., :3]
    count = num_points.clamp(min=1).unsqueeze(-1).unsqueeze(-1).to(pillars.dtype)
    mean = (xyz * mask).sum(dim=2, keepdim=True) / count
    dx, dy, dz = grid.pillar_size
    x0, y0, z0 = grid.point_range[:3]
    column = coords[..., 1:2].to(pillars.dtype)
    row = coords[..., 0:1].to(pillars.dtype)
    from_centre = torch.stack([pillars[..., 0] - (column * dx + (dx / 2 + x0)),
                               pillars[..., 1] - (row * dy + (dy / 2 + y0)),
                               pillars[..., 2] - (dz / 2 + z0)], dim=-1)
    features = torch.cat([pillars, xyz - mean, from_centre], dim=-1)
    return features * mask


class PillarFeatureNet(nn.Module):
    """Pillar Feature Net: decorated points -> linear (no bias) -> BatchNorm -> ReLU ->
    max over the pillar's points. `(B, P, M, 4), (B, P), (B, P, 2) -> (B, P, channels)`."""

    def __init__(self, grid: PillarGrid, channels: int = 64):
        super().__init__()
        self.grid = grid
        self.channels = channels
        self.linear = nn.Linear(10, channels, bias=False)
        self.norm = nn.BatchNorm1d(channels, eps=1e-3, momentum=0.01)

    def forward(self, pillars: Tensor, num_points: Tensor, coords: Tensor) -> Tensor:
        features = pillar_point_features(pillars, num_points, coords, self.grid)
        batch, count, points, _ = features.shape
        x = self.linear(features).reshape(batch * count * points, self.channels)
        x = torch.relu(self.norm(x)).reshape(batch, count, points, self.channels)
        return x.amax(dim=2)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, grid=({self.grid.ny}, {self.grid.nx})"


class PillarScatter(nn.Module):
    """Pillar features onto the BEV pseudo-image: `(B, P, C), (B, P), (B, P, 2) ->
    (B, C, ny, nx)`, zero where no pillar is. Padding pillars (`num_points == 0`) go to a
    spare cell that is dropped, so the scatter is one ScatterND in ONNX."""

    def __init__(self, grid: PillarGrid):
        super().__init__()
        self.grid = grid

    def forward(self, features: Tensor, num_points: Tensor, coords: Tensor) -> Tensor:
        batch, count, channels = features.shape
        cells = self.grid.ny * self.grid.nx
        flat = coords[..., 0] * self.grid.nx + coords[..., 1]
        flat = torch.where(num_points > 0, flat, torch.full_like(flat, cells))
        offset = torch.arange(batch, device=features.device).unsqueeze(1) * (cells + 1)
        canvas = features.new_zeros((batch * (cells + 1), channels))
        canvas = canvas.index_put(((flat + offset).reshape(-1),), features.reshape(-1, channels))
        canvas = canvas.reshape(batch, cells + 1, channels)[:, :cells]
        return canvas.transpose(1, 2).reshape(batch, channels, self.grid.ny, self.grid.nx)

    def extra_repr(self) -> str:
        return f"grid=({self.grid.ny}, {self.grid.nx})"

