"""GoogLeNet (Inception v1), Szegedy et al. 2015, "Going deeper with convolutions",
Table 1, written with the functional graph.

Stem: 7x7/2 conv, 3x3/2 max pool, LRN, 1x1 conv, 3x3 conv, LRN, 3x3/2 max pool; nine
Inception blocks (3a, 3b, pool, 4a-4e, pool, 5a, 5b); global average pool, dropout 40%,
linear. Every conv is followed by ReLU. With `aux_logits` the two auxiliary classifiers
(after 4a and 4d: 5x5/3 average pool -> 4x4, 1x1 conv 128, FC 1024, dropout 70%, linear)
are extra outputs. Pools use ceil mode, so 224x224 gives 112, 56, 28, 14, 7; the head
pools globally and the auxiliary heads adaptively to 4x4, so smaller inputs (64x64) work.
"""

from __future__ import annotations

from axon.nn import (Activation, AdaptivePool, Conv, Dense, Dropout, Flatten, GlobalAvgPool, Inception, Input,
                     LocalResponseNorm, Model, Node, Subsample)
from axon.zoo.registry import register

# Table 1: name -> (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj)
INCEPTION_BANDS = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def _conv_relu(x: Node, bands_in: int, bands_out: int, kernel: int, name: str, stride: int = 1) -> Node:
    x = Conv(bands_in, bands_out, kernel, stride=stride, name=name)(x)
    return Activation("relu", name=f"{name}_relu")(x)


def _max_pool(x: Node, name: str) -> Node:
    return Subsample(3, stride=2, mode="max", ceil_mode=True, name=name)(x)


def _aux_head(x: Node, bands_in: int, num_classes: int, name: str) -> Node:
    """Auxiliary classifier (Section 5): (bands_in, H, W) -> (num_classes,)."""
    x = AdaptivePool(4, mode="avg", name=f"{name}_pool")(x)
    x = _conv_relu(x, bands_in, 128, 1, f"{name}_conv")
    x = Flatten(name=f"{name}_flatten")(x)
    x = Dense(128 * 4 * 4, 1024, name=f"{name}_fc")(x)
    x = Activation("relu", name=f"{name}_fc_relu")(x)
    x = Dropout(0.7, name=f"{name}_dropout")(x)
    return Dense(1024, num_classes, name=f"{name}_logits")(x)


@register("googlenet")
def googlenet(num_classes: int = 1000, image_size: int = 224, in_bands: int = 3, aux_logits: bool = False,
              dropout: float = 0.4, width: float = 1.0) -> Model:
    """GoogLeNet / Inception v1 (Szegedy et al. 2015): (N, 3, 224, 224) -> (N, num_classes) logits.
    `width` scales every layer's band count (at least 1 band each; 1.0 is Table 1)."""
    if width <= 0:
        raise ValueError(f"googlenet: width must be positive, got {width}")

    def scaled(bands: int) -> int:
        return max(1, round(bands * width))

    x = image = Input((in_bands, image_size, image_size), name="image")
    x = _conv_relu(x, in_bands, scaled(64), 7, "conv1", stride=2)
    x = _max_pool(x, "pool1")
    x = LocalResponseNorm(5, name="lrn1")(x)
    x = _conv_relu(x, scaled(64), scaled(64), 1, "conv2_reduce")
    x = _conv_relu(x, scaled(64), scaled(192), 3, "conv2")
    x = LocalResponseNorm(5, name="lrn2")(x)
    x = _max_pool(x, "pool2")
    bands = scaled(192)
    aux = []
    for block, table_spec in INCEPTION_BANDS.items():
        spec = tuple(scaled(b) for b in table_spec)
        if block in ("4a", "5a"):
            x = _max_pool(x, f"pool{int(block[0]) - 1}")
        x = Inception(bands, *spec, name=f"inception_{block}")(x)
        bands = spec[0] + spec[2] + spec[4] + spec[5]
        if aux_logits and block in ("4a", "4d"):
            aux.append(_aux_head(x, bands, num_classes, f"aux_{block}"))
    x = GlobalAvgPool(name="avgpool")(x)
    x = Dropout(dropout, name="dropout")(x)
    logits = Dense(bands, num_classes, name="logits")(x)
    return Model(image, [logits, *aux]) if aux_logits else Model(image, logits)
