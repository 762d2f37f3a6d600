"""`axon train` and `axon eval` end to end, and the bad inputs of the quick-start issue."""

import csv
import re
import subprocess
import sys

import pytest
import torch
import yaml

from axon.cli import main


def axon(*argv):
    return main([str(a) for a in argv])


def fast_config(tmp_path, **extra):
    config = {"model": {"name": "digits-mlp"}, "epochs": 2, "out": str(tmp_path / "runs")}
    config.update(extra)
    path = tmp_path / "fast.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def error_line(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.slow
def test_default_train_reaches_98_percent_and_fills_the_run_folder(tmp_path, capsys):
    """The quick start: `axon train` with its defaults (digits CNN on the 8x8 digits)."""
    assert axon("train", "--out", tmp_path, "--name", "quick") == 0
    out = capsys.readouterr().out
    run = tmp_path / "quick"
    epoch_rows = [line for line in out.splitlines() if re.match(r"\s*\d+/20 ", line)]
    assert len(epoch_rows) == 20  # one table row per epoch
    assert all(len(line) <= 80 for line in out.splitlines() if not line.startswith("  run folder"))
    assert "test accuracy: best checkpoint" in out and f"run folder: {run}" in out
    final = float(out.split("final ")[1].split()[0])
    assert final >= 0.98

    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["name"] == "quick" and config["model"]["name"] == "digits-cnn" and config["epochs"] == 20
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    assert len(rows) == 20
    for column in ["epoch", "step", "train_loss", "val_loss", "val_acc", "lr", "seconds", "samples_per_s"]:
        assert rows[-1][column] != ""
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for which in ("last", "best"):
        assert (run / "checkpoints" / which / "model.safetensors").is_file()
        assert (run / "checkpoints" / which / "trainer.safetensors").is_file()

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    assert len(events.Scalars("val_acc")) == 20

    assert axon("eval", run) == 0
    out = capsys.readouterr().out
    accuracy = float(out.split("test accuracy (best checkpoint): ")[1].split()[0])
    assert accuracy >= 0.98
    assert "precision" in out and (run / "confusion_best.png").is_file()


def test_config_and_overrides(tmp_path, capsys):
    config = fast_config(tmp_path)
    assert axon("train", config, "--epochs", 1, "--lr", 0.01, "--batch-size", 32, "--seed", 5, "--name", "x") == 0
    resolved = yaml.safe_load((tmp_path / "runs" / "x" / "config.yaml").read_text())
    assert (resolved["epochs"], resolved["optimizer"]["lr"], resolved["batch_size"], resolved["seed"]) == (1, 0.01, 32, 5)


def test_timestamp_names_never_collide(tmp_path, capsys):
    config = fast_config(tmp_path, epochs=1)
    assert axon("train", config) == 0
    assert axon("train", config) == 0
    assert len(list((tmp_path / "runs").iterdir())) == 2


def test_existing_run_is_never_overwritten(tmp_path, capsys):
    config = fast_config(tmp_path, epochs=1, name="taken")
    assert axon("train", config) == 0
    before = (tmp_path / "runs" / "taken" / "metrics.csv").read_bytes()
    capsys.readouterr()
    assert axon("train", config) == 2
    assert "already exists" in error_line(capsys)
    assert (tmp_path / "runs" / "taken" / "metrics.csv").read_bytes() == before


def test_resume_continues_from_last(tmp_path, capsys, monkeypatch):
    from axon.train.callbacks import ModelCheckpoint

    save = ModelCheckpoint.on_epoch_end

    def save_then_die_after_epoch_1(self, trainer, metrics):
        save(self, trainer, metrics)
        if trainer.epoch == 1:
            raise KeyboardInterrupt  # as if the process were killed here

    monkeypatch.setattr(ModelCheckpoint, "on_epoch_end", save_then_die_after_epoch_1)
    assert axon("train", fast_config(tmp_path, epochs=3, name="r")) == 130
    monkeypatch.undo()
    run = tmp_path / "runs" / "r"
    capsys.readouterr()
    assert axon("train", "--resume", run) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines() if re.match(r"\s*\d+/3 ", line)] == ["2/3", "3/3"]
    assert [row["epoch"] for row in csv.DictReader(open(run / "metrics.csv"))] == ["1", "2", "3"]


