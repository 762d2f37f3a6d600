"""task: detection end to end on synthetic KITTI scenes: `axon train` with a tiny PointPillars,
the loss falling, the per-epoch KITTI AP and loss parts in metrics.csv, then `axon eval`,
`axon predict` on a scan and `axon export` from the run folder."""

import csv
from types import SimpleNamespace

import pytest
import torch
import yaml
from safetensors.torch import load_file

from axon.cli import main
from axon.data.kitti_synth import LidarSpec, write_synthetic_kitti
from axon.errors import ConfigError
from axon.run.config import validate_config
from axon.run.runs import check_monitors, continue_run, prepare_run, start_run
from axon.train import Trainer

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



@pytest.mark.slow
def test_a_detection_run_with_workers_and_augmentation_resumes_exactly(tmp_path, crash_at_step):
    write_synthetic_kitti(tmp_path / "kitti", scenes=6, seed=2, val_fraction=0.34, lidar=LidarSpec(beams=16, columns=256))
    config = {"task": "detection", "device": "cpu", "epochs": 2, "batch_size": 2, "seed": 3,
              "model": {"name": "pointpillars", "args": TINY}, "out": str(tmp_path / "runs"),
              "data": {"name": "kitti", "root": str(tmp_path / "kitti"), "num_workers": 1,
                       "augment": {"gt_sampling": {"Car": 6, "Pedestrian": 3}}},
              "checkpoint": {"monitor": "val_ap_bev_car", "mode": "max", "every_steps": 1}}
    straight = start_run(validate_config({**config, "name": "straight"}), progress=False)
    _, killed = prepare_run(validate_config({**config, "name": "killed"}))

    def crashing(*args, **kwargs):
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), crash_at_step(3)]   # mid-epoch 2 of 2 steps each
        return Trainer(*args, **kwargs)

    with pytest.raises(KeyboardInterrupt):
        continue_run(killed, progress=False, trainer_factory=crashing)
    continue_run(killed, progress=False)
    weights = [load_file(run / "checkpoints" / "last" / "model.safetensors") for run in (straight.run_dir, killed)]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    rows = [list(csv.DictReader(open(run / "metrics.csv"))) for run in (straight.run_dir, killed)]
    timing = {"seconds", "samples_per_s", "data_wait"}
    assert [{k: v for k, v in r.items() if k not in timing} for r in rows[0]] == \
           [{k: v for k, v in r.items() if k not in timing} for r in rows[1]]


@pytest.mark.slow
def test_detection_trains_data_parallel_in_bf16(tmp_path):
    write_synthetic_kitti(tmp_path / "kitti", scenes=4, seed=4, val_fraction=0.5, lidar=LidarSpec(beams=16, columns=256))
    config = {"task": "detection", "name": "ddp", "out": str(tmp_path / "runs"), "device": "cpu", "epochs": 1,
              "batch_size": 1, "precision": "bf16", "model": {"name": "pointpillars", "args": TINY},
              "data": {"name": "kitti", "root": str(tmp_path / "kitti"), "num_workers": 0},
              "checkpoint": {"monitor": "val_ap_bev_car", "mode": "max"}}
    (tmp_path / "ddp.yaml").write_text(yaml.safe_dump(config))
    assert main(["train", str(tmp_path / "ddp.yaml"), "--nproc", "2", "--no-progress"]) == 0
    rows = list(csv.DictReader(open(tmp_path / "runs" / "ddp" / "metrics.csv")))
    assert len(rows) == 1 and int(rows[0]["step"]) == 1        # 2 frames, one per process, batch 1
    assert float(rows[0]["train_loss"]) > 0 and "val_ap_bev_car" in rows[0]
