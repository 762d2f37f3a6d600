"""Small models for 8x8 digit images (scikit-learn's bundled digits), written with the
functional graph: `digits-cnn`, and `mlp` / `digits-mlp`."""

from __future__ import annotations

import math
from typing import Sequence

from axon.nn import Activation, BatchNorm, Conv, Dense, Dropout, Flatten, Input, Model, Node, Subsample
from axon.zoo.registry import register


def _conv_block(x: Node, bands_in: int, bands_out: int, name: str) -> Node:
    """3x3 same-size conv (no bias), batch norm, ReLU: (in, H, W) -> (out, H, W)."""
    x = Conv(bands_in, bands_out, 3, bias=False, name=name)(x)
    x = BatchNorm(bands_out, name=f"{name}_bn")(x)
    return Activation("relu", name=f"{name}_relu")(x)


@register("digits-cnn")
def digits_cnn(num_classes: int = 10, in_bands: int = 1, width: int = 32, dropout: float = 0.25) -> Model:
    """CNN for 8x8 digits: (N, in_bands, 8, 8) -> (N, num_classes) logits."""
    x = image = Input((in_bands, 8, 8), name="image")
    x = _conv_block(x, in_bands, width, "conv1")
    x = _conv_block(x, width, width, "conv2")
    x = Subsample(2, name="pool1")(x)  # 8x8 -> 4x4
    x = _conv_block(x, width, 2 * width, "conv3")
    x = _conv_block(x, 2 * width, 2 * width, "conv4")
    x = Subsample(2, name="pool2")(x)  # 4x4 -> 2x2
    x = Flatten(name="flatten")(x)
    x = Dropout(dropout, name="dropout")(x)
    logits = Dense(2 * width * 4, num_classes, name="logits")(x)
    return Model(image, logits)


@register("mlp")
def mlp(input_shape: Sequence[int] = (1, 8, 8), hidden: Sequence[int] = (128,), num_classes: int = 10,
        dropout: float = 0.1, activation: str = "relu") -> Model:
    """MLP: (N, *input_shape) -> flatten -> [Dense, activation, Dropout] per hidden size -> (N, num_classes)."""
    x = inputs = Input(tuple(input_shape), name="input")
    x = Flatten(name="flatten")(x)
    width = math.prod(input_shape)
    for k, size in enumerate(hidden, start=1):
        x = Dense(width, size, name=f"dense{k}")(x)
        x = Activation(activation, name=f"act{k}")(x)
        x = Dropout(dropout, name=f"dropout{k}")(x)
        width = size
    return Model(inputs, Dense(width, num_classes, name="logits")(x))


@register("digits-mlp")
def digits_mlp(num_classes: int = 10, hidden: int = 128, dropout: float = 0.1) -> Model:
    """MLP for 8x8 digits: (N, 1, 8, 8) -> (N, num_classes) logits, one hidden layer."""
    return mlp((1, 8, 8), (hidden,), num_classes, dropout)
