import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from axon.data.video import MovingShapes
from axon.pvm.parallel import run_parallel, split_bounds
from axon.pvm.runner import PVMRunner

from .helpers import tiny


def test_split_bounds():
    assert split_bounds(16, 3) == [0, 5, 11, 16]
    assert split_bounds(1, 2) == [0, 0, 1]


@pytest.mark.parametrize("step", ["bottom_up", pytest.param("pipelined", marks=pytest.mark.slow)])
def test_two_processes_equal_one(tmp_path, step):
    cfg = tiny(step=step)
    run_parallel(cfg, "shapes", tmp_path / "par", procs=2, steps=6, metrics_every=3,
                 threads=1, timeout_s=120)
    single = PVMRunner(cfg, MovingShapes((12, 12)), tmp_path / "one", metrics_every=3,
                       progress=False)
    single.run(6, log=lambda line: None)
    assert_same_run(tmp_path / "par", tmp_path / "one")


@pytest.mark.slow
def test_torchrun_starts_the_same_run(tmp_path):
    """`torchrun ... -m axon pvm run` (how several machines run it): each process joins as
    one of torchrun's and the run equals `--procs 2`."""
    model = tmp_path / "tiny.json"
    model.write_text(tiny().to_json())
    common = ["--steps", "6", "--source", "shapes", "--metrics-every", "3", "--threads", "1"]
    torchrun = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "axon", "pvm", "run", str(model), *common, "--out", str(tmp_path / "torchrun")],
        capture_output=True, text=True, timeout=300)
    assert torchrun.returncode == 0, torchrun.stderr
    assert torchrun.stdout.count("wrote") == 1  # rank 0 alone reports
    run_parallel(tiny(), "shapes", tmp_path / "par", procs=2, steps=6, metrics_every=3,
                 threads=1, timeout_s=120)
    assert_same_run(tmp_path / "torchrun", tmp_path / "par")


def assert_same_run(a, b) -> None:
    """Runs in folders `a` and `b` end with the same weights (float32 rounding) and metrics."""
    weights_a = load_file(str(a / "snapshots" / "step_00000006.safetensors"))
    weights_b = load_file(str(b / "snapshots" / "step_00000006.safetensors"))
    assert weights_a.keys() == weights_b.keys()
    for k in weights_a:
        torch.testing.assert_close(weights_a[k], weights_b[k], rtol=1e-5, atol=1e-6)
    rows_a = (a / "metrics.csv").read_text().splitlines()
    rows_b = (b / "metrics.csv").read_text().splitlines()
    assert len(rows_a) == len(rows_b) == 3
    mse_a = [float(r.split(",")[4]) for r in rows_a[1:]]
    mse_b = [float(r.split(",")[4]) for r in rows_b[1:]]
    assert all(abs(x - y) <= 1e-6 * y for x, y in zip(mse_a, mse_b))


def _gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.slow
def test_a_crashed_worker_brings_the_run_down_cleanly(tmp_path):
    model = tmp_path / "tiny.json"
    model.write_text(tiny().to_json())
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "axon", "pvm", "run", str(model), "--procs", "2",
         "--steps", "100000000", "--source", "shapes", "--metrics-every", "100000", "--threads", "1",
         "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pids = None
        for _ in range(3000):  # bounded wait for the workers to start
            if (out / "workers.json").is_file():
                pids = json.loads((out / "workers.json").read_text())
                break
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        assert pids is not None and len(pids) == 2, proc.communicate()
        os.kill(pids[1], signal.SIGKILL)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2
    assert err.count("error:") == 1 and "rank 1" in err and "SIGKILL" in err  # reported once
    assert all(_gone(p) for p in pids)
