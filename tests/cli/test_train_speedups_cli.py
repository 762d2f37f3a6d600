"""The issue-4 options through `axon train` configs: samplers, progressive resizing,
dropout switch-off, transfer, and their bad inputs."""

import csv

import pytest
import yaml

from axon.cli import main


def run(tmp_path, capsys, config, *argv):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"out": str(tmp_path / "runs"), **config}))
    code = main(["train", str(path), *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_repeat_factor_resizing_and_dropout_off(tmp_path, capsys):
    config = {"epochs": 2, "batch_size": 128, "model": {"name": "shapes-cnn", "args": {"in_bands": 1}},
              "data": {"repeat_factor": 0.5, "resize_schedule": {0: 6, 1: 8}}, "dropout_off_epoch": 1}
    code, out, err = run(tmp_path, capsys, config, "--name", "r")
    assert code == 0, err
    # the image size is shown under each epoch's row (the row is full at 80 columns)
    assert [line.split() for line in out.splitlines() if "image_size" in line] == [["image_size", "6"],
                                                                                   ["image_size", "8"]]
    rows = list(csv.DictReader(open(tmp_path / "runs" / "r" / "metrics.csv")))
    assert [row["image_size"] for row in rows] == ["6", "8"]
    steps = [int(r["step"]) for r in rows]
    assert steps[1] - steps[0] == steps[0]  # a fixed epoch length under repeat-factor sampling


def test_curriculum_by_class(tmp_path, capsys):
    config = {"epochs": 3, "model": {"name": "digits-mlp"},
              "data": {"curriculum_epochs": [0, 0, 0, 0, 0, 1, 1, 1, 2, 2]}}
    code, out, err = run(tmp_path, capsys, config)
    assert code == 0, err


def test_init_from_and_freeze(tmp_path, capsys):
    code, _, err = run(tmp_path, capsys, {"epochs": 1, "model": {"name": "digits-mlp"}}, "--name", "source")
    assert code == 0, err
    config = {"epochs": 2, "model": {"name": "digits-mlp"}, "init_from": str(tmp_path / "runs" / "source"),
              "transfer": {"freeze": ["layers.dense1.*"], "unfreeze_epoch": 1}, "init": {"scheme": "kaiming", "prior": 0.1}}
    code, out, err = run(tmp_path, capsys, config)
    assert code == 0, err
    assert "init_from" in out and "tensors loaded" in out and "freeze:" in out


@pytest.mark.parametrize(
    "config, message",
    [({"data": {"resize_schedule": {0: 6}}}, "data.resize_schedule: progressive resizing: model"),
     ({"data": {"curriculum_epochs": [0, 1]}}, "data.curriculum_epochs: task_stages start_epochs: expected one start epoch per task"),
     ({"init_from": "/nowhere/run"}, "init_from: /nowhere/run is neither a .safetensors file nor a run folder"),
     ({"transfer": {"freeze": ["nothing*"]}}, "transfer.freeze: pattern 'nothing*' matches no parameter"),
     ({"precision": "fp16", "device": "cpu"}, "precision: fp16 needs a CUDA device"),
     ({"optimizer": {"name": "sgdd"}}, "did you mean 'sgd'?")],
)
def test_bad_speedup_options(tmp_path, capsys, config, message):
    code, _, err = run(tmp_path, capsys, {"epochs": 1, **config})
    assert code == 2 and message in err and "Traceback" not in err
