"""Target assignment for anchor-based detectors (OpenPCDet's AxisAlignedTargetAssigner, with
the exact rotated BEV IoU): per class, an anchor is positive when its best BEV IoU with a
ground-truth box of its class reaches the class's `matched` threshold, or when it is a
ground-truth box's best anchor; negative below `unmatched`; ignored in between.

Label convention: -1 ignored, 0 background, k + 1 class k. Direction bins follow SECOND: the
heading, less `dir_offset`, in two half-turns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from axon.detect.boxes import aligned_box_iou_bev, encode_boxes

DIR_OFFSET = math.pi / 4


@dataclass
class AnchorTargets:
    """Per anchor (N anchors): `labels (N,)` int64 (-1 ignore, 0 background, k + 1 class k),
    `boxes (N, 7)` residuals of the matched box (zero elsewhere), `directions (N,)` int64."""

    labels: Tensor
    boxes: Tensor
    directions: Tensor


def direction_bins(heading: Tensor, dir_offset: float = DIR_OFFSET) -> Tensor:
    """The 2-bin direction class `(...,)` int64 of headings `(...,)`."""
    turned = torch.remainder(heading - dir_offset, 2 * math.pi)
    return (turned // math.pi).long().clamp(0, 1)


def _candidate_iou(anchors: Tensor, boxes: Tensor) -> Tensor:
    """BEV IoU `(N, G)` of anchors `(N, 7)` and boxes `(G, 7)`, computed exactly only for the
    pairs whose circumscribed circles meet (the others are 0)."""
    iou = anchors.new_zeros((len(anchors), len(boxes)))
    if len(anchors) == 0 or len(boxes) == 0:
        return iou
    reach_a = anchors[:, 3:5].norm(dim=1) / 2
    reach_b = boxes[:, 3:5].norm(dim=1) / 2
    distance = torch.cdist(anchors[:, :2], boxes[:, :2])
    a, b = torch.nonzero(distance < reach_a[:, None] + reach_b[None, :], as_tuple=True)
    iou[a, b] = aligned_box_iou_bev(anchors[a], boxes[b]).to(iou.dtype)
    return iou


def assign_targets(anchors: Tensor, classes: Tensor, gt_boxes: Tensor, gt_classes: Tensor,
                   matched: Sequence[float], unmatched: Sequence[float],
                   dir_offset: float = DIR_OFFSET) -> AnchorTargets:
    """Targets for anchors `(N, 7)` of class `classes (N,)` against ground truth `gt_boxes
    (G, 7)` of class `gt_classes (G,)`; `matched[k]`/`unmatched[k]` are class k's IoU
    thresholds (KITTI PointPillars: Car 0.6/0.45, Pedestrian and Cyclist 0.5/0.35)."""
    labels = torch.full((len(anchors),), -1, dtype=torch.long)
    target_boxes = anchors.new_zeros((len(anchors), 7))
    directions = torch.zeros(len(anchors), dtype=torch.long)
    for k in range(len(matched)):
        anchor_idx = torch.nonzero(classes == k).flatten()
        gt_idx = torch.nonzero(gt_classes == k).flatten()
        if len(gt_idx) == 0:
            labels[anchor_idx] = 0
            continue
        iou = _candidate_iou(anchors[anchor_idx], gt_boxes[gt_idx])
        best_iou, best_gt = iou.max(dim=1)
        positive = best_iou >= matched[k]
        gt_best = iou.max(dim=0).values
        forced = ((iou == gt_best[None, :]) & (gt_best[None, :] > 0)).any(dim=1)
        positive |= forced
        negative = (best_iou < unmatched[k]) & ~positive
        chosen = anchor_idx[positive]
        boxes = gt_boxes[gt_idx[best_gt[positive]]]
        labels[anchor_idx[negative]] = 0
        labels[chosen] = k + 1
        target_boxes[chosen] = encode_boxes(boxes, anchors[chosen])
        directions[chosen] = direction_bins(boxes[:, 6], dir_offset)
    return AnchorTargets(labels, target_boxes, directions)
