"""A pillar detector on KITTI frames: detections as KITTI result rows, and the KITTI AP of a
model on a split (what evaluation epochs, `axon eval` and `axon predict` use)."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Sequence

import torch

from axon.data.kitti import KittiFrame, KittiLabels
from axon.detect.anchors import make_anchors
from axon.detect.kitti_eval import MIN_OVERLAPS, evaluate_kitti
from axon.detect.postprocess import decode_detections
from axon.detect.results import detections_to_kitti
from axon.nn.pillars import pad_pillars


@torch.no_grad()
def predict_frames(model, frames: Sequence[KittiFrame], device: torch.device | str = "cpu", batch_size: int = 4,
                   autocast_dtype: torch.dtype | None = None, **postprocess) -> list[KittiLabels]:
    """KITTI result labels (with scores) of `model` (a `PointPillars`) on each frame, in eval
    mode; `postprocess` goes to `decode_detections` (score and NMS thresholds)."""
    device = torch.device(device)
    was_training = model.training
    model.eval()
    anchors = make_anchors(model.feature_size, model.grid.point_range, model.anchor_config).to(device)
    results = []
    for start in range(0, len(frames), batch_size):
        chunk = [frames[i] for i in range(start, min(start + batch_size, len(frames)))]
        batch = pad_pillars([model.pillarize(torch.from_numpy(f.points).float()) for f in chunk])
        batch = [t.to(device) for t in batch]
        context = torch.autocast(device.type, dtype=autocast_dtype) if autocast_dtype else nullcontext()
        with context:
            outputs = model(*batch)
        for frame, found in zip(chunk, decode_detections(outputs, anchors, **postprocess)):
            results.append(detections_to_kitti(found, model.classes, frame.calib, frame.image_size))
    model.train(was_training)
    return results


def kitti_ap(model, frames: Sequence[KittiFrame], device: torch.device | str = "cpu", batch_size: int = 4) -> dict:
    """The KITTI evaluation report (`axon.detect.kitti_eval.evaluate_kitti`) of `model` on
    labelled `frames`, for the model's classes that the protocol knows."""
    detections = predict_frames(model, frames, device, batch_size)
    truth = [frames[i].labels for i in range(len(frames))]
    classes = tuple(c for c in model.classes if c in MIN_OVERLAPS)
    return evaluate_kitti(truth, detections, classes)


def moderate_ap(report: dict, metric: str = "bev") -> dict[str, float]:
    """{class: AP (R40, moderate, the class's strict minimum overlap) in [0, 1]} of a report."""
    return {cls: entry["results"][0]["AP40"][metric][1] / 100 for cls, entry in report.items()}
