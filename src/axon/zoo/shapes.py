"""`shapes-cnn`: a small fully convolutional CNN for the 32x32 shapes-and-textures task
(`axon.data.shapes`). Global average pooling before the classifier lets it take any
image size of at least 4x4, so it can be trained with progressive resizing."""

from __future__ import annotations

import torch

from axon.nn import Activation, BatchNorm, Conv, Dense, Dropout, GlobalAvgPool, Input, Model, Node, ShapeError, Subsample
from axon.zoo.registry import register


class AnySizeModel(Model):
    """A graph Model with one image input `(bands, height, width)` that accepts any
    height and width, not only the size the graph was built (and its shapes inferred)
    at. Only for fully convolutional graphs, whose layers all take any size."""

    def _check_inputs(self, tensors: tuple[torch.Tensor, ...]) -> None:
        (name,) = self.input_names
        bands = self.shapes[name][0]
        if len(tensors) != 1 or not isinstance(tensors[0], torch.Tensor) or tensors[0].ndim != 4 \
                or tensors[0].shape[1] != bands:
            got = tuple(tensors[0].shape) if len(tensors) == 1 and isinstance(tensors[0], torch.Tensor) else tensors
            raise ShapeError(f"Model input {name!r}: got {got!r}, expected one tensor (batch, {bands}, height, width)")


def _block(x: Node, bands_in: int, bands_out: int, name: str) -> Node:
    """3x3 same-size conv (no bias), batch norm, ReLU: (in, H, W) -> (out, H, W)."""
    x = Conv(bands_in, bands_out, 3, bias=False, name=name)(x)
    x = BatchNorm(bands_out, name=f"{name}_bn")(x)
    return Activation("relu", name=f"{name}_relu")(x)


@register("shapes-cnn")
def shapes_cnn(num_classes: int = 10, in_bands: int = 3, width: int = 16, dropout: float = 0.1,
               image_size: int = 32) -> AnySizeModel:
    """Fully convolutional CNN for shapes: (N, in_bands, H, W) -> (N, num_classes), any H, W >= 4.

    `image_size` is only the size the graph's shapes are inferred (and summarised) at."""
    x = image = Input((in_bands, image_size, image_size), name="image")
    x = _block(x, in_bands, width, "conv1")
    x = _block(x, width, width, "conv2")
    x = Subsample(2, name="pool1")(x)  # H -> H/2
    x = _block(x, width, 2 * width, "conv3")
    x = _block(x, 2 * width, 2 * width, "conv4")
    x = Subsample(2, name="pool2")(x)  # H/2 -> H/4
    x = _block(x, 2 * width, 4 * width, "conv5")
    x = GlobalAvgPool(name="gap")(x)  # (4 * width, H/4, W/4) -> (4 * width,)
    x = Dropout(dropout, name="dropout")(x)
    return AnySizeModel(image, Dense(4 * width, num_classes, name="logits")(x))
