"""A synthetic image task harder than the 8x8 digits, generated on the fly: 32x32 RGB
"shapes and textures", 10 classes.

A class is one of five shapes (circle, square, triangle, cross, bar) drawn either
filled or as an outline. Each image places its shape at a random position, scale and
rotation, in a random colour, over a background of random colour with a random stripe
texture, plus pixel noise. Generation is vectorised and seeded: the same seed gives the
same images bit for bit.

`make_shapes(n, seed)` gives one TensorDataset; `load_shapes_splits` gives train,
validation and test sets (balanced val/test; the training set can be class-imbalanced
for repeat-factor sampling)."""

from __future__ import annotations

import math

import torch
from torch.utils.data import TensorDataset

from axon.data.preprocessing import Preprocessing
from axon.data.registry import register_dataset
from axon.data.splits import DataSplits

SHAPES = ("circle", "square", "triangle", "cross", "bar")
FILLS = ("filled", "outline")
CLASSES = [f"{shape} {fill}" for shape in SHAPES for fill in FILLS]
"""Class k is shape k // 2 drawn filled (k even) or as an outline (k odd)."""

OUTLINE_WIDTH = 2.2
"""Outline thickness in pixels at size 32 (scaled with the image)."""


def _shape_radius(shape: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The shape's normalised radius at local coordinates (u, v): 1 on its outline,
    below 1 inside. shape: (N,) shape indices; u, v: (N, H, W)."""
    ax, ay = u.abs(), v.abs()
    triangle = torch.stack([u * math.cos(a) + v * math.sin(a) for a in (math.pi / 2, 7 * math.pi / 6,
                                                                         11 * math.pi / 6)]).amax(0) / 0.5
    radii = torch.stack([
        torch.sqrt(u * u + v * v),                                              # circle
        torch.maximum(ax, ay) / 0.8,                                            # square
        triangle,                                                               # triangle, circumradius 1
        torch.minimum(torch.maximum(ax, ay / 0.3), torch.maximum(ax / 0.3, ay)),  # cross
        torch.maximum(ax, ay / 0.35),                                           # bar
    ])
    return radii[shape, torch.arange(len(u))]  # (N, H, W)


def render_shapes(labels: torch.Tensor, size: int = 32, seed: int = 0) -> torch.Tensor:
    """Images of the classes `labels` (N,) int64: (N, 3, size, size) float32 in [0, 1]."""
    if size < 8:
        raise ValueError(f"shapes size: expected an image size of at least 8 pixels, got {size}")
    n = len(labels)
    g = torch.Generator().manual_seed(seed)

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, *shape, generator=g)

    centre = uniform(0.3, 0.7, 2, 1, 1)
    radius = uniform(0.17, 0.3, 1, 1)
    angle = uniform(0.0, 2 * math.pi, 1, 1)
    foreground = uniform(0.0, 1.0, 3, 1, 1)
    background = (foreground + uniform(0.35, 0.65, 3, 1, 1)) % 1.0  # each channel differs by >= 0.35
    stripe_angle = uniform(0.0, math.pi, 1, 1)
    stripe_period = uniform(0.12, 0.3, 1, 1)
    stripe_phase = uniform(0.0, 2 * math.pi, 1, 1)
    stripe_amplitude = uniform(0.0, 0.2, 1, 1)

    pixels = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    y, x = torch.meshgrid(pixels, pixels, indexing="ij")
    dx, dy = x - centre[:, 0], y - centre[:, 1]  # (N, H, W)
    cos, sin = torch.cos(angle), torch.sin(angle)
    u, v = (cos * dx + sin * dy) / radius, (-sin * dx + cos * dy) / radius
    r = _shape_radius(labels // 2, u, v)
    # Soft edges about one pixel wide: radius units -> pixels by the shape's size.
    pixels_per_unit = radius * size
    inside = torch.sigmoid((1.0 - r) * pixels_per_unit * 2.0)
    width = OUTLINE_WIDTH * size / 32 / pixels_per_unit
    hollow = torch.sigmoid((1.0 - width - r) * pixels_per_unit * 2.0)
    outline = (labels % 2 == 1).view(n, 1, 1).float()
    mask = (inside - outline * hollow).unsqueeze(1)  # (N, 1, H, W)

    along = x * torch.cos(stripe_angle) + y * torch.sin(stripe_angle)
    stripes = stripe_amplitude * torch.sin(2 * math.pi * along / stripe_period + stripe_phase)
    ground = background + stripes.unsqueeze(1)
    images = mask * foreground + (1 - mask) * ground
    images = images + 0.06 * torch.randn(images.shape, generator=g)
    return images.clamp(0.0, 1.0)


def class_counts(n: int, imbalance: float = 1.0, classes: int = len(CLASSES)) -> torch.Tensor:
    """Samples per class for `n` samples: equal (imbalance 1), or decaying geometrically
    from class 0 to the last class, which is `imbalance` times rarer than class 0."""
    if imbalance < 1:
        raise ValueError(f"shapes imbalance: expected a ratio >= 1 (1 = balanced), got {imbalance}")
    weights = imbalance ** (-torch.arange(classes, dtype=torch.float64) / (classes - 1))
    counts = torch.floor(n * weights / weights.sum()).long()
    counts[: n - int(counts.sum())] += 1  # hand out the remainder, most frequent classes first
    if counts.min() < 1:
        raise ValueError(f"shapes: {n} samples with imbalance {imbalance} leave a class empty; use more samples")
    return counts


def make_shapes(n: int, seed: int = 0, size: int = 32, imbalance: float = 1.0) -> TensorDataset:
    """`n` shuffled samples: images (n, 3, size, size) float32 in [0, 1], labels (n,) int64
    (class counts from `class_counts(n, imbalance)`)."""
    if n < 1:
        raise ValueError(f"shapes n: expected at least one sample, got {n}")
    counts = class_counts(n, imbalance)
    labels = torch.repeat_interleave(torch.arange(len(CLASSES)), counts)
    labels = labels[torch.randperm(n, generator=torch.Generator().manual_seed(seed + 1))]
    return TensorDataset(render_shapes(labels, size, seed), labels)


def load_shapes_splits(train: int = 6000, val: int = 1000, test: int = 1000, seed: int = 0,
                       imbalance: float = 1.0, size: int = 32) -> DataSplits:
    """Train/val/test shapes sets from disjoint seeds; only the training set is made
    class-imbalanced by `imbalance` (so validation accuracy weighs rare classes fully)."""
    training = make_shapes(train, seed=3 * seed, size=size, imbalance=imbalance)
    return DataSplits(
        train=training,
        val=make_shapes(val, seed=3 * seed + 1_000_001, size=size),
        test=make_shapes(test, seed=3 * seed + 2_000_003, size=size),
        classes=list(CLASSES),
        input_shape=(3, size, size),
        train_targets=training.tensors[1],
        preprocessing=Preprocessing("array", (3, size, size)).to_dict(),
    )


@register_dataset("shapes")
def shapes(train: int = 6000, val: int = 1000, test: int = 1000, split_seed: int = 0,
           imbalance: float = 1.0, image_size: int = 32) -> DataSplits:
    """Generated 32x32 RGB shapes and textures (10 classes), optionally class-imbalanced."""
    return load_shapes_splits(train, val, test, seed=split_seed, imbalance=imbalance, size=image_size)
