"""Synthetic KITTI scenes, written in the exact KITTI object layout.

A flat ground 1.73 m below the sensor; cars, vans, pedestrians and cyclists as boxes with
KITTI-like sizes and headings, standing on the ground and not overlapping; a spinning lidar like
KITTI's HDL-64E (64 beams from +2 to -24.9 degrees, 360 degrees of azimuth) casts rays and keeps
the nearest surface each ray meets, with range noise, so nearer objects hide farther ones and
only surfaces the sensor sees get points. Labels come from a calibration like KITTI's: objects
in the camera's view get their projected 2D box (clipped to the 1242 x 375 image), truncation
(the share of the projected box outside the image), occlusion (from the share of the lidar rays
aimed at the object that reach it first: 0 above 80%, 1 above 40%, else 2), alpha and the camera
box; objects in view that no ray reaches are written as DontCare. So KITTI's easy, moderate and
hard filters (box height, occlusion, truncation) select what they select on KITTI.

Every scene draws from its own generator, spawned from the seed and the scene's index: the same
seed gives the same files, whatever the number of scenes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from axon.data.kitti import (
    KittiCalibration, KittiLabels, lidar_to_camera_boxes, write_calib, write_image_set, write_label,
    write_png, write_velodyne,
)

__all__ = ["LidarSpec", "Scene", "kitti_like_calibration", "make_scene", "scene_from_boxes", "simulated_detections",
           "write_synthetic_kitti", "IMAGE_SIZE", "SENSOR_HEIGHT"]

IMAGE_SIZE = (1242, 375)
SENSOR_HEIGHT = 1.73
# class: mean and spread of (height, width, length), how many per scene (Poisson mean)
CLASS_SHAPES = {
    "Car": ((1.53, 1.63, 3.88), (0.14, 0.10, 0.43), 7.0),
    "Van": ((2.21, 1.90, 5.08), (0.30, 0.15, 0.50), 0.6),
    "Pedestrian": ((1.76, 0.66, 0.84), (0.11, 0.14, 0.23), 3.0),
    "Cyclist": ((1.74, 0.60, 1.76), (0.09, 0.12, 0.18), 1.2),
}


def kitti_like_calibration() -> KittiCalibration:
    """The calibration of KITTI's first training frame (a 721-pixel focal length, the lidar
    0.27 m behind and 0.08 m above the left camera)."""
    return KittiCalibration(
        P0=np.array([[721.5377, 0, 609.5593, 0], [0, 721.5377, 172.854, 0], [0, 0, 1, 0]]),
        P1=np.array([[721.5377, 0, 609.5593, -387.5744], [0, 721.5377, 172.854, 0], [0, 0, 1, 0]]),
        P2=np.array([[721.5377, 0, 609.5593, 44.85728], [0, 721.5377, 172.854, 0.2163791],
                     [0, 0, 1, 0.002745884]]),
        P3=np.array([[721.5377, 0, 609.5593, -339.5242], [0, 721.5377, 172.854, 2.199936],
                     [0, 0, 1, 0.002729905]]),
        R0_rect=np.array([[0.9999239, 0.00983776, -0.007445048], [-0.009869795, 0.9999421, -0.004278459],
                          [0.007402527, 0.004351614, 0.9999631]]),
        Tr_velo_to_cam=np.array([[0.007533745, -0.9999714, -0.000616602, -0.004069766],
                                 [0.01480249, 0.0007280733, -0.9998902, -0.07631618],
                                 [0.9998621, 0.00752379, 0.01480755, -0.2717806]]),
        Tr_imu_to_velo=np.array([[0.9999976, 0.0007553071, -0.002035826, -0.8086759],
                                 [-0.0007854027, 0.9998898, -0.01482298, 0.3195559],
                                 [0.002024406, 0.01482454, 0.9998881, -0.7997231]]))


@dataclass(frozen=True)
class LidarSpec:
    """A spinning lidar: `beams` elevations evenly from `top` to `bottom` degrees, `columns`
    azimuth steps over `fov` degrees centred on the forward axis (360: all around), range noise
    (standard deviation, metres) and maximum range."""

    beams: int = 64
    columns: int = 1024
    top: float = 2.0
    bottom: float = -24.9
    range_noise: float = 0.02
    max_range: float = 120.0
    fov: float = 360.0

    def directions(self) -> np.ndarray:
        """Unit ray directions `(beams * columns, 3)` in the lidar frame."""
        elevation = np.radians(np.linspace(self.top, self.bottom, self.beams))[:, None]
        half = np.radians(self.fov) / 2
        azimuth = np.linspace(-half, half, self.columns, endpoint=self.fov < 360)[None, :]
        return np.stack(np.broadcast_arrays(np.cos(elevation) * np.cos(azimuth),
                                            np.cos(elevation) * np.sin(azimuth),
                                            np.sin(elevation)), axis=-1).reshape(-1, 3)


@dataclass
class Scene:
    """One synthetic frame: lidar boxes `(N, 7)` with class names, the points `(P, 4)` and the
    KITTI labels (objects in the camera's view, DontCare included)."""

    boxes: np.ndarray
    names: list[str]
    points: np.ndarray
    labels: KittiLabels


def _place_objects(rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """Non-overlapping lidar boxes `(N, 7)` on the ground, mostly ahead of the sensor."""
    boxes, names = [], []
    for name, (mean, spread, count) in CLASS_SHAPES.items():
        for _ in range(rng.poisson(count)):
            h, w, l = np.maximum(rng.normal(mean, spread), 0.3)
            for _attempt in range(20):
                x, y = rng.uniform(-20, 70), rng.uniform(-25, 25)
                if np.hypot(x, y) < 4:
                    continue
                if name in ("Car", "Van"):     # along the road, either way, or parked across
                    heading = rng.choice([0.0, np.pi, np.pi / 2]) + rng.normal(0, 0.15)
                else:
                    heading = rng.uniform(-np.pi, np.pi)
                radius = np.hypot(l, w) / 2
                if all(np.hypot(x - b[0], y - b[1]) > radius + np.hypot(b[3], b[4]) / 2 + 0.2 for b in boxes):
                    boxes.append([x, y, -SENSOR_HEIGHT + h / 2, l, w, h, heading])
                    names.append(name)
                    break
    return np.array(boxes, dtype=np.float64).reshape(-1, 7), names


def _ray_box_distances(directions: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Distance `(R, N)` along each ray from the origin to each box (slab method; inf: missed)."""
    cos, sin = np.cos(boxes[:, 6]), np.sin(boxes[:, 6])
    # ray origin and direction in each box's frame
    ox, oy = -(boxes[:, 0] * cos + boxes[:, 1] * sin), -(-boxes[:, 0] * sin + boxes[:, 1] * cos)
    oz = -boxes[:, 2]
    dx = directions[:, :1] * cos + directions[:, 1:2] * sin
    dy = -directions[:, :1] * sin + directions[:, 1:2] * cos
    dz = np.broadcast_to(directions[:, 2:3], dx.shape)
    near = np.zeros(dx.shape)
    far = np.full(dx.shape, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        for origin, direction, half in ((ox, dx, boxes[:, 3] / 2), (oy, dy, boxes[:, 4] / 2),
                                        (oz, dz, boxes[:, 5] / 2)):
            t1, t2 = (-half - origin) / direction, (half - origin) / direction
            parallel = direction == 0
            inside = np.abs(origin) <= half
            low = np.where(parallel, np.where(inside, -np.inf, np.inf), np.minimum(t1, t2))
            high = np.where(parallel, np.where(inside, np.inf, -np.inf), np.maximum(t1, t2))
            near, far = np.maximum(near, low), np.minimum(far, high)
    return np.where(near <= far, near, np.inf)


def _cast(directions: np.ndarray, boxes: np.ndarray, max_range: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per ray: the distance to the nearest surface (inf: none), the box hit first (-1: the
    ground or nothing), and the distances to every box `(R, N)`."""
    to_box = _ray_box_distances(directions, boxes) if len(boxes) else np.full((len(directions), 0), np.inf)
    with np.errstate(divide="ignore"):
        to_ground = np.where(directions[:, 2] < 0, -SENSOR_HEIGHT / directions[:, 2], np.inf)
    first_box = to_box.argmin(axis=1) if len(boxes) else np.zeros(len(directions), dtype=np.int64)
    box_distance = to_box[np.arange(len(directions)), first_box] if len(boxes) else np.full(len(directions), np.inf)
    distance = np.minimum(box_distance, to_ground)
    hit_box = np.where(box_distance <= to_ground, first_box, -1)
    distance = np.where(distance <= max_range, distance, np.inf)
    return distance, np.where(np.isfinite(distance), hit_box, -1), to_box


def _image_boxes(corners_rect: np.ndarray, calib: KittiCalibration) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Projected 2D boxes `(N, 4)` (unclipped), whether all corners are in front of the camera,
    and the clipped boxes `(N, 4)`, of corners `(N, 8, 3)` in rectified camera coordinates."""
    n = len(corners_rect)
    pixels, depth = calib.rect_to_image(corners_rect.reshape(-1, 3))
    pixels, depth = pixels.reshape(n, 8, 2), depth.reshape(n, 8)
    in_front = (depth > 0.1).all(axis=1)
    raw = np.concatenate([pixels.min(axis=1), pixels.max(axis=1)], axis=1)
    width, height = IMAGE_SIZE
    clipped = np.stack([np.clip(raw[:, 0], 0, width - 1), np.clip(raw[:, 1], 0, height - 1),
                        np.clip(raw[:, 2], 0, width - 1), np.clip(raw[:, 3], 0, height - 1)], axis=1)
    return raw, in_front, clipped


def _corners(boxes: np.ndarray) -> np.ndarray:
    """Corners `(N, 8, 3)` of lidar boxes `(N, 7)`."""
    signs = np.array([[sx, sy, sz] for sz in (-1, 1) for sx, sy in ((1, 1), (-1, 1), (-1, -1), (1, -1))]) / 2
    local = signs[None] * boxes[:, None, 3:6]
    cos, sin = np.cos(boxes[:, 6])[:, None], np.sin(boxes[:, 6])[:, None]
    x = local[..., 0] * cos - local[..., 1] * sin + boxes[:, None, 0]
    y = local[..., 0] * sin + local[..., 1] * cos + boxes[:, None, 1]
    return np.stack([x, y, local[..., 2] + boxes[:, None, 2]], axis=-1)


def _labels(boxes: np.ndarray, names: list[str], hit_box: np.ndarray, to_box: np.ndarray,
            calib: KittiCalibration) -> KittiLabels:
    """KITTI labels of the objects in the camera's view."""
    if not len(boxes):
        return KittiLabels()
    corners = calib.lidar_to_rect(_corners(boxes).reshape(-1, 3)).reshape(-1, 8, 3)
    raw, in_front, clipped = _image_boxes(corners, calib)
    raw_area = (raw[:, 2] - raw[:, 0]) * (raw[:, 3] - raw[:, 1])
    clipped_area = np.clip(clipped[:, 2] - clipped[:, 0], 0, None) * np.clip(clipped[:, 3] - clipped[:, 1], 0, None)
    truncated = 1 - clipped_area / np.maximum(raw_area, 1e-9)
    aimed = np.isfinite(to_box).sum(axis=0)                          # rays that would reach each box
    seen = np.bincount(hit_box[hit_box >= 0], minlength=len(boxes))  # rays that reach it first
    visible = seen / np.maximum(aimed, 1)
    occluded = np.where(visible > 0.8, 0, np.where(visible > 0.4, 1, 2))
    keep = in_front & (clipped_area > 0) & (truncated < 0.95)
    location, dimensions, rotation_y = lidar_to_camera_boxes(boxes, calib)
    alpha = rotation_y - np.arctan2(location[:, 0], location[:, 2])
    alpha = (alpha + np.pi) % (2 * np.pi) - np.pi
    dontcare = seen == 0
    order = np.flatnonzero(keep & ~dontcare).tolist() + np.flatnonzero(keep & dontcare).tolist()
    out = KittiLabels(
        name=[names[i] if not dontcare[i] else "DontCare" for i in order],
        truncated=np.round(truncated[order], 2), occluded=occluded[order].astype(np.int64),
        alpha=alpha[order], bbox=clipped[order], dimensions=dimensions[order],
        location=location[order], rotation_y=rotation_y[order])
    care = np.array([n == "DontCare" for n in out.name], dtype=bool)   # KITTI's DontCare fields
    out.truncated[care], out.occluded[care], out.alpha[care] = -1, -1, -10
    out.dimensions[care], out.location[care], out.rotation_y[care] = -1, -1000, -10
    return out


def make_scene(rng: np.random.Generator, calib: KittiCalibration, lidar: LidarSpec = LidarSpec()) -> Scene:
    """One synthetic frame drawn from `rng`."""
    return scene_from_boxes(*_place_objects(rng), rng, calib, lidar)


def scene_from_boxes(boxes: np.ndarray, names: list[str], rng: np.random.Generator,
                     calib: KittiCalibration, lidar: LidarSpec = LidarSpec()) -> Scene:
    """The lidar sweep and labels of given objects: lidar boxes `(N, 7)` (standing on the
    ground, z = -1.73 + height / 2) with their class names."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 7)
    directions = lidar.directions()
    distance, hit_box, to_box = _cast(directions, boxes, lidar.max_range)
    hit = np.isfinite(distance)
    noisy = distance[hit] + rng.normal(0, lidar.range_noise, int(hit.sum()))
    xyz = directions[hit] * noisy[:, None]
    object_reflectance = rng.uniform(0.05, 0.9, len(boxes))
    reflectance = np.where(hit_box[hit] >= 0, object_reflectance[np.maximum(hit_box[hit], 0)], 0.25)
    reflectance = np.clip(reflectance + rng.normal(0, 0.03, len(reflectance)), 0, 1)
    points = np.concatenate([xyz, reflectance[:, None]], axis=1).astype(np.float32)
    return Scene(boxes, names, points, _labels(boxes, names, hit_box, to_box, calib))


def simulated_detections(labels: KittiLabels, rng: np.random.Generator, miss_rate: float = 0.1,
                         false_positives: float = 1.5) -> KittiLabels:
    """A simulated detector's result for one frame: each labelled object found (with jittered
    box, heading and 2D box, and a score that falls with the jitter) with probability
    1 - miss_rate, plus Poisson(`false_positives`) spurious boxes with low scores."""
    objects = labels.select([n != "DontCare" for n in labels.name])
    found = objects.select(rng.random(len(objects)) >= miss_rate)
    n = len(found)
    jitter = rng.normal(0, 1, (n, 3)) * np.array([0.25, 0.05, 0.25])
    found.location = found.location + jitter
    found.dimensions = found.dimensions * np.exp(rng.normal(0, 0.05, (n, 3)))
    found.rotation_y = found.rotation_y + rng.normal(0, 0.1, n)
    found.alpha = found.alpha + rng.normal(0, 0.1, n)
    found.bbox = found.bbox + rng.normal(0, 3, (n, 4))
    quality = np.exp(-np.linalg.norm(jitter, axis=1))
    found.score = np.clip(quality * rng.uniform(0.6, 1.0, n), 0.01, 1)
    spurious = found.select(rng.integers(0, max(n, 1), rng.poisson(false_positives) if n else 0))
    m = len(spurious)
    spurious.location = spurious.location + rng.normal(0, 1, (m, 3)) * np.array([6, 0, 6])
    spurious.bbox = spurious.bbox + rng.normal(0, 60, (m, 1)) * np.array([1, 0, 1, 0])
    spurious.score = rng.uniform(0.01, 0.5, m)
    return KittiLabels.concatenate([found, spurious])


def write_synthetic_kitti(out: str | Path, scenes: int, seed: int = 0, val_fraction: float = 0.5,
                          detections: bool = False, lidar: LidarSpec = LidarSpec()) -> Path:
    """Write `scenes` synthetic frames as a KITTI object folder at `out` (`ImageSets/` and
    `training/{velodyne,label_2,calib,image_2}`); with `detections`, also a simulated detector's
    result files in `out/results/`. The first frames go to `train.txt`, the last
    `round(val_fraction * scenes)` to `val.txt`. Returns `out`."""
    out = Path(out)
    calib = kitti_like_calibration()
    folder = out / "training"
    image = np.full((IMAGE_SIZE[1], IMAGE_SIZE[0], 3), 40, dtype=np.uint8)
    ids = [f"{i:06d}" for i in range(scenes)]
    for index, frame_id in enumerate(ids):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))
        scene = make_scene(rng, calib, lidar)
        write_velodyne(folder / "velodyne" / f"{frame_id}.bin", scene.points)
        write_label(folder / "label_2" / f"{frame_id}.txt", scene.labels)
        write_calib(folder / "calib" / f"{frame_id}.txt", calib)
        write_png(folder / "image_2" / f"{frame_id}.png", image)
        if detections:
            write_label(out / "results" / f"{frame_id}.txt", simulated_detections(scene.labels, rng))
    n_val = int(round(val_fraction * scenes))
    write_image_set(out / "ImageSets" / "train.txt", ids[:scenes - n_val])
    write_image_set(out / "ImageSets" / "val.txt", ids[scenes - n_val:])
    return out
