"""task: detection end to end on synthetic KITTI scenes: `axon train` with a tiny PointPillars,
the loss falling, the per-epoch KITTI AP and loss parts in metrics.csv, then `axon eval`,
`axon predict` on a scan and `axon export` from the run folder."""

import csv
from types import SimpleNamespace

import pytest
import yaml

from axon.cli import main
from axon.data.kitti_synth import LidarSpec, write_synthetic_kitti
from axon.errors import ConfigError
from axon.run.config import validate_config
from axon.run.runs import check_monitors

TINY = {"point_range": [0.0, -20.48, -3.0, 40.96, 20.48, 1.0], "pillar_size": [0.64, 0.64, 4.0],
        "max_pillars": [1500, 2000], "layer_nums": [1, 1, 1], "num_filters": [8, 16, 32],
        "upsample_filters": [8, 8, 8], "pfn_channels": 8}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("det")
    write_synthetic_kitti(root / "kitti", scenes=4, seed=1, val_fraction=0.5, lidar=LidarSpec(beams=16, columns=256))
    config = {"task": "detection", "name": "det", "out": str(root / "runs"), "device": "cpu", "epochs": 6,
              "batch_size": 1, "model": {"name": "pointpillars", "args": TINY},
              "data": {"name": "kitti", "root": str(root / "kitti"), "num_workers": 0, "augment": {"recipe": "none"}},
              "schedule": {"name": "constant"}, "optimizer": {"lr": 0.003},
              "checkpoint": {"monitor": "val_ap_bev_car", "mode": "max"}}
    (root / "det.yaml").write_text(yaml.safe_dump(config))
    assert main(["train", str(root / "det.yaml"), "--no-progress"]) == 0
    return root


def test_training_reports_loss_parts_and_ap_and_the_loss_falls(trained):
    rows = list(csv.DictReader(open(trained / "runs" / "det" / "metrics.csv")))
    assert len(rows) == 6
    for key in ("loss_cls", "loss_box", "loss_dir", "val_ap_bev_car", "val_ap_3d_pedestrian", "val_ap_bev_cyclist"):
        assert key in rows[0], key
    assert float(rows[-1]["train_loss"]) < 0.8 * float(rows[0]["train_loss"])
    assert all(0.0 <= float(r["val_ap_bev_car"]) <= 1.0 for r in rows)


def test_eval_predict_and_export_from_the_run_folder(trained, capsys):
    run = trained / "runs" / "det"
    assert main(["eval", str(run)]) == 0
    assert "Car AP_R40@0.70, 0.70, 0.70:" in capsys.readouterr().out
    assert (run / "eval_best.json").is_file()
    scan = trained / "kitti" / "training" / "velodyne" / "000003.bin"
    assert main(["predict", str(run), str(scan), "--out", str(trained / "pred")]) == 0
    assert (trained / "pred" / "000003.txt").is_file() and (trained / "pred" / "000003_bev.png").is_file()
    pytest.importorskip("onnxruntime")
    assert main(["export", str(run)]) == 0
    out = capsys.readouterr().out
    assert "pointpillars_encoder.onnx" in out and "checked with onnxruntime" in out


def test_a_scan_outside_a_kitti_folder_is_one_clear_error(trained, tmp_path, capsys):
    lone = tmp_path / "velodyne" / "000000.bin"
    lone.parent.mkdir()
    lone.write_bytes((trained / "kitti" / "training" / "velodyne" / "000000.bin").read_bytes())
    assert main(["predict", str(trained / "runs" / "det"), str(lone)]) == 2
    assert "calib/000000.txt: missing" in capsys.readouterr().err


def test_monitors_are_checked_before_training():
    data = SimpleNamespace(classes=["Car", "Pedestrian", "Cyclist"])
    config = {"task": "detection", "model": {"name": "pointpillars"}, "data": {"name": "kitti", "root": "x"},
              "checkpoint": {"monitor": "val_ap_bev_car", "mode": "max"},
              "early_stopping": {"monitor": "loss_box", "mode": "min"}}
    check_monitors(validate_config(config), data)
    config["checkpoint"]["monitor"] = "val_ap_bev_cars"
    with pytest.raises(ConfigError, match="checkpoint.monitor: metric 'val_ap_bev_cars' is not logged "
                                          "\\(did you mean 'val_ap_bev_car'"):
        check_monitors(validate_config(config), data)
    config["checkpoint"]["monitor"] = "val_acc"
    with pytest.raises(ConfigError, match="'val_acc' is not logged"):
        check_monitors(validate_config(config), data)
