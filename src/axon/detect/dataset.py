"""KITTI frames as training samples for a pillar detector: the labels as lidar boxes of the
model's classes, the KITTI augmentations (ground-truth database sampling as an option, then
random flip across the x axis, global rotation and scaling), pillars and anchor targets, all
computed in DataLoader workers.

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
from axon.detect.gt_sampling import GroundTruthDatabase
from axon.errors import ConfigError
from axon.detect.targets import assign_targets
from axon.nn.pillars import pad_pillars, pillarize


@dataclass(frozen=True)
class DetectionAugment:
    """KITTI augmentations: first, when `gt_sampling` names classes, objects pasted from the
    ground-truth database until the frame has that many of each class (`((class name, count),
    ...)`); then flip across the x axis with probability `flip`, rotation about z uniform in
    +-`rotation` radians, scaling uniform in [scale_min, scale_max]."""

    flip: float = 0.5
    rotation: float = math.pi / 4
    scale_min: float = 0.95
    scale_max: float = 1.05
    gt_sampling: tuple[tuple[str, int], ...] = ()


AUGMENT_KEYS = ("recipe", "flip", "rotation", "scale", "gt_sampling")


def _probability_like(value, where: str, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= high:
        raise ConfigError(f"{where}: expected a number in [0, {high:g}], got {value!r}")
    return float(value)


def detection_augment(spec: dict | None, field: str = "data.augment") -> DetectionAugment | None:
    """The augmentation a detection run's `data.augment` block asks for: the KITTI defaults
    when it is null or {recipe: kitti}, None for {recipe: none}, any of flip, rotation
    (radians), scale ([low, high]) and gt_sampling ({class name: objects per frame})
    overridden; a ConfigError naming `field.<key>` otherwise."""
    if spec is None:
        return DetectionAugment()
    if not isinstance(spec, dict):
        raise ConfigError(f"{field}: expected a mapping such as {{gt_sampling: {{Car: 15}}}}, got {spec!r}")
    unknown = [key for key in spec if key not in AUGMENT_KEYS]
    if unknown:
        raise ConfigError(f"{field}.{unknown[0]}: unknown key for a detection run (known: {', '.join(AUGMENT_KEYS)})")
    recipe = spec.get("recipe", "kitti")
    if recipe not in ("kitti", "none"):
        raise ConfigError(f"{field}.recipe: unknown recipe {recipe!r} for a detection run (known: kitti, none)")
    if recipe == "none":
        if len(spec) > 1:
            raise ConfigError(f"{field}: recipe none switches augmentation off; drop the other keys")
        return None
    default = DetectionAugment()
    flip = _probability_like(spec.get("flip", default.flip), f"{field}.flip", 1)
    rotation = _probability_like(spec.get("rotation", default.rotation), f"{field}.rotation", math.pi)
    scale = spec.get("scale", [default.scale_min, default.scale_max])
    if (not isinstance(scale, (list, tuple)) or len(scale) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in scale)
            or not 0 < scale[0] <= scale[1] <= 10):
        raise ConfigError(f"{field}.scale: expected [low, high] with 0 < low <= high <= 10, got {scale!r}")
    sampling = spec.get("gt_sampling") or {}
    if not isinstance(sampling, dict):
        raise ConfigError(f"{field}.gt_sampling: expected {{class name: objects per frame}}, got {sampling!r}")
    for name, count in sampling.items():
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 100:
            raise ConfigError(f"{field}.gt_sampling.{name}: expected a whole number of objects in [0, 100], "
                              f"got {count!r}")
    return DetectionAugment(flip, rotation, float(scale[0]), float(scale[1]),
                            tuple((str(name), count) for name, count in sampling.items()))


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
        self.database, self.wanted = None, {}
        if training and augment is not None and augment.gt_sampling:
            unknown = [name for name, _ in augment.gt_sampling if name not in self.classes]
            if unknown:
                raise ConfigError(f"data.augment.gt_sampling.{unknown[0]}: not a class of the model "
                                  f"(classes: {', '.join(self.classes)})")
            self.wanted = {self.classes.index(name): count for name, count in augment.gt_sampling}
            self.database = GroundTruthDatabase.from_frames(self._ground_truth(i) for i in range(len(frames)))

    collate_fn = staticmethod(collate)

    def set_epoch(self, epoch: int) -> None:
        """Draw this epoch's augmentations (call before the epoch's loader is iterated)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.frames)

    def _generator(self, index: int) -> torch.Generator:
        return torch.Generator().manual_seed(sample_seed(self.seed, self.epoch, index))

    def _ground_truth(self, index: int) -> tuple[Tensor, Tensor, Tensor]:
        """Frame `index` as (points `(N, 4)`, lidar boxes `(G, 7)`, class indices `(G,)`)."""
        frame = self.frames[index]
        return (torch.from_numpy(frame.points).float(), *lidar_ground_truth(frame, self.classes))

    def __getitem__(self, index: int):
        points, boxes, classes = self._ground_truth(index)
        generator = self._generator(index) if self.training else None
        if self.database is not None:
            points, boxes, classes = self.database.paste(points, boxes, classes, self.wanted, generator)
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


