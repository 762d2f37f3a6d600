"""Weight initialisation: Kaiming and Xavier for conv and dense weights, and the
focal-loss prior bias for a classification head (Lin et al. 2017, RetinaNet)."""

from __future__ import annotations

import math

import torch
from torch import nn


def _weights(model: nn.Module):
    """(module name, weight) of every layer whose `weight` has >= 2 dimensions."""
    for name, module in model.named_modules():
        weight = getattr(module, "weight", None)
        if isinstance(weight, nn.Parameter) and weight.ndim >= 2:
            yield name, module, weight


@torch.no_grad()
def init_weights(model: nn.Module, scheme: str = "kaiming", mode: str = "fan_in", nonlinearity: str = "relu") -> int:
    """Re-initialise every conv/dense weight of `model` (in place) and zero its bias.

    kaiming: normal with std = gain / sqrt(fan), fan by `mode`; xavier: normal with
    std = gain * sqrt(2 / (fan_in + fan_out)). A locally connected weight
    (locations, out, fan_in) is initialised as its per-location matrices. Returns the
    number of layers initialised."""
    if scheme not in {"kaiming", "xavier"}:
        raise ValueError(f"init.scheme: expected kaiming or xavier, got {scheme!r}")
    count = 0
    for _, module, weight in _weights(model):
        target = weight.flatten(0, 1) if weight.ndim == 3 else weight  # locally connected
        if scheme == "kaiming":
            nn.init.kaiming_normal_(target, mode=mode, nonlinearity=nonlinearity)
        else:
            nn.init.xavier_normal_(target, gain=nn.init.calculate_gain(nonlinearity))
        bias = getattr(module, "bias", None)
        if isinstance(bias, nn.Parameter):
            bias.zero_()
        count += 1
    return count


def classification_head(model: nn.Module) -> tuple[str, nn.Module]:
    """The last layer (in definition order) with a 2-D weight and a bias: the logits."""
    heads = [(name, module) for name, module, weight in _weights(model)
             if weight.ndim == 2 and isinstance(getattr(module, "bias", None), nn.Parameter)]
    if not heads:
        raise ValueError("init.prior: the model has no dense layer with a bias to act as classification head")
    return heads[-1]


@torch.no_grad()
def set_prior_bias(model: nn.Module, prior: float) -> str:
    """Set the classification head's bias to -log((1 - prior) / prior), so every class
    starts with probability `prior` under a sigmoid (focal loss's stable start). Returns
    the head's name."""
    if not 0.0 < prior < 1.0:
        raise ValueError(f"init.prior: expected a probability in (0, 1), got {prior}")
    name, head = classification_head(model)
    head.bias.fill_(-math.log((1.0 - prior) / prior))
    return name
