"""`axon train --nproc 2` end to end, data-parallel and pipeline (2 stages): the run folder;
`torchrun -m axon train` gives the same weights; and a worker (a stage) killed mid-run with
--max-restarts: all processes restart from checkpoints/last and finish with the weights and
metrics of an uninterrupted run. 2 pipelines x 2 stages from the CLI train as 2 data-parallel
processes do."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from procs import marked, new_marker
from safetensors.torch import load_file

from axon.cli import main
from axon.dist.stages import plan_stages
from axon.errors import ConfigError
from axon.run.config import validate_config
from axon.run.distributed import check_pipeline_config
from axon.run.runs import build_model

CONFIG = {
    "model": {"name": "digits-mlp"}, "epochs": 2, "batch_size": 32, "device": "cpu", "deterministic": True,
    "schedule": {"name": "constant"}, "optimizer": {"name": "sgd", "lr": 0.05},
    "checkpoint": {"every_steps": 4},
}


def write_config(tmp_path: Path, name: str = "dp.yaml", **options) -> Path:
    """CONFIG with `options` (top-level keys) and the run folders under tmp_path/runs."""
    path = tmp_path / name
    path.write_text(yaml.safe_dump({**CONFIG, "out": str(tmp_path / "runs"), **options}))
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


PIPELINE = {"strategy": "pipeline", "stages": 2, "microbatches": 4, "schedule": "1f1b", "split_at": ["dense1"]}


@pytest.mark.slow
@pytest.mark.parametrize("distributed", [{}, PIPELINE], ids=["ddp", "pipeline"])
def test_killed_worker_restarts_from_the_checkpoint_and_matches_an_uninterrupted_run(tmp_path, distributed):
    config = write_config(tmp_path, distributed=distributed)
    marker = new_marker()
    reference = axon_process(tmp_path, marker, config, "--nproc", 2, "--name", "ref")
    out, err = finish(reference)
    assert reference.returncode == 0, err
    assert out.count("done: completed, 2 epochs") == 1  # the summary once, from rank 0
    assert ("pipeline: 2 processes = 2 stages" in out) == bool(distributed)
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


def metrics(run) -> list[dict]:
    with open(run / "metrics.csv") as f:
        return [{k: row[k] for k in ("epoch", "step", "train_loss", "train_acc", "val_loss", "val_acc")}
                for row in csv.DictReader(f)]


def same_metrics(run, reference) -> bool:
    return metrics(run) == metrics(reference)


def assert_same_weights(run, reference, atol: float = 0.0):
    """The final weights of two run folders: equal (to `atol`)."""
    weights = load_file(run / "checkpoints" / "last" / "model.safetensors")
    expected = load_file(reference / "checkpoints" / "last" / "model.safetensors")
    assert weights.keys() == expected.keys()
    for key in expected:
        assert torch.allclose(weights[key], expected[key], rtol=0, atol=atol), key


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
    path = write_config(tmp_path, "fsdp.yaml", epochs=1, distributed={"strategy": "fsdp"})
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



def test_a_pipeline_config_that_does_not_fit_the_processes_is_one_line_error(tmp_path, capsys):
    path = write_config(tmp_path, "pipeline.yaml", distributed=PIPELINE)
    assert main(["train", str(path), "--nproc", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "distributed.stages 2 x data_parallel 1 = 2 processes, but the job has 3 (start it with --nproc 2)" in err
    assert not (tmp_path / "runs").exists()


def test_a_pipeline_run_from_the_cli_trains_and_its_checkpoint_evaluates(tmp_path):
    path = write_config(tmp_path, "pipeline.yaml", epochs=1, distributed=PIPELINE)
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


@pytest.mark.slow
def test_two_pipelines_of_two_stages_train_as_two_data_parallel_processes(tmp_path):
    """--nproc 4 with data_parallel 2: each pipeline takes the samples a data-parallel process
    takes (batch_size per pipeline), and its 4 micro-batches add up to that process's batch."""
    no_dropout = {"model": {"name": "digits-mlp", "args": {"dropout": 0.0}}, "epochs": 1}
    ddp = write_config(tmp_path, "ddp.yaml", **no_dropout)
    piped = write_config(tmp_path, "piped.yaml", **no_dropout, distributed={**PIPELINE, "data_parallel": 2})
    marker = new_marker()
    for path, nproc, name in ((ddp, 2, "ddp"), (piped, 4, "piped")):
        process = axon_process(tmp_path, marker, path, "--nproc", nproc, "--name", name)
        out, err = finish(process)
        assert process.returncode == 0, err
        assert out.count("done: completed, 1 epochs") == 1
    assert "pipeline: 4 processes = 2 stages x 2 pipeline(s), 4 micro-batches (1f1b), global batch 64" in out
    assert_same_weights(tmp_path / "runs" / "piped", tmp_path / "runs" / "ddp", atol=1e-6)
    ddp_rows, piped_rows = (metrics(tmp_path / "runs" / name) for name in ("ddp", "piped"))
    assert [row["step"] for row in piped_rows] == [row["step"] for row in ddp_rows]
    for key in ("train_loss", "val_loss"):
        assert float(piped_rows[0][key]) == pytest.approx(float(ddp_rows[0][key]), abs=1e-5)
    assert marked(marker) == []


def test_the_googlenet_pipeline_example_is_a_two_process_pipeline_config():
    """examples/googlenet-pipeline.yaml (docs/distributed.md, README): valid, for --nproc 2, and
    its cut before inception_4a is a single tensor edge (plan_stages checks that)."""
    example = Path(__file__).parents[2] / "examples" / "googlenet-pipeline.yaml"
    config = validate_config(yaml.safe_load(example.read_text()), source=str(example))
    check_pipeline_config(config, 2)
    with pytest.raises(ConfigError, match="start it with --nproc 2"):
        check_pipeline_config(config, 4)
    model = build_model(config)
    plan = plan_stages(model, config.distributed.stages, config.distributed.split_at)
    assert plan[1][0] == "inception_4a" and sum(map(len, plan)) == len(model.wiring)
