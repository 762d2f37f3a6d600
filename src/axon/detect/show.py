"""`axon detect show`: a KITTI frame from above, with its labels and, when given, detections."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from axon.data.kitti import KittiFormatError, camera_to_lidar_boxes, read_calib, read_label, read_velodyne
from axon.detect.boxes import bev_corners
from axon.viz.detect import plot_bev


def _corners(boxes: np.ndarray) -> np.ndarray:
    """BEV corners `(N, 4, 2)` of lidar boxes `(N, 7)`."""
    return bev_corners(torch.from_numpy(boxes[:, [0, 1, 3, 4, 6]]).double()).numpy()


def show_scene(velodyne: str | Path, results: str | Path | None = None, out: str | Path | None = None,
               extent: float = 70.0) -> Path:
    """Draw the frame of a `velodyne/<id>.bin` file: its points, the boxes of `../label_2/<id>.txt`
    (DontCare left out) through `../calib/<id>.txt`, and the detections of `results/<id>.txt`
    when given. Writes `out` (default `<id>_bev.png`) and returns its path."""
    velodyne = Path(velodyne)
    frame_id, root = velodyne.stem, velodyne.parent.parent
    points = read_velodyne(velodyne)
    calib_path = root / "calib" / f"{frame_id}.txt"
    label_path = root / "label_2" / f"{frame_id}.txt"
    if not calib_path.is_file():
        raise KittiFormatError(f"{calib_path}: missing; `show` needs the frame's calibration beside velodyne/")
    calib = read_calib(calib_path)
    truth, names = np.zeros((0, 4, 2)), []
    if label_path.is_file():
        labels = read_label(label_path)
        labels = labels.select([n != "DontCare" for n in labels.name])
        truth, names = _corners(camera_to_lidar_boxes(labels, calib)), labels.name
    detections = scores = None
    if results is not None:
        result_path = Path(results) / f"{frame_id}.txt"
        found = read_label(result_path)
        detections, scores = _corners(camera_to_lidar_boxes(found, calib)), found.score
    out = Path(out) if out is not None else Path(f"{frame_id}_bev.png")
    return plot_bev(out, points, truth, names, detections, scores, extent, title=f"frame {frame_id}")
