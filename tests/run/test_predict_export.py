"""`axon predict`, `axon export`, load_run and Trainer.predict on a trained digits run:
predictions on raw files equal the evaluation's; exports run and match PyTorch."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml

import axon
from axon.cli import main
from axon.data import build_dataset


def cli(*argv):
    return main([str(a) for a in argv])


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A digits CNN trained for one epoch (narrow, to stay cheap)."""
    root = tmp_path_factory.mktemp("predict")
    config = root / "config.yaml"
    config.write_text(yaml.safe_dump({"model": {"name": "digits-cnn", "args": {"width": 8}}, "epochs": 1,
                                      "out": str(root / "runs"), "name": "digits"}))
    assert cli("train", config, "--no-progress") == 0
    return root / "runs" / "digits"


def raw_test_files(folder):
    """The run's test images as raw .npy files (values 0..16, as scikit-learn gives them), in order."""
    test = build_dataset("digits").test
    folder.mkdir()
    for i in range(len(test)):
        np.save(folder / f"{i:04d}.npy", np.rint(test[i][0][0].numpy() * 16).astype(np.int64))
    return [int(test[i][1]) for i in range(len(test))]


def test_predictions_on_raw_files_equal_the_evaluation(digits_run, tmp_path, capsys):
    labels = raw_test_files(tmp_path / "raw")
    assert cli("eval", digits_run) == 0
    evaluation = json.loads((digits_run / "eval_best.json").read_text())
    out = tmp_path / "predictions.csv"
    assert cli("predict", digits_run, tmp_path / "raw", "--top-k", "3", "--out", out) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == len(labels) and list(rows[0]) == ["input", "class_1", "probability_1", "class_2",
                                                          "probability_2", "class_3", "probability_3"]
    confusion = np.zeros((10, 10), dtype=int)
    for row, label in zip(rows, labels):
        confusion[label, int(row["class_1"])] += 1
    np.testing.assert_array_equal(confusion, np.array(evaluation["confusion"]))
    assert np.trace(confusion) / len(labels) == pytest.approx(evaluation["top1"])


def test_load_run_and_printed_top_k(digits_run, tmp_path, capsys):
    run = axon.load_run(digits_run)
    assert run.classes == [str(d) for d in range(10)] and run.input_shape == (1, 8, 8)
    raw = np.rint(build_dataset("digits").test[0][0][0].numpy() * 16)
    np.save(tmp_path / "one.npy", raw)
    np.save(tmp_path / "batch.npy", np.stack([raw, raw]))
    capsys.readouterr()
    assert cli("predict", digits_run, tmp_path / "one.npy", tmp_path / "batch.npy", "--top-k", "2") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[1].startswith(f"{tmp_path / 'batch.npy'}[0]: ")
    expected = run(torch.from_numpy(raw / 16).float()[None, None]).softmax(1)[0]
    best = int(expected.argmax())
    assert lines[0].split(": ")[1].startswith(f"{best} ({expected[best]:.4f})")


@pytest.mark.parametrize("argv, message", [
    (["missing.png"], "missing.png: no such file or folder"),
    (["--out", "x.txt", "IN"], "expected a .csv or .json file name"),
])
def test_predict_errors_are_one_line(digits_run, tmp_path, capsys, argv, message):
    np.save(tmp_path / "in.npy", np.zeros((8, 8)))
    argv = [str(tmp_path / "in.npy") if a == "IN" else (str(tmp_path / a) if a.endswith((".png", ".txt")) else a)
            for a in argv]
    assert cli("predict", digits_run, *argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_predict_rejects_a_wrong_sized_array(digits_run, tmp_path, capsys):
    np.save(tmp_path / "bad.npy", np.zeros(7))
    assert cli("predict", digits_run, tmp_path / "bad.npy") == 2
    assert "expected 64 values" in capsys.readouterr().err


@pytest.mark.parametrize("fmt, extra", [("torchscript", []), ("pt2", []), ("onnx", ["--onnx-exporter", "torchscript"])])
def test_export_runs_and_matches_pytorch(digits_run, tmp_path, capsys, fmt, extra):
    out = tmp_path / f"model.{fmt}"
    assert cli("export", digits_run, "--format", fmt, "--out", out, *extra) == 0
    printed = capsys.readouterr().out
    difference = float(printed.rsplit("max abs difference from PyTorch ", 1)[1])
    assert out.is_file() and difference < 1e-4, printed
    assert "on 8 test inputs" in printed  # checked on 8 while exported with a batch of 2: the batch is dynamic


def test_onnx_export_without_the_export_extra_is_one_line_naming_what_to_install(digits_run, tmp_path, capsys,
                                                                                monkeypatch):
    from axon import onnx_files

    real = onnx_files.importlib.util.find_spec
    monkeypatch.setattr(onnx_files.importlib.util, "find_spec",
                        lambda name, *args: None if name == "onnxscript" else real(name, *args))
    assert cli("export", digits_run, "--out", tmp_path / "m.onnx") == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "onnxscript not installed" in error and "pip install 'axon[export]'" in error
    assert not any(tmp_path.iterdir())


def test_the_default_onnx_export_prints_no_exporter_warnings(digits_run, tmp_path):
    done = subprocess.run([sys.executable, "-m", "axon", "export", str(digits_run), "--out", str(tmp_path / "m.onnx"),
                           "--threads", "1"], capture_output=True, text=True)
    assert done.returncode == 0 and "checked with onnxruntime" in done.stdout, done.stderr
    assert done.stderr == ""  # torch.onnx logs a warning per torchvision op it skips; not the user's concern


def test_trainer_predict_equals_the_loaded_model(digits_run):
    run = axon.load_run(digits_run)
    test = build_dataset("digits").test
    trainer = axon.Trainer(run.model, progress=False, device="cpu")
    outputs = trainer.predict(test)
    x = torch.stack([test[i][0] for i in range(len(test))])
    torch.testing.assert_close(outputs, run(x))
