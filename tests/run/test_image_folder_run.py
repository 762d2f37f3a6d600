"""A run on an image folder with a separate test folder: predictions on the raw test
images (decoded, resized, cropped, normalised as the run recorded) equal the evaluation's."""

import csv
import json

import numpy as np
import yaml

from axon.cli import main


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