def test_resume_of_a_run_stopped_before_its_first_checkpoint_starts_it_again(tmp_path, capsys, monkeypatch):
    from safetensors.torch import load_file
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from axon.train.callbacks import ModelCheckpoint

    def die_before_the_first_checkpoint(self, trainer, metrics):
        raise KeyboardInterrupt  # as if the process were killed here

    config = fast_config(tmp_path, epochs=2)
    assert axon("train", config, "--name", "straight") == 0
    monkeypatch.setattr(ModelCheckpoint, "on_epoch_end", die_before_the_first_checkpoint)
    assert axon("train", config, "--name", "r") == 130
    monkeypatch.undo()
    run = tmp_path / "runs" / "r"
    assert not (run / "checkpoints" / "last").exists()
    capsys.readouterr()
    assert axon("train", "--resume", run) == 0
    assert f"{run}: no checkpoint yet (stopped before its first one); training from the beginning" \
        in capsys.readouterr().out
    assert [row["epoch"] for row in csv.DictReader(open(run / "metrics.csv"))] == ["1", "2"]
    steps = EventAccumulator(str(run / "tensorboard" / "steps"))
    steps.Reload()
    assert [event.step for event in steps.Scalars("loss")] == list(range(1, 1 + len(steps.Scalars("loss"))))
    weights = [load_file(str(tmp_path / "runs" / name / "checkpoints" / "last" / "model.safetensors"))
               for name in ("straight", "r")]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_a_run_folder_appears_only_with_its_config(tmp_path, capsys, monkeypatch):
    """A kill while the run folder is being made leaves no folder under the run's name
    (that could be neither resumed nor made again), and a folder under the name that is
    not a run is named as such."""
    from axon.run import folder

    def killed(name):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        folder.create_run_dir(tmp_path / "runs", "k", killed)
    assert list((tmp_path / "runs").iterdir()) == []
    (tmp_path / "runs" / "k").mkdir()
    assert axon("train", fast_config(tmp_path, epochs=1, name="k")) == 2
    assert "run folder already exists; pick another --name, or it is not an axon run folder" in error_line(capsys)


def test_resume_rejects_overrides(tmp_path, capsys):
    assert axon("train", "--resume", tmp_path, "--epochs", 3) == 2
    assert "takes no CONFIG or overrides (got --epochs)" in error_line(capsys)


