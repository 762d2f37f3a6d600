"""Small models for 8x8 digit images (scikit-learn's bundled digits)."""

from torch import nn

from axon.zoo.registry import register


def _conv_block(bands_in: int, bands_out: int) -> nn.Sequential:
    """3x3 same-size convolution, batch norm, ReLU: (N, in, H, W) -> (N, out, H, W)."""
    return nn.Sequential(
        nn.Conv2d(bands_in, bands_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(bands_out),
        nn.ReLU(inplace=True),
    )


@register("digits-cnn")
def digits_cnn(num_classes: int = 10, in_bands: int = 1, width: int = 32, dropout: float = 0.25) -> nn.Module:
    """CNN for 8x8 digits: (N, in_bands, 8, 8) -> (N, num_classes) logits."""
    return nn.Sequential(
        _conv_block(in_bands, width),
        _conv_block(width, width),
        nn.MaxPool2d(2),  # 8x8 -> 4x4
        _conv_block(width, 2 * width),
        _conv_block(2 * width, 2 * width),
        nn.MaxPool2d(2),  # 4x4 -> 2x2
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(2 * width * 4, num_classes),
    )


@register("digits-mlp")
def digits_mlp(num_classes: int = 10, in_features: int = 64, hidden: int = 128, dropout: float = 0.1) -> nn.Module:
    """MLP for flattened digits: (N, 1, 8, 8) or (N, 64) -> (N, num_classes) logits."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(in_features, hidden),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(hidden, num_classes),
    )
