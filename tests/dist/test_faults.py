"""Failed jobs: one report naming the rank, collective timeouts, config mismatch, bad
launch options; and no process left behind."""

import socket
import time

import dist_workers
import pytest
from procs import marked, new_marker

from axon.dist import DistributedError, launch
from axon.errors import ConfigError


@pytest.fixture
def marker(monkeypatch):
    """An environment marker the launched processes inherit; none may outlive the test."""
    mark = new_marker()
    name, value = mark.split("=")
    monkeypatch.setenv(name, value)
    yield mark
    assert marked(mark) == []


@pytest.mark.slow
def test_a_raising_worker_is_reported_once_with_its_rank(marker, capfd):
    with pytest.raises(DistributedError) as info:
        launch(dist_workers.fail_on_rank, (1,), nproc=2, timeout=60)
    message = str(info.value)
    assert message.startswith("rank 1 (pid ")
    assert "boom in the model on purpose (rank 1)" in message
    captured = capfd.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert "boom" not in captured.out + captured.err  # only in the one error raised


def test_a_hanging_collective_times_out_with_a_clear_message(marker):
    start = time.monotonic()
    with pytest.raises(DistributedError) as info:
        launch(dist_workers.hang_on_rank, (1, 2.0), nproc=2, timeout=2.0)
    message = str(info.value)
    assert message.startswith("rank 0 (pid ")
    assert "a test all-reduce did not complete within 2 s (distributed.timeout)" in message
    assert time.monotonic() - start < 300  # the sleeping rank 1 (600 s) was stopped


def test_different_configs_on_different_processes_are_an_error(marker):
    with pytest.raises(DistributedError) as info:
        launch(dist_workers.different_configs, nproc=2, timeout=60)
    assert "processes were started with different configs" in str(info.value)
    assert "on rank 1" in str(info.value)


def test_a_port_in_use_is_named():
    with socket.socket() as busy:
        busy.bind(("", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(DistributedError, match=f"--master: port {port} is already in use"):
            launch(dist_workers.different_configs, nproc=2, master=f"127.0.0.1:{port}")


def test_a_node_that_cannot_reach_the_master_times_out_naming_it(marker):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there
    with pytest.raises(DistributedError, match=f"node 1: cannot reach the master at 127.0.0.1:{port} within 2 s"):
        launch(dist_workers.different_configs, nproc=1, nnodes=2, node_rank=1,
               master=f"127.0.0.1:{port}", timeout=2)


@pytest.mark.parametrize("options, expected", [
    ({"nproc": 0}, "--nproc 0: expected at least 1"),
    ({"nproc": 1, "max_restarts": -1}, "--max-restarts -1"),
    ({"nproc": 1, "nnodes": 2, "node_rank": 2}, "--node-rank 2: expected 0 <= node rank < --nnodes 2"),
    ({"nproc": 1, "nnodes": 2}, "--nnodes 2: give --master HOST:PORT"),
    ({"nproc": 1, "master": "node0"}, "--master 'node0': expected HOST:PORT"),
    ({"nproc": 2, "backend": "nccl"}, "--nproc 2: nccl needs one GPU per process"),
])
def test_bad_launch_options(options, expected):
    if options.get("backend") == "nccl":
        import torch

        if torch.cuda.device_count() >= 2:
            pytest.skip("this machine has the GPUs")
    with pytest.raises(DistributedError, match=expected.replace("(", r"\(")):
        launch(dist_workers.different_configs, **options)
