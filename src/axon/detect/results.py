"""Detections as KITTI result rows: lidar boxes to camera boxes through the frame's
calibration, the 2D box from the projected corners (clipped to the image), and the
observation angle alpha, as OpenPCDet writes them."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from axon.data.kitti import KittiCalibration, KittiLabels, lidar_to_camera_boxes
from axon.detect.boxes import box_corners_3d
from axon.detect.postprocess import Detections


def detections_to_kitti(detections: Detections, classes: Sequence[str], calib: KittiCalibration,
                        image_size: tuple[int, int]) -> KittiLabels:
    """KITTI result labels (with scores) of one frame's detections; boxes whose centre is behind
    the camera or whose 2D box falls outside the image (width, height) are dropped."""
    boxes = detections.boxes.detach().double().cpu()
    location, dimensions, rotation_y = lidar_to_camera_boxes(boxes.numpy(), calib)
    corners = box_corners_3d(boxes).numpy().reshape(-1, 3)
    pixels, depth = calib.rect_to_image(calib.lidar_to_rect(corners))
    pixels, depth = pixels.reshape(len(boxes), 8, 2), depth.reshape(len(boxes), 8)
    width, height = image_size
    bbox = np.concatenate([pixels.min(axis=1), pixels.max(axis=1)], axis=1) if len(boxes) else np.zeros((0, 4))
    bbox[:, [0, 2]] = bbox[:, [0, 2]].clip(0, width - 1)
    bbox[:, [1, 3]] = bbox[:, [1, 3]].clip(0, height - 1)
    visible = (location[:, 2] > 0) & (depth.max(axis=1) > 0) & (bbox[:, 2] > bbox[:, 0]) & (bbox[:, 3] > bbox[:, 1])
    alpha = -np.arctan2(-boxes[:, 1].numpy(), boxes[:, 0].numpy()) + rotation_y
    labels = detections.labels.cpu().numpy()
    scores = detections.scores.detach().double().cpu().numpy()
    count = len(boxes)
    result = KittiLabels(name=[classes[int(k)] for k in labels], truncated=np.full(count, -1.0),
                         occluded=np.full(count, -1, dtype=np.int64), alpha=alpha, bbox=bbox, dimensions=dimensions,
                         location=location, rotation_y=rotation_y, score=scores)
    return result.select(visible)

