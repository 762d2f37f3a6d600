"""Run folders written from Python (`Trainer(run_dir=...).fit`): every `axon` command reads
them (eval, predict, export, train --resume), and a folder it cannot rebuild is one error
line naming what is missing."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from torch import nn

import axon
from axon.cli import main
from axon.data import build_dataset, load_digits_splits
from axon.errors import RunDirError
from axon.run import evaluate_run, read_run_config, resume_run
from axon.train.trainer import Trainer
from axon.zoo import create


def axon_cli(*argv):
    return main([str(a) for a in argv])


def error_line(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def fit_digits_mlp(run_dir, epochs=1, **kwargs):
    splits = load_digits_splits()
    torch.manual_seed(0)  # the initial weights: the Trainer seeds only what follows
    trainer = axon.Trainer(create("digits-mlp"), epochs=epochs, batch_size=128, lr=3e-3, run_dir=run_dir,
                           progress=False, **kwargs)
    trainer.fit(splits.train, splits.val)
    return trainer, splits


def test_python_run_works_with_eval_predict_and_export(tmp_path, capsys):
    run = tmp_path / "py"
    trainer, splits = fit_digits_mlp(run)
    record = json.loads((run / "trainer.json").read_text())
    assert record["model"] == {"name": "digits-mlp", "args": record["model"]["args"]}
    assert record["data"]["source"] == {"name": "digits", "test_fraction": 0.2, "val_fraction": 0.1, "split_seed": 0}
    assert record["unrecorded"] == {}
    config = read_run_config(run)
    assert config.model.name == "digits-mlp" and config.epochs == 1 and config.batch_size == 128
    assert config.optimizer.lr == 3e-3 and config.data.name == "digits"

    capsys.readouterr()
    assert axon_cli("eval", run) == 0
    report = json.loads((run / "eval_best.json").read_text())
    assert report["top1"] == pytest.approx(trainer.evaluate(splits.test)["acc"])

    from sklearn.datasets import load_digits

    digits = load_digits()
    np.save(tmp_path / "batch.npy", digits.images[:40])  # raw 0..16 pixels, as the preprocessing expects
    assert axon_cli("predict", run, tmp_path / "batch.npy", "--top-k", "1", "--out", tmp_path / "p.json") == 0
    predicted = [row["top"][0]["class"] for row in json.loads((tmp_path / "p.json").read_text())]
    expected = trainer.predict(torch.from_numpy(digits.images[:40] / 16.0).float().unsqueeze(1)).argmax(1)
    assert predicted == [str(int(c)) for c in expected]

    assert axon_cli("export", run, "--format", "torchscript") == 0
    assert (run / "export" / "model.pt").is_file()


def test_cli_resume_of_a_python_run_is_exact_and_times_the_whole_run(tmp_path, monkeypatch, capsys):
    whole, _ = fit_digits_mlp(tmp_path / "whole", epochs=2)
    original = Trainer._train_epoch

    def killed_after_one_epoch(self, *args):
        if self.epoch == 1:
            raise KeyboardInterrupt
        return original(self, *args)

    monkeypatch.setattr(Trainer, "_train_epoch", killed_after_one_epoch)
    with pytest.raises(KeyboardInterrupt):
        fit_digits_mlp(tmp_path / "killed", epochs=2)
    monkeypatch.setattr(Trainer, "_train_epoch", original)
    first_epoch = json.loads((tmp_path / "killed" / "trainer.json").read_text())  # written before training
    assert first_epoch["settings"]["epochs"] == 2

    summary = resume_run(tmp_path / "killed", progress=False)
    weights = load_file(tmp_path / "killed" / "checkpoints" / "last" / "model.safetensors")
    reference = load_file(tmp_path / "whole" / "checkpoints" / "last" / "model.safetensors")
    assert weights.keys() == reference.keys()
    assert all(torch.equal(weights[k], reference[k]) for k in weights)
    epoch_one = whole.history[0]["seconds"]
    assert 0 < summary.earlier_seconds < 10 * epoch_one + 5
    assert summary.total_seconds == pytest.approx(summary.earlier_seconds + summary.seconds)
    assert summary.timing().startswith("2 epochs in ") and "(this session " in summary.timing()
    assert json.loads((tmp_path / "killed" / "trainer.json").read_text())["unrecorded"] == {}  # kept as it was


def test_a_model_not_from_the_zoo_is_named_by_every_command(tmp_path, capsys):
    inputs, targets = torch.randn(32, 4), torch.randint(0, 3, (32,))
    run = tmp_path / "plain"
    Trainer(nn.Sequential(nn.Linear(4, 3)), epochs=1, run_dir=run, progress=False).fit((inputs, targets), (inputs, targets))
    np.save(tmp_path / "x.npy", np.zeros(4, np.float32))
    for command in (["eval", run], ["predict", run, tmp_path / "x.npy"], ["export", run], ["train", "--resume", run]):
        capsys.readouterr()
        assert axon_cli(*command) == 2
        line = error_line(capsys)
        assert "trainer.json: trained from Python with model: a Sequential that axon.zoo.create did not build" in line
        assert "axon.zoo.create" in line
    with pytest.raises(RunDirError, match="model: a Sequential"):
        axon.load_run(run)


def digits_arrays():
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.images / 16.0).astype(np.float32)[:, None], digits.target  # (N, 1, 8, 8), (N,) int64


def test_a_zoo_model_trained_on_arrays_predicts_and_exports_from_the_cli(tmp_path, capsys):
    x, y = digits_arrays()
    run = tmp_path / "arrays"
    torch.manual_seed(0)
    trainer = Trainer(create("digits-mlp"), epochs=4, batch_size=64, lr=1e-2, run_dir=run, progress=False)
    trainer.fit((x[:1400], y[:1400]))  # NumPy arrays, no validation data: checkpoints by train_loss
    record = json.loads((run / "trainer.json").read_text())
    assert record["data"] == {"source": None, "classes": [str(k) for k in range(10)], "input_shape": [1, 8, 8],
                              "preprocessing": {"kind": "array", "shape": [1, 8, 8]}}
    assert set(record["unrecorded"]) == {"data_source"} and record["settings"]["checkpoint"]["monitor"] == "train_loss"

    loaded = axon.load_run(run)
    assert loaded.classes == [str(k) for k in range(10)] and loaded.input_shape == (1, 8, 8)
    np.save(tmp_path / "x.npy", x[1400:1450])
    assert axon_cli("predict", run, tmp_path / "x.npy", "--top-k", "2", "--out", tmp_path / "p.json") == 0
    predicted = [row["top"][0]["class"] for row in json.loads((tmp_path / "p.json").read_text())]
    expected = trainer.predict(x[1400:1450]).argmax(1)
    assert predicted == [str(int(c)) for c in expected]
    assert np.mean([int(p) == t for p, t in zip(predicted, y[1400:1450])]) > 0.8  # it learned

    capsys.readouterr()
    assert axon_cli("export", run, "--format", "onnx") == 0  # checked in onnxruntime by the command
    out = capsys.readouterr().out
    assert (run / "export" / "model.onnx").is_file() and "onnxruntime on 8 random inputs" in out

    for command in (["eval", run], ["train", "--resume", run]):
        assert axon_cli(*command) == 2
        line = error_line(capsys)
        assert "trainer.json: trained from Python with data_source: train_data was in-memory arrays (X, y)" in line
        assert "trainer.evaluate((X_test, y_test))" in line and "build_dataset('arrays'" in line


def test_arrays_as_tensors_record_the_models_classes(tmp_path):
    x, y = digits_arrays()
    keep = y < 5  # labels 0..4 only, for a model of 10 classes: its 10 outputs are the classes
    run = tmp_path / "tensors"
    Trainer(create("digits-cnn"), epochs=1, batch_size=256, run_dir=run, progress=False).fit(
        torch.utils.data.TensorDataset(torch.from_numpy(x[keep]), torch.from_numpy(y[keep])))
    assert json.loads((run / "trainer.json").read_text())["data"]["classes"] == [str(k) for k in range(10)]
    assert main(["export", str(run), "--format", "torchscript"]) == 0


def test_arrays_whose_targets_are_not_labels_are_named(tmp_path, capsys):
    model = create("digits-mlp")
    model.axon_zoo = {"name": "digits-mlp", "args": {}}  # a builder without num_classes
    run = tmp_path / "regression"
    Trainer(model, epochs=1, loss="mse", run_dir=run, progress=False).fit((torch.randn(16, 1, 8, 8), torch.randn(16, 10)))
    np.save(tmp_path / "x.npy", np.zeros((1, 8, 8), np.float32))
    assert axon_cli("predict", run, tmp_path / "x.npy") == 2
    assert "data: train_data was arrays (X, y) whose y (shape [16, 10], torch.float32) are not class labels" \
        in error_line(capsys)



def test_a_callable_loss_evaluates_but_is_not_resumed_from_the_cli(tmp_path, capsys):
    splits = build_dataset("digits")
    run = tmp_path / "custom-loss"
    trainer = Trainer(create("digits-mlp"), epochs=1, batch_size=256, run_dir=run, progress=False,
                      loss=nn.CrossEntropyLoss(label_smoothing=0.1))
    trainer.fit(splits.train, splits.val)
    assert evaluate_run(run).metrics.top1 == pytest.approx(trainer.evaluate(splits.test)["acc"])
    capsys.readouterr()
    assert axon_cli("train", "--resume", run) == 2
    line = error_line(capsys)
    assert "loss: a Python callable as loss" in line and "ckpt_path=" in line


def test_cli_runs_write_no_trainer_record(tmp_path):
    assert axon_cli("train", "--epochs", 1, "--out", tmp_path, "--name", "cli", "--no-progress") == 0
    assert (tmp_path / "cli" / "config.yaml").is_file() and not (tmp_path / "cli" / "trainer.json").exists()


@pytest.mark.parametrize("text, named", [
    ("{", "not valid JSON"),
    ('{"written_by": "x", "model": null, "data": null, "settings": {}}', "unrecorded"),
    ('{"written_by": "x", "model": {"name": 3, "args": {}}, "data": null, "settings": {}, "unrecorded": {}}',
     "model.name"),
    ("[" * 100_000, "JSON"),
    ('{"written_by": "x", "model": null, "data": null, "settings": {}, "unrecorded": {}}', "model is null"),
])
def test_a_damaged_trainer_record_names_the_file(tmp_path, text, named):
    (tmp_path / "trainer.json").write_text(text)
    with pytest.raises(RunDirError, match=named) as err:
        read_run_config(tmp_path)
    assert str(tmp_path / "trainer.json") in str(err.value)
