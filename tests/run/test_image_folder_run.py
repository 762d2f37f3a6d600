"""A run on an image folder with a separate test folder: predictions on the raw test
images (decoded, resized, cropped, normalised as the run recorded) equal the evaluation's."""

import csv
import json

import numpy as np
import yaml

from axon.cli import main
from axon.run import runs
from axon.run.data import worker_count


def test_predict_on_raw_test_images_equals_eval(tmp_path, capsys, folder_writer):
    train = folder_writer(tmp_path / "train", per_class=8, size=24)
    test = folder_writer(tmp_path / "test", per_class=4, size=30, seed=1)
    config = {"model": {"name": "shapes-cnn", "args": {"width": 4}}, "epochs": 1, "batch_size": 8,
              "out": str(tmp_path / "runs"), "name": "img",
              "data": {"name": "image_folder", "root": str(train), "test": str(test), "resize": 20, "crop": 16,
                       "val_fraction": 0.25}}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["train", str(path), "--no-progress"]) == 0
    run = tmp_path / "runs" / "img"
    record = json.loads((run / "task.json").read_text())
    assert record["classes"] == ["circle", "square", "stripes"] and record["preprocessing"]["crop"] == 16
    assert main(["eval", str(run)]) == 0
    evaluation = json.loads((run / "eval_best.json").read_text())
    assert main(["predict", str(run), str(test), "--out", str(tmp_path / "p.json")]) == 0
    predictions = json.loads((tmp_path / "p.json").read_text())
    assert len(predictions) == 12
    confusion = np.zeros((3, 3), dtype=int)
    for p in predictions:
        truth = record["classes"].index(p["input"].split("/")[-2])
        confusion[truth, record["classes"].index(p["top"][0]["class"])] += 1
    np.testing.assert_array_equal(confusion, evaluation["confusion"])
    assert main(["export", str(run), "--format", "torchscript"]) == 0  # the README's own-data commands, in order
    assert (run / "export" / "model.pt").is_file()


def test_images_are_decoded_once_before_training_and_the_epochs_read_memory(tmp_path, capsys, image_folder,
                                                                              monkeypatch):
    workers = []
    monkeypatch.setattr(runs, "worker_count", lambda data, train: workers.append(worker_count(data, train)) or 0)
    config = {"model": {"name": "shapes-cnn", "args": {"width": 4}}, "epochs": 1, "batch_size": 8,
              "out": str(tmp_path / "runs"), "name": "img",
              "data": {"name": "image_folder", "root": str(image_folder), "test_fraction": 0.2}}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["train", str(path)]) == 0
    assert "decoding 30 images into memory (0.1 MiB) with 2 workers" in capsys.readouterr().out
    assert workers == [0]  # the training loader's, under num_workers: auto


def test_a_damaged_image_is_one_line_before_the_run_folder_is_made(tmp_path, capsys, image_folder):
    (image_folder / "square" / "003.png").write_bytes(b"\x89PNG\r\n\x1a\n damaged")
    for cache in ("auto", False):  # decoded before training, or in a worker during the first epoch
        config = {"model": {"name": "shapes-cnn", "args": {"width": 4}}, "epochs": 1, "batch_size": 8,
                  "out": str(tmp_path / f"runs-{cache}"), "name": "img",
                  "data": {"name": "image_folder", "root": str(image_folder), "test_fraction": 0.2,
                           "num_workers": 1, "cache": cache}}
        path = tmp_path / "c.yaml"
        path.write_text(yaml.safe_dump(config))
        assert main(["train", str(path), "--no-progress"]) == 2
        error = capsys.readouterr().err.strip()
        assert error.startswith("axon train: error: ") and "\n" not in error, error
        assert "square/003.png: not a decodable PNG/JPEG/BMP/WebP image" in error
        assert (tmp_path / f"runs-{cache}").exists() == (cache is False)
