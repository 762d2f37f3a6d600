"""The PointPillars loss (as SECOND and OpenPCDet): sigmoid focal loss on the class logits
(alpha 0.25, gamma 2), smooth-L1 (beta 1/9) on the box residuals with the heading compared
through its sine, and cross-entropy on the 2-bin direction, each normalised by the batch's
positive anchors and weighted 1, 2 and 0.2."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from axon.detect.boxes import sin_difference


@dataclass
class DetectionLoss:
    """`loss((cls, box, direction), targets) -> scalar`, the head's outputs shaped `(B, ..., K)`,
    `(B, ..., 7)`, `(B, ..., 2)` over the same anchors as `targets["labels"] (B, ...)`,
    `targets["boxes"] (B, ..., 7)`, `targets["directions"] (B, ...)`. The parts of the last
    call are kept in `parts` (for progress and logs)."""

    alpha: float = 0.25
    gamma: float = 2.0
    beta: float = 1 / 9
    cls_weight: float = 1.0
    box_weight: float = 2.0
    dir_weight: float = 0.2

    def __post_init__(self):
        self.parts: dict[str, float] = {}

    def __call__(self, outputs, targets: dict) -> Tensor:
        cls, box, direction = (t.float() for t in outputs)
        num_classes = cls.shape[-1]
        cls, box, direction = cls.reshape(-1, num_classes), box.reshape(-1, 7), direction.reshape(-1, 2)
        labels = targets["labels"].reshape(-1)
        target_boxes = targets["boxes"].reshape(-1, 7).float()
        directions = targets["directions"].reshape(-1)
        positive = labels > 0
        normaliser = positive.sum().clamp(min=1).float()

        cared = labels >= 0
        one_hot = F.one_hot(labels.clamp(min=0), num_classes + 1)[:, 1:].to(cls.dtype)
        p = torch.sigmoid(cls)
        p_t = p * one_hot + (1 - p) * (1 - one_hot)
        alpha_t = self.alpha * one_hot + (1 - self.alpha) * (1 - one_hot)
        focal = alpha_t * (1 - p_t) ** self.gamma * F.binary_cross_entropy_with_logits(cls, one_hot, reduction="none")
        cls_loss = (focal.sum(dim=1) * cared).sum() / normaliser

        pred, goal = box[positive], target_boxes[positive]
        sin_pred, sin_goal = sin_difference(pred[:, 6], goal[:, 6])
        pred = torch.cat([pred[:, :6], sin_pred[:, None]], dim=1)
        goal = torch.cat([goal[:, :6], sin_goal[:, None]], dim=1)
        box_loss = F.smooth_l1_loss(pred, goal, beta=self.beta, reduction="sum") / normaliser
        dir_loss = F.cross_entropy(direction[positive], directions[positive], reduction="sum") / normaliser

        total = self.cls_weight * cls_loss + self.box_weight * box_loss + self.dir_weight * dir_loss
        self.parts = {"cls": float(cls_loss.detach()), "box": float(box_loss.detach()),
                      "dir": float(dir_loss.detach())}
        return total