@pytest.mark.parametrize(
    "text, message",
    [
        ("epochs: 3\nmodel: [digits\n", "YAML syntax error at line 3, column 1"),
        ("epoch: 3\n", "unknown key 'epoch' (did you mean 'epochs'?)"),
        ("epochs: 0\n", "epochs: Input should be greater than 0"),
        ("epochs: -1\n", "epochs: Input should be greater than 0"),
        ("batch_size: 0\n", "batch_size: Input should be greater than 0"),
        ("batch_size: -64\n", "batch_size: Input should be greater than 0"),
        ("model: {name: digits-cnm}\n", "unknown model 'digits-cnm'; did you mean 'digits-cnn'?"),
        ("model: {name: digits-cnn, args: {width: wide}}\n", "model.args.width: 'wide' is not a valid int"),
        ("batch_size: 100000000000000000000\n", "batch_size: Input should be less than or equal to 2147483648"),
        ("device: 'cuda:3'\n" if not torch.cuda.is_available() else "device: 'cuda:999'\n", "is not on this machine"),
        ("checkpoint: {monitor: val_acc_}\n", "checkpoint.monitor: metric 'val_acc_' is not logged (did you mean 'val_acc'?"),
        ("early_stopping: {monitor: accuracy}\n", "early_stopping.monitor: metric 'accuracy' is not logged"),
        ("schedule: {name: plateau, monitor: val_los}\n", "schedule.monitor: metric 'val_los' is not logged"),
        ("model: {name: digits-cnn, args: {width: 1000000000}}\n", "model.args.width 1000000000: Storage size calculation overflowed"),
    ],
)
def test_bad_config_is_one_clear_line_and_exit_2(tmp_path, capsys, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert axon("train", path, "--out", tmp_path / "runs") == 2
    line = error_line(capsys)
    assert line.startswith("axon train: error: ") and message in line
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_missing_config_file(tmp_path, capsys):
    assert axon("train", tmp_path / "missing.yaml") == 2
    assert "missing.yaml: config file not found" in error_line(capsys)


@pytest.mark.parametrize("flag, value", [("--epochs", 0), ("--epochs", -3), ("--batch-size", 0), ("--batch-size", -1)])
def test_bad_overrides(capsys, flag, value):
    assert axon("train", flag, value) == 2
    assert "command line: " + flag.removeprefix("--").replace("-", "_") in error_line(capsys)


def test_run_folder_not_writable(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert axon("train", "--out", blocker / "runs", "--epochs", 1) == 2
    assert "cannot create the runs folder" in error_line(capsys)


def test_read_only_runs_folder(tmp_path, capsys):
    import os

    if os.geteuid() == 0:
        pytest.skip("root ignores folder permissions")
    runs = tmp_path / "runs"
    runs.mkdir()
    runs.chmod(0o500)
    try:
        assert axon("train", "--out", runs, "--epochs", 1) == 2
        assert "cannot create the run folder" in error_line(capsys)
    finally:
        runs.chmod(0o700)


def test_resume_of_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert axon("train", "--resume", tmp_path) == 2
    assert "not an axon run folder (no config.yaml" in error_line(capsys)
    assert axon("train", "--resume", tmp_path / "nowhere") == 2
    assert "no such run folder" in error_line(capsys)


def test_resume_of_a_truncated_checkpoint_overwrites_nothing(tmp_path, capsys):
    config = fast_config(tmp_path, name="t")
    assert axon("train", config) == 0
    run = tmp_path / "runs" / "t"
    state = run / "checkpoints" / "last" / "trainer.safetensors"
    state.write_bytes(state.read_bytes()[:200])
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert axon("train", "--resume", run) == 2
    assert "trainer.safetensors: checksum does not match" in error_line(capsys)  # verified before it is read
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_eval_of_a_run_folder_it_cannot_write_still_reports(tmp_path, capsys):
    """Evaluating only reads: where the PNG and the metrics file cannot be written (here
    a path under a file, and a folder where the file goes; a read-only run folder alike),
    the metrics are printed and one line says what was not written."""
    assert axon("train", fast_config(tmp_path, epochs=1, name="ro")) == 0
    run = tmp_path / "runs" / "ro"
    (run / "eval_best.json").mkdir()
    capsys.readouterr()
    assert axon("eval", run, "--out", run / "metrics.csv" / "confusion.png") == 0
    out = capsys.readouterr().out
    assert "test accuracy (best checkpoint): " in out
    assert out.strip().splitlines()[-1].startswith("confusion matrix and metrics file not written (")


def test_nan_loss_stops_naming_the_step(tmp_path, capsys):
    config = fast_config(tmp_path, name="nan", optimizer={"name": "sgd", "lr": 1e12}, schedule={"name": "constant"})
    assert axon("train", config) == 2
    line = error_line(capsys)
    assert "loss became" in line and "at step" in line and "training stopped" in line


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(Exception, match="config file not found"):
        axon("train", tmp_path / "missing.yaml", "--debug")


def test_help_documents_every_option(capsys):
    with pytest.raises(SystemExit):
        axon("train", "--help")
    text = capsys.readouterr().out
    for option in ["--resume", "--epochs", "--lr", "--batch-size", "--seed", "--out", "--name", "--debug"]:
        assert option in text


def test_console_script_entry_point(tmp_path):
    result = subprocess.run([sys.executable, "-m", "axon", "eval", tmp_path], capture_output=True, text=True)
    assert result.returncode == 2 and "not an axon run folder" in result.stderr


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches_an_uninterrupted_run(tmp_path, capsys):
    """A real `axon train` process killed with SIGKILL at an arbitrary step (checkpoints
    every step), then resumed, ends with the weights of a run never interrupted."""
    import os
    import random
    import signal
    import time

    from safetensors.torch import load_file

    config = fast_config(tmp_path, epochs=3, batch_size=16, checkpoint={"every_steps": 1})
    assert axon("train", config, "--name", "straight") == 0
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "axon", "train", str(config), "--name", "killed"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    last = tmp_path / "runs" / "killed" / "checkpoints" / "last"
    try:
        # no wall-clock limit: on a busy machine start-up alone can take minutes
        while not last.exists() and process.poll() is None:
            time.sleep(0.05)
        time.sleep(random.uniform(0.0, 0.5))
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    capsys.readouterr()
    assert axon("train", "--resume", tmp_path / "runs" / "killed") == 0
    straight = load_file(str(tmp_path / "runs" / "straight" / "checkpoints" / "last" / "model.safetensors"))
    resumed = load_file(str(last / "model.safetensors"))
    assert straight.keys() == resumed.keys()
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)
