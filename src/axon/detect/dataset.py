"""KITTI frames as training samples for a pillar detector: the labels as lidar boxes of the
model's classes, the KITTI augmentations (random flip across the x axis, global rotation and
scaling), pillars and anchor targets, all computed in DataLoader workers.

A sample is `((pillars (P, M, 4), num_points (P,), coords (P, 2)), targets)` with targets
`{"labels" (H, W, A), "boxes" (H, W, A, 7), "directions" (H, W, A)}`; `collate` pads pillars
to the batch's largest count. Augmentation draws come from a generator seeded by (seed,
epoch, frame index), so a sample is the same with any number of workers and after a resume.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from axon.data.augment import sample_seed
from axon.data.kitti import KittiFrame, camera_to_lidar_boxes
from axon.detect.anchors import anchor_classes, make_anchors
from axon.detect.targets import assign_targets
from axon.nn.pillars import pad_pillars, pillarize


@dataclass(frozen=True)
class DetectionAugment:
    """KITTI global augmentations: flip across the x axis with probability `flip`, rotation
    about z uniform in +-`rotation` radians, scaling uniform in [scale_min, scale_max]."""

    flip: float = 0.5
    rotation: float = math.pi / 4
    scale_min: float = 0.95
    scale_max: float = 1.05


def lidar_ground_truth(frame: KittiFrame, classes: tuple[str, ...]) -> tuple[Tensor, Tensor]:
    """Lidar boxes `(G, 7)` and class indices `(G,)` of the frame's objects of `classes`
    (DontCare and other types left out)."""
    labels = frame.labels
    keep = [i for i, name in enumerate(labels.name) if name in classes]
    picked = labels.select(np.array(keep, dtype=np.int64))
    boxes = torch.from_numpy(camera_to_lidar_boxes(picked, frame.calib)).float().reshape(-1, 7)
    return boxes, torch.tensor([classes.index(n) for n in picked.name], dtype=torch.long)


def augment_scene(points: Tensor, boxes: Tensor, augment: DetectionAugment,
                  generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Points `(N, 4)` and lidar boxes `(G, 7)` flipped, rotated and scaled together."""
    points, boxes = points.clone(), boxes.clone()
    draws = torch.rand(3, generator=generator, dtype=torch.float64).tolist()
    if draws[0] < augment.flip:
        points[:, 1] = -points[:, 1]
        boxes[:, 1] = -boxes[:, 1]
        boxes[:, 6] = -boxes[:, 6]
    angle = (2 * draws[1] - 1) * augment.rotation
    cos, sin = math.cos(angle), math.sin(angle)
    rotation = points.new_tensor([[cos, sin], [-sin, cos]])        # row vectors: p @ R = R(angle) p
    points[:, :2] = points[:, :2] @ rotation
    boxes[:, :2] = boxes[:, :2] @ rotation
    boxes[:, 6] += angle
    scale = augment.scale_min + draws[2] * (augment.scale_max - augment.scale_min)
    points[:, :3] *= scale
    boxes[:, :6] *= scale
    return points, boxes


def collate(samples):
    """Batch samples: pillars padded by `pad_pillars`, targets stacked."""
    inputs = pad_pillars([s[0] for s in samples])
    targets = {key: torch.stack([s[1][key] for s in samples]) for key in samples[0][1]}
    return inputs, targets


class PillarDetectionData(Dataset):
    """`frames` (any sequence of `KittiFrame`, e.g. `axon.data.kitti.KittiObjects`) as pillar
    samples with anchor targets for `model` (an `axon.zoo.pointpillars.PointPillars`)."""

    def __init__(self, frames, model, matched=(0.6, 0.5, 0.5), unmatched=(0.45, 0.35, 0.35),
                 augment: DetectionAugment | None = None, training: bool = True, seed: int = 0):
        self.frames, self.augment, self.training, self.seed = frames, augment, training, seed
        self.grid, self.classes = model.grid, model.classes
        self.max_points = model.max_points
        self.max_pillars = model.max_pillars[0] if training else model.max_pillars[1]
        self.anchors = make_anchors(model.feature_size, model.grid.point_range, model.anchor_config)
        self.anchor_shape = self.anchors.shape[:3]
        per_location = anchor_classes(model.anchor_config)
        self.anchor_class = per_location.repeat(self.anchor_shape[0] * self.anchor_shape[1])
        self.matched, self.unmatched = tuple(matched), tuple(unmatched)
        self.epoch = 0

    collate_fn = staticmethod(collate)

    def set_epoch(self, epoch: int) -> None:
        """Draw this epoch's augmentations (call before the epoch's loader is iterated)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.frames)

    def _generator(self, index: int) -> torch.Generator:
        return torch.Generator().manual_seed(sample_seed(self.seed, self.epoch, index))

    def __getitem__(self, index: int):
        frame = self.frames[index]
        points = torch.from_numpy(frame.points).float()
        boxes, classes = lidar_ground_truth(frame, self.classes)
        generator = self._generator(index) if self.training else None
        if self.training and self.augment is not None:
            points, boxes = augment_scene(points, boxes, self.augment, generator)
        low = boxes.new_tensor(self.grid.point_range[:2])
        high = boxes.new_tensor(self.grid.point_range[3:5])
        inside = ((boxes[:, :2] >= low) & (boxes[:, :2] < high)).all(dim=1)
        pillars = pillarize(points, self.grid, self.max_points, self.max_pillars, generator)
        targets = assign_targets(self.anchors.reshape(-1, 7), self.anchor_class, boxes[inside], classes[inside],
                                 self.matched, self.unmatched)
        shape = self.anchor_shape
        return pillars, {"labels": targets.labels.reshape(shape), "boxes": targets.boxes.reshape(*shape, 7),
                         "directions": targets.directions.reshape(shape)}


