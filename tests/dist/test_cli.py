"""`axon train --nproc 2` end to end: the run folder; `torchrun -m axon train` gives the
same weights; and a worker killed mid-run with --max-restarts: all processes restart from
checkpoints/last and finish with the weights of an uninterrupted run."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from procs import marked, new_marker
from safetensors.torch import load_file

from axon.cli import main

CONFIG = {
    "model": {"name": "digits-mlp"}, "epochs": 2, "batch_size": 32, "device": "cpu", "deterministic": True,
    "schedule": {"name": "constant"}, "optimizer": {"name": "sgd", "lr": 0.05},
    "checkpoint": {"every_steps": 4},
}


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "dp.yaml"
    path.write_text(yaml.safe_dump({**CONFIG, "out": str(tmp_path / "runs")}))
    return path


def axon_process(tmp_path, marker, *argv) -> subprocess.Popen:
    name, value = marker.split("=")
    env = {**os.environ, name: value}
    return subprocess.Popen([sys.executable, "-m", "axon", "train", *map(str, argv)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def workers_of(parent: int) -> list[int]:
    """The processes the launcher spawned (not its resource tracker)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if ppid == parent and b"spawn_main" in command:
            pids.append(int(entry.name))
    return pids


def finish(process: subprocess.Popen) -> tuple[str, str]:
    try:
        out, err = process.communicate(timeout=600)
    finally:
        process.kill()
    return out, err


@pytest.mark.slow
def test_killed_worker_restarts_from_the_checkpoint_and_matches_an_uninterrupted_run(tmp_path):
    config = write_config(tmp_path)
    marker = new_marker()
    reference = axon_process(tmp_path, marker, config, "--nproc", 2, "--name", "ref")
    out, err = finish(reference)
    assert reference.returncode == 0, err
    assert out.count("done: completed, 2 epochs") == 1  # the summary once, from rank 0
    run = tmp_path / "runs" / "ref"
    assert {"config.yaml", "metrics.csv", "curves.png", "checkpoints", "tensorboard"} <= {p.name for p in run.iterdir()}
    assert len((run / "metrics.csv").read_text().splitlines()) == 3  # header and 2 epochs, written once

    # torchrun starting `axon train` itself: rank 0 makes the folder; same weights as --nproc
    name, value = marker.split("=")
    torchrun = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "axon", "train", str(config), "--name", "torchrun"],
        env={**os.environ, name: value}, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert torchrun.returncode == 0, torchrun.stderr
    assert torchrun.stdout.count("done: completed, 2 epochs") == 1
    assert_same_weights(tmp_path / "runs" / "torchrun", run)

    faulty = axon_process(tmp_path, marker, config, "--nproc", 2, "--max-restarts", 1, "--name", "killed")
    last = tmp_path / "runs" / "killed" / "checkpoints" / "last"
    while not last.exists() and faulty.poll() is None:
        time.sleep(0.02)
    victims = workers_of(faulty.pid)
    assert len(victims) == 2, "the run ended before a worker could be killed"
    os.kill(victims[-1], signal.SIGKILL)
    out, err = finish(faulty)
    assert faulty.returncode == 0, err
    assert "restart 1" in out
    assert out.count("done: completed, 2 epochs") == 1
    assert_same_weights(tmp_path / "runs" / "killed", run)
    assert same_metrics(tmp_path / "runs" / "killed", run)  # the restarted epoch's too
    assert marked(marker) == []


def same_metrics(run, reference) -> bool:
    def rows(folder):
        with open(folder / "metrics.csv") as f:
            return [{k: row[k] for k in ("epoch", "step", "train_loss", "train_acc", "val_loss", "val_acc")}
                    for row in csv.DictReader(f)]
    return rows(run) == rows(reference)


def assert_same_weights(run, reference):
    weights = load_file(run / "checkpoints" / "last" / "model.safetensors")
    expected = load_file(reference / "checkpoints" / "last" / "model.safetensors")
    assert weights.keys() == expected.keys()
    for key in expected:
        assert (weights[key] == expected[key]).all(), key


@pytest.mark.parametrize("argv, expected", [
    (["--nproc", "0"], "--nproc 0: expected at least 1 process"),
    (["--nproc", "2", "--nnodes", "2", "--node-rank", "5", "--master", "h:1"], "--node-rank 5"),
    (["--nproc", "2", "--master", "localhost"], "--master 'localhost': expected HOST:PORT"),
])
def test_bad_options_are_one_line_errors(tmp_path, capsys, argv, expected):
    assert main(["train", str(write_config(tmp_path)), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert expected in err
    assert not (tmp_path / "runs").exists()  # checked before the run folder is made


@pytest.mark.slow
def test_a_sharded_run_from_the_cli_trains_and_its_checkpoint_evaluates(tmp_path):
    path = tmp_path / "fsdp.yaml"
    path.write_text(yaml.safe_dump({**CONFIG, "epochs": 1, "out": str(tmp_path / "runs"),
                                    "distributed": {"strategy": "fsdp"}}))
    marker = new_marker()
    process = axon_process(tmp_path, marker, path, "--nproc", 2, "--name", "sharded")
    out, err = finish(process)
    assert process.returncode == 0, err
    assert out.count("done: completed, 1 epochs") == 1
    evaluation = subprocess.run([sys.executable, "-m", "axon", "eval", str(tmp_path / "runs" / "sharded")],
                                capture_output=True, text=True, timeout=300)
    assert evaluation.returncode == 0, evaluation.stderr
    accuracy = float(evaluation.stdout.split("checkpoint):")[1].split()[0])
    assert accuracy > 0.5  # one epoch of the MLP on the digits
    assert marked(marker) == []


PIPELINE = {"strategy": "pipeline", "stages": 2, "microbatches": 4, "schedule": "1f1b", "split_at": ["dense1"]}


def test_a_pipeline_config_that_does_not_fit_the_processes_is_one_line_error(tmp_path, capsys):
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump({**CONFIG, "out": str(tmp_path / "runs"), "distributed": PIPELINE}))
    assert main(["train", str(path), "--nproc", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "distributed.stages 2 x data_parallel 1 = 2 processes, but the job has 3 (start it with --nproc 2)" in err
    assert not (tmp_path / "runs").exists()


def test_a_pipeline_run_from_the_cli_trains_and_its_checkpoint_evaluates(tmp_path):
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump({**CONFIG, "epochs": 1, "out": str(tmp_path / "runs"), "distributed": PIPELINE}))
    marker = new_marker()
    process = axon_process(tmp_path, marker, path, "--nproc", 2, "--name", "piped")
    out, err = finish(process)
    assert process.returncode == 0, err
    assert "pipeline: 2 processes = 2 stages x 1 pipeline(s), 4 micro-batches (1f1b), global batch 32" in out
    assert out.count("done: completed, 1 epochs") == 1
    evaluation = subprocess.run([sys.executable, "-m", "axon", "eval", str(tmp_path / "runs" / "piped")],
                                capture_output=True, text=True, timeout=300)
    assert evaluation.returncode == 0, evaluation.stderr
    accuracy = float(evaluation.stdout.split("checkpoint):")[1].split()[0])
    assert accuracy > 0.5  # one epoch of the MLP on the digits, trained in two stages
    assert marked(marker) == []
