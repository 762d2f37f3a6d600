"""A pillar detector on synthetic KITTI frames: KITTI result rows, the AP of its detections,
and the two ONNX graphs run in onnxruntime against PyTorch."""

import math

import pytest
import torch

from axon import zoo
from axon.data.kitti import KittiObjects
from axon.data.kitti_synth import LidarSpec, write_synthetic_kitti
from axon.detect.inference import kitti_ap, moderate_ap, predict_frames

TINY = dict(point_range=(0.0, -20.48, -3.0, 40.96, 20.48, 1.0), pillar_size=(0.64, 0.64, 4.0),
            max_pillars=(1500, 2000), layer_nums=(1, 1, 1), num_filters=(8, 16, 32), upsample_filters=(8, 8, 8),
            pfn_channels=8)


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    return write_synthetic_kitti(tmp_path_factory.mktemp("kitti"), scenes=3, seed=1, val_fraction=0.34,
                                 lidar=LidarSpec(beams=16, columns=256))


def test_predictions_are_kitti_rows_in_the_image(synth_root):
    model = zoo.create("pointpillars", **TINY)
    torch.nn.init.constant_(model.head.cls.bias, 0.0)        # every anchor at score 0.5: many boxes
    frames = KittiObjects(synth_root, "train")
    rows = predict_frames(model, frames, batch_size=2, score_threshold=0.3)
    assert len(rows) == len(frames)
    assert all(len(r) > 0 and r.score is not None for r in rows)
    for r in rows:
        assert set(r.name) <= {"Car", "Pedestrian", "Cyclist"}
        assert (r.bbox[:, 0] >= 0).all() and (r.bbox[:, 2] <= 1241).all() and (r.location[:, 2] > 0).all()


def test_ap_of_an_untrained_model_is_zero_and_reported_per_class(synth_root):
    report = kitti_ap(zoo.create("pointpillars", **TINY), KittiObjects(synth_root, "val"))
    ap = moderate_ap(report)
    assert set(ap) == {"Car", "Pedestrian", "Cyclist"} and all(v == 0.0 for v in ap.values())


def test_onnx_graphs_match_pytorch(synth_root, tmp_path):
    pytest.importorskip("onnxruntime")
    from axon.detect.export import export_pointpillars

    model = zoo.create("pointpillars", **TINY)
    torch.manual_seed(0)
    for module in model.modules():                           # trained-looking statistics, not identities
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    torch.nn.init.normal_(model.head.cls.weight, std=0.5)
    torch.nn.init.constant_(model.head.cls.bias, -1.0)       # scores spread around 0.27: many boxes
    check = export_pointpillars(model, KittiObjects(synth_root, "val")[0], tmp_path)
    assert all(path.is_file() for path in check.files)
    assert max(check.max_abs_diff.values()) < 1e-4
    # near-equal scores may swap across the top-k cut or an NMS decision; nearly all must match
    assert check.boxes_torch > 0 and check.boxes_matched >= 0.95 * check.boxes_torch
