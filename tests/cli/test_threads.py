"""`--threads N` on every command, and the default: the cores this process may use."""

import os
import subprocess
import sys

import pytest
import torch

from axon.cli import main
from axon.errors import ConfigError
from axon.threads import default_threads, set_threads


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_default_is_the_affinity_shared_among_processes(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 5, 7, 9}, raising=False)
    assert default_threads() == 6
    assert default_threads(processes=2) == 3
    assert default_threads(processes=8) == 1


def test_omp_num_threads_is_honoured(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert default_threads(processes=2) == 3


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_thread_count_names_the_option(bad):
    with pytest.raises(ConfigError, match=r"--threads: .*expected a number of threads >= 1"):
        set_threads(bad)


def test_every_command_takes_threads(restore_threads, capsys):
    assert main(["models", "--threads", "1"]) == 0
    assert torch.get_num_threads() == 1
    assert main(["models", "--threads", "2"]) == 0
    assert torch.get_num_threads() == 2


def test_threads_zero_is_one_line_and_exit_2(restore_threads, capsys):
    assert main(["models", "--threads", "0"]) == 2
    assert capsys.readouterr().err.strip() == "axon models: error: --threads: 0; expected a number of threads >= 1"


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this system")
def test_default_follows_the_cpu_affinity_not_the_machine():
    """A process fenced to one core computes with one thread, not torch's one per core."""
    code = "from axon.cli import main; main(['models']); import torch; print(torch.get_num_threads())"
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    one_core = min(os.sched_getaffinity(0))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                         preexec_fn=lambda: os.sched_setaffinity(0, {one_core}))
    assert out.stdout.strip().splitlines()[-1] == "1"


def test_waiting_threads_sleep_unless_the_environment_says_otherwise(monkeypatch, restore_threads):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert main(["models"]) == 0
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert main(["models"]) == 0
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_train_takes_threads_from_the_config_or_the_option_and_says_so(tmp_path, capsys, restore_threads):
    import yaml

    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"epochs": 1, "model": {"name": "digits-mlp"}, "device": "cpu",
                                      "threads": 1, "out": str(tmp_path / "runs")}))
    assert main(["train", str(config), "--name", "a", "--no-progress"]) == 0
    assert torch.get_num_threads() == 1
    assert main(["train", str(config), "--name", "b", "--threads", "2"]) == 0
    out = capsys.readouterr().out
    assert "digits-mlp: 9,610 parameters, on cpu with 2 threads\n  data digits: " in out
    assert "1 train" not in out and "; 1 epochs, batch 64" in out
    assert yaml.safe_load((tmp_path / "runs" / "b" / "config.yaml").read_text())["threads"] == 2
