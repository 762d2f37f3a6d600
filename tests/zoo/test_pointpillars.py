"""The pointpillars zoo model: OpenPCDet's KITTI configuration by default, every size a
config value, and head outputs laid out per anchor."""

import pytest
import torch

from axon import zoo
from axon.errors import ConfigError
from axon.nn.pillars import pad_pillars

SMALL = dict(point_range=(0.0, -5.12, -3.0, 10.24, 5.12, 1.0), pillar_size=(0.32, 0.32, 4.0),
             max_pillars=(300, 600), layer_nums=(1, 1, 1), num_filters=(8, 16, 32), upsample_filters=(8, 8, 8),
             pfn_channels=8)


def test_default_is_the_kitti_configuration():
    model = zoo.create("pointpillars")
    assert (model.grid.nx, model.grid.ny) == (432, 496)
    assert model.feature_size == (248, 216)
    assert model.max_points == 32 and model.max_pillars == (16000, 40000)
    assert model.classes == ("Car", "Pedestrian", "Cyclist")
    # by hand: PFN 10*64 + BN 128 = 768; blocks (3x3 convs, no bias, BN) 64*64*9*4 + 4*128,
    # 64*128*9 + 5*128*128*9 + 6*256, 128*256*9 + 5*256*256*9 + 6*512 = 4,207,616; upsampling
    # 64*128 + 128*128*4 + 256*128*16 + 3*256 = 598,784; head 385*(18 + 42 + 12) = 27,720
    assert sum(p.numel() for p in model.parameters()) == 768 + 4_207_616 + 598_784 + 27_720
    assert model.anchor_config["sizes"][0] == [3.9, 1.6, 1.56]


def test_small_config_runs_a_batch():
    model = zoo.create("pointpillars", **SMALL)
    cloud = torch.rand(2000, 4) * torch.tensor([10.0, 10.0, 4.0, 1.0]) + torch.tensor([0.0, -5.0, -3.0, 0.0])
    batch = pad_pillars([model.pillarize(cloud), model.pillarize(cloud[:50])])
    cls, box, direction = model(*batch)
    assert cls.shape == (2, 16, 16, 6, 3)
    assert box.shape == (2, 16, 16, 6, 7)
    assert direction.shape == (2, 16, 16, 6, 2)
    torch.testing.assert_close(torch.sigmoid(cls).mean(), torch.tensor(0.01), atol=0.01, rtol=0)


def test_bad_sizes_name_what_is_wrong():
    with pytest.raises(ValueError, match="divisible"):
        zoo.create("pointpillars", **{**SMALL, "pillar_size": (0.3, 0.3, 4.0)})
    with pytest.raises(ValueError, match="one entry per class"):
        zoo.create("pointpillars", **{**SMALL, "classes": ("Car",)})
    with pytest.raises(ConfigError, match="takes no argument"):
        zoo.create("pointpillars", pillars=3)
