"""From head outputs to detections (OpenPCDet's KITTI PointPillars post-processing): the best
class per anchor, a score threshold, the top anchors by score, box decoding with the heading
flipped by the direction classifier, and rotated NMS in bird's-eye view."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from axon.detect.boxes import decode_boxes, nms_bev
from axon.detect.targets import DIR_OFFSET


@dataclass
class Detections:
    """One frame's detections: lidar `boxes (K, 7)`, `scores (K,)`, class indices `labels (K,)`."""

    boxes: Tensor
    scores: Tensor
    labels: Tensor


def heading_from_direction(heading: Tensor, direction_bin: Tensor, dir_offset: float = DIR_OFFSET) -> Tensor:
    """Heading `(K,)` put in the half-turn the direction classifier chose `(K,)`."""
    within = torch.remainder(heading - dir_offset, math.pi)
    return within + dir_offset + math.pi * direction_bin.to(heading.dtype)


@torch.no_grad()
def decode_detections(outputs, anchors: Tensor, score_threshold: float = 0.1, nms_threshold: float = 0.01,
                      pre_nms: int = 4096, post_nms: int = 500) -> list[Detections]:
    """Detections per frame from head outputs `(cls (B, ..., K), box (B, ..., 7), direction
    (B, ..., 2))` over anchors `(..., 7)` (the same `...`)."""
    cls, box, direction = outputs
    batch, num_classes = cls.shape[0], cls.shape[-1]
    anchors = anchors.reshape(-1, 7).to(box.device, torch.float32)
    frames = []
    for b in range(batch):
        scores, labels = torch.sigmoid(cls[b].reshape(-1, num_classes).float()).max(dim=1)
        keep = torch.nonzero(scores > score_threshold).flatten()
        keep = keep[scores[keep].argsort(descending=True)[:pre_nms]]
        boxes = decode_boxes(box[b].reshape(-1, 7)[keep].float(), anchors[keep])
        bins = direction[b].reshape(-1, 2)[keep].argmax(dim=1)
        boxes[:, 6] = heading_from_direction(boxes[:, 6], bins)
        chosen = nms_bev(boxes, scores[keep], nms_threshold)[:post_nms]
        frames.append(Detections(boxes[chosen], scores[keep][chosen], labels[keep][chosen]))
    return frames
