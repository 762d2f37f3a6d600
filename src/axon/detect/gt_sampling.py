"""Ground-truth database sampling (SECOND, Yan et al. 2018; OpenPCDet's `gt_sampling`): objects
cut out of the training frames, with the lidar points inside their boxes, are pasted into
other frames where they collide with nothing, so that a frame shows more objects of the rare
classes. The pasted objects keep the place and pose they had in their own frame; the frame's
own points inside a pasted box are removed first.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from axon.detect.boxes import box_iou_bev

MIN_POINTS = 5
"""Objects with fewer lidar points than this are not put in the database (OpenPCDet's
`filter_by_min_points` for the KITTI classes)."""


def points_in_boxes(points: Tensor, boxes: Tensor) -> Tensor:
    """Which points `(N, >=3)` lie inside which lidar boxes `(G, 7)`: a mask `(N, G)`."""
    offset = points[:, None, :3] - boxes[None, :, :3]                    # (N, G, 3)
    cos, sin = torch.cos(boxes[:, 6]), torch.sin(boxes[:, 6])
    local_x = offset[..., 0] * cos + offset[..., 1] * sin
    local_y = -offset[..., 0] * sin + offset[..., 1] * cos
    half = boxes[:, 3:6] / 2
    return ((local_x.abs() <= half[:, 0]) & (local_y.abs() <= half[:, 1])
            & (offset[..., 2].abs() <= half[:, 2]))


@dataclass
class GroundTruthDatabase:
    """Objects of the training frames: lidar boxes `(K, 7)`, class indices `(K,)` and the
    points `(n_k, 4)` inside each box."""

    boxes: Tensor
    classes: Tensor
    points: list[Tensor]

    @classmethod
    def from_frames(cls, samples, min_points: int = MIN_POINTS) -> GroundTruthDatabase:
        """The database of `samples`, an iterable of (points `(N, 4)`, lidar boxes `(G, 7)`,
        class indices `(G,)`): every object with at least `min_points` points."""
        boxes, classes, points = [], [], []
        for frame_points, frame_boxes, frame_classes in samples:
            if len(frame_boxes) == 0:
                continue
            inside = points_in_boxes(frame_points, frame_boxes)
            for k in range(len(frame_boxes)):
                mine = frame_points[inside[:, k]]
                if len(mine) >= min_points:
                    boxes.append(frame_boxes[k])
                    classes.append(frame_classes[k])
                    points.append(mine.clone())
        if not boxes:
            return cls(torch.zeros(0, 7), torch.zeros(0, dtype=torch.long), [])
        return cls(torch.stack(boxes), torch.stack(classes), points)

    def __len__(self) -> int:
        return len(self.points)

    def count(self, class_index: int) -> int:
        return int((self.classes == class_index).sum())

    def paste(self, points: Tensor, boxes: Tensor, classes: Tensor, wanted: dict[int, int],
              generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
        """The frame (points `(N, 4)`, boxes `(G, 7)`, classes `(G,)`) with objects drawn from
        the database added: per class index c, up to `wanted[c]` objects of c in all (the
        frame's own included), skipping any whose bird's-eye box overlaps a box already there
        or drawn before it."""
        drawn = []
        for class_index, target in wanted.items():
            missing = target - int((classes == class_index).sum())
            pool = torch.nonzero(self.classes == class_index).flatten()
            if missing <= 0 or len(pool) == 0:
                continue
            order = torch.randperm(len(pool), generator=generator)[:missing]
            drawn.append(pool[order])
        if not drawn:
            return points, boxes, classes
        drawn = torch.cat(drawn)
        candidates = self.boxes[drawn].to(boxes.dtype)
        overlaps = box_iou_bev(candidates, torch.cat([boxes, candidates])) > 0
        keep = []
        for i in range(len(drawn)):                   # greedy: the frame's boxes, then earlier draws
            clash = overlaps[i, :len(boxes)].any() or any(bool(overlaps[i, len(boxes) + j]) for j in keep)
            if not clash:
                keep.append(i)
        if not keep:
            return points, boxes, classes
        pasted = candidates[keep]
        emptied = points[~points_in_boxes(points, pasted).any(dim=1)]
        new_points = [self.points[int(drawn[i])].to(points.dtype) for i in keep]
        return (torch.cat([emptied, *new_points]), torch.cat([boxes, pasted]),
                torch.cat([classes, self.classes[drawn[keep]]]))
