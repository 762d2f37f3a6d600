"""Classification losses beyond PyTorch's: focal loss (Lin et al. 2017)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FocalLoss(nn.Module):
    """Softmax focal loss: mean over the batch of -(1 - p_t)^gamma * log p_t, where p_t is
    the probability of the true class. gamma = 0 is cross-entropy.

    logits (N, C), targets (N,) class indices -> scalar."""

    def __init__(self, gamma: float = 2.0, label_smoothing: float = 0.0):
        super().__init__()
        if gamma < 0:
            raise ValueError(f"focal_gamma: expected >= 0, got {gamma}")
        self.gamma, self.label_smoothing = gamma, label_smoothing

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if logits.dtype in (torch.float16, torch.bfloat16):
            logits = logits.float()  # the (1 - p)^gamma factor needs more than half precision
        log_p = F.log_softmax(logits, dim=1)
        log_pt = log_p.gather(1, targets[:, None]).squeeze(1)
        weight = (1.0 - log_pt.exp()).clamp(min=0).pow(self.gamma)
        ce = F.nll_loss(log_p, targets, reduction="none")
        if self.label_smoothing:
            ce = (1 - self.label_smoothing) * ce - self.label_smoothing * log_p.mean(dim=1)
        return (weight * ce).mean()

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}, label_smoothing={self.label_smoothing}"


def build_loss(name: str, label_smoothing: float = 0.0, focal_gamma: float = 2.0) -> nn.Module:
    """cross_entropy (with label smoothing), focal, or mse (regression)."""
    if name == "cross_entropy":
        return nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    if name == "focal":
        return FocalLoss(focal_gamma, label_smoothing)
    if name == "mse":
        return nn.MSELoss()
    raise ValueError(f"loss: unknown loss {name!r} (expected cross_entropy, focal, mse or a callable)")
