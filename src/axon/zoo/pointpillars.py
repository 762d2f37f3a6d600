"""PointPillars (Lang et al., CVPR 2019), KITTI 3-class configuration of OpenPCDet's
`tools/cfgs/kitti_models/pointpillar.yaml`: Pillar Feature Net (64 channels) -> scatter to
the BEV pseudo-image -> 2D backbone (blocks of 3, 5, 5 convs at strides 2, 2, 2 with 64,
128, 256 filters, each upsampled to 128 channels at strides 1, 2, 4 and concatenated) ->
SSD head (class logits, box residuals and a 2-bin direction per anchor).

Every size is an argument, so a smaller range or grid is a config, not a code change. The
anchors (per class: its size, the z of its bottom and the rotations) are arguments too;
`axon.detect` builds them from `model.anchor_config` and the head's feature-map size.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from axon.nn.pillars import PillarFeatureNet, PillarGrid, PillarScatter, pillarize
from axon.zoo.registry import register

KITTI_CLASSES = ("Car", "Pedestrian", "Cyclist")
KITTI_ANCHOR_SIZES = ((3.9, 1.6, 1.56), (0.8, 0.6, 1.73), (1.76, 0.6, 1.73))   # length, width, height (m)
KITTI_ANCHOR_BOTTOMS = (-1.78, -0.6, -0.6)                                    # z of the anchor's bottom (m)


def _conv_bn_relu(bands_in: int, bands_out: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(bands_in, bands_out, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(bands_out, eps=1e-3, momentum=0.01), nn.ReLU()]


class BEVBackbone(nn.Module):
    """Top-down blocks and upsampling: `(B, C, H, W) -> (B, sum(upsample_filters), H / s0, W / s0)`
    where s0 = strides[0] / upsample_strides[0]."""

    def __init__(self, bands_in: int, layer_nums: Sequence[int], strides: Sequence[int],
                 filters: Sequence[int], upsample_strides: Sequence[int], upsample_filters: Sequence[int]):
        super().__init__()
        lengths = {len(layer_nums), len(strides), len(filters), len(upsample_strides), len(upsample_filters)}
        if len(lengths) != 1:
            raise ValueError("pointpillars: layer_nums, layer_strides, num_filters, upsample_strides and "
                             "upsample_filters must have the same length")
        self.blocks, self.deblocks = nn.ModuleList(), nn.ModuleList()
        for convs, stride, width, up, up_width in zip(layer_nums, strides, filters, upsample_strides,
                                                       upsample_filters):
            layers = _conv_bn_relu(bands_in, width, stride)
            for _ in range(convs):
                layers += _conv_bn_relu(width, width)
            self.blocks.append(nn.Sequential(*layers))
            self.deblocks.append(nn.Sequential(nn.ConvTranspose2d(width, up_width, up, stride=up, bias=False),
                                               nn.BatchNorm2d(up_width, eps=1e-3, momentum=0.01), nn.ReLU()))
            bands_in = width
        self.bands_out = sum(upsample_filters)

    def forward(self, x: Tensor) -> Tensor:
        ups = []
        for block, deblock in zip(self.blocks, self.deblocks):
            x = block(x)
            ups.append(deblock(x))
        return torch.cat(ups, dim=1)


class AnchorHead(nn.Module):
    """SSD head, 1x1 convs: `(B, C, H, W) -> (cls (B, H, W, A, K), box (B, H, W, A, 7),
    direction (B, H, W, A, 2))` for A anchors per location and K classes; the class bias
    starts at a 1% foreground prior (focal loss), the box weights near zero."""

    def __init__(self, bands_in: int, anchors_per_location: int, num_classes: int, prior: float = 0.01):
        super().__init__()
        self.anchors, self.num_classes = anchors_per_location, num_classes
        self.cls = nn.Conv2d(bands_in, anchors_per_location * num_classes, 1)
        self.box = nn.Conv2d(bands_in, anchors_per_location * 7, 1)
        self.direction = nn.Conv2d(bands_in, anchors_per_location * 2, 1)
        nn.init.constant_(self.cls.bias, -float(torch.log(torch.tensor((1 - prior) / prior, device="cpu"))))
        nn.init.normal_(self.box.weight, std=0.001)
        nn.init.zeros_(self.box.bias)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        batch, _, height, width = x.shape

        def per_anchor(t: Tensor) -> Tensor:
            return t.permute(0, 2, 3, 1).reshape(batch, height, width, self.anchors, -1)

        return per_anchor(self.cls(x)), per_anchor(self.box(x)), per_anchor(self.direction(x))


class PointPillars(nn.Module):
    """Pillars of a padded batch -> head outputs.

    `forward(pillars (B, P, M, 4), num_points (B, P), coords (B, P, 2))` returns
    `(cls (B, H, W, A, K), box (B, H, W, A, 7), direction (B, H, W, A, 2))` with
    (H, W) = `feature_size`, A = 2 rotations x K classes (class-major). `encode` and
    `detect_from_image` are the two halves that are exported separately."""

    def __init__(self, grid: PillarGrid, classes: Sequence[str], anchor_sizes, anchor_bottoms,
                 anchor_rotations: Sequence[float], max_points: int, max_pillars: tuple[int, int],
                 pfn_channels: int, backbone: BEVBackbone):
        super().__init__()
        self.grid, self.classes = grid, tuple(classes)
        self.max_points, self.max_pillars = max_points, tuple(max_pillars)
        self.anchor_config = {"sizes": [list(map(float, s)) for s in anchor_sizes],
                              "bottoms": [float(b) for b in anchor_bottoms],
                              "rotations": [float(r) for r in anchor_rotations]}
        self.pfn = PillarFeatureNet(grid, pfn_channels)
        self.scatter = PillarScatter(grid)
        self.backbone = backbone
        self.head = AnchorHead(backbone.bands_out, len(classes) * len(anchor_rotations), len(classes))
        self.stride = self._feature_stride(backbone)

    @staticmethod
    def _feature_stride(backbone: BEVBackbone) -> int:
        first_block_stride = backbone.blocks[0][0].stride[0]
        first_upsample = backbone.deblocks[0][0].stride[0]
        return first_block_stride // first_upsample

    @property
    def feature_size(self) -> tuple[int, int]:
        """(rows, columns) of the head's output grid."""
        return self.grid.ny // self.stride, self.grid.nx // self.stride

    def pillarize(self, points: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """One cloud `(N, 4)` -> this model's pillars (`max_pillars[0]` in training mode,
        `[1]` in eval mode); see `axon.nn.pillars.pillarize`."""
        cap = self.max_pillars[0] if self.training else self.max_pillars[1]
        return pillarize(points, self.grid, self.max_points, cap, generator)

    def encode(self, pillars: Tensor, num_points: Tensor, coords: Tensor) -> Tensor:
        """Pillars -> pseudo-image `(B, pfn_channels, ny, nx)`."""
        return self.scatter(self.pfn(pillars, num_points, coords), num_points, coords)

    def detect_from_image(self, image: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Pseudo-image -> head outputs."""
        return self.head(self.backbone(image))

    def forward(self, pillars: Tensor, num_points: Tensor, coords: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return self.detect_from_image(self.encode(pillars, num_points, coords))


@register("pointpillars")
def pointpillars(point_range: Sequence[float] = (0.0, -39.68, -3.0, 69.12, 39.68, 1.0),
                 pillar_size: Sequence[float] = (0.16, 0.16, 4.0), max_points: int = 32,
                 max_pillars: Sequence[int] = (16000, 40000), pfn_channels: int = 64,
                 layer_nums: Sequence[int] = (3, 5, 5), layer_strides: Sequence[int] = (2, 2, 2),
                 num_filters: Sequence[int] = (64, 128, 256), upsample_strides: Sequence[int] = (1, 2, 4),
                 upsample_filters: Sequence[int] = (128, 128, 128), classes: Sequence[str] = KITTI_CLASSES,
                 anchor_sizes: Sequence[Sequence[float]] = KITTI_ANCHOR_SIZES,
                 anchor_bottoms: Sequence[float] = KITTI_ANCHOR_BOTTOMS,
                 anchor_rotations: Sequence[float] = (0.0, 1.5707963)) -> PointPillars:
    """PointPillars lidar detector (KITTI 3 classes by default): pillars -> (cls, box, direction) per anchor."""
    grid = PillarGrid(tuple(map(float, point_range)), tuple(map(float, pillar_size)))
    if not (len(classes) == len(anchor_sizes) == len(anchor_bottoms)):
        raise ValueError(f"pointpillars: classes ({len(classes)}), anchor_sizes ({len(anchor_sizes)}) and "
                         f"anchor_bottoms ({len(anchor_bottoms)}) must have one entry per class")
    if len(max_pillars) != 2:
        raise ValueError(f"pointpillars: max_pillars must be [training, testing], got {list(max_pillars)}")
    backbone = BEVBackbone(pfn_channels, layer_nums, layer_strides, num_filters, upsample_strides,
                           upsample_filters)
    model = PointPillars(grid, classes, anchor_sizes, anchor_bottoms, anchor_rotations, max_points,
                         tuple(max_pillars), pfn_channels, backbone)
    scales = [math.prod(layer_strides[:k + 1]) / up for k, up in enumerate(upsample_strides)]
    total = math.prod(layer_strides)
    if len(set(scales)) != 1 or grid.ny % total or grid.nx % total:
        raise ValueError(f"pointpillars: the grid ({grid.ny} x {grid.nx} pillars) must be divisible by the "
                         f"backbone's total stride {total}, and every upsampled block must end at the same "
                         f"scale (layer_strides {list(layer_strides)}, upsample_strides {list(upsample_strides)})")
    return model
