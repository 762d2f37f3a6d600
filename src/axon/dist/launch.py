"""Start the processes of a data-parallel job through torch.distributed's elastic agent
(the launcher behind torchrun), and report a failed job once, with the rank and error of
the process that failed first."""

from __future__ import annotations

import errno
import json
import logging
import math
import os
import signal
import socket
import sys
import time
import traceback
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import torch
from torch.distributed import DistError, TCPStore
from torch.distributed.elastic.rendezvous import RendezvousParameters, rendezvous_handler_registry
from torch.distributed.elastic.rendezvous.static_tcp_rendezvous import StaticTCPRendezvous
from torch.distributed.elastic.rendezvous.static_tcp_rendezvous import create_rdzv_handler as create_static_handler
from torch.distributed.elastic.multiprocessing.api import SignalException
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.launcher.api import LaunchConfig, elastic_launch

from axon.dist.errors import DistributedError
from axon.dist.group import first_line, resolve_backend
from axon.threads import set_threads

SECONDARY = ("another process is gone", "did not complete within")  # consequences of a first failure


def parse_master(master: str) -> tuple[str, int]:
    """`HOST:PORT` as (host, port); a bad value raises DistributedError naming it."""
    host, sep, port = master.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise DistributedError(f"--master {master!r}: expected HOST:PORT with a port in 1-65535, e.g. node0:29500")
    return host, int(port)


def free_port() -> int:
    """A TCP port no one listens on now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_port_free(port: int, option: str) -> None:
    """Raise DistributedError when something on this machine already listens on `port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("", port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise DistributedError(
                    f"{option}: port {port} is already in use on this machine; pick another port "
                    f"(one node: leave out --master and a free port is used)"
                ) from None
            raise


@contextmanager
def _quiet_launcher(quiet: bool) -> Iterator[None]:
    """Silence the elastic agent's own logging (a traceback per failed worker, exit-barrier
    notes) while it runs in this process; the failure is reported once, by `launch`."""
    if quiet:
        logging.disable(logging.ERROR)
    try:
        yield
    finally:
        if quiet:
            logging.disable(logging.NOTSET)


def _record(err: BaseException, debug: bool) -> None:
    """Write the worker's error where the agent reads it (TORCHELASTIC_ERROR_FILE)."""
    text = str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {first_line(err)}"
    if debug:
        traceback.print_exc()
    path = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if path:
        data = {"message": text, "timestamp": str(int(time.time())),
                "axon": {"secondary": any(s in text for s in SECONDARY), "time": time.time()}}
        with open(path, "w") as f:
            json.dump(data, f)


def run_reported(fn: Callable, args: tuple, debug: bool) -> Any:
    """Body of every launched process: run `fn(*args)`; on an error, record it for the
    launcher and exit with status 1 without a traceback (unless `debug`)."""
    set_threads(processes=int(os.environ.get("LOCAL_WORLD_SIZE", "1")))  # share the cores, do not oversubscribe
    try:
        return fn(*args)
    except Exception as err:  # noqa: BLE001 - every error is reported to the launcher
        _record(err, debug)
        sys.exit(1)


def failure_message(err: ChildFailedError) -> str:
    """One line: the rank and error of the process that failed first (an error that is the
    consequence of another process's failure, like a lost peer, comes last)."""

    def order(item):
        failure = item[1]
        extra = failure.error_file_data.get("axon", {}) if isinstance(failure.error_file_data, dict) else {}
        return (bool(extra.get("secondary")), extra.get("time", failure.timestamp))

    rank, failure = min(err.failures.items(), key=order)
    message = failure.message["message"] if isinstance(failure.message, dict) else failure.message
    message = str(message).removeprefix(f"rank {rank}: ")  # the rank is named once, below
    if failure.exitcode < 0 and not failure.error_file_data:
        message = f"killed by signal {failure.signal_name()}"
    elif "errors.html" in str(message):  # no error file: the process exited on its own
        message = f"exited with status {failure.exitcode}"
    others = len(err.failures) - 1
    also = f" ({others} other process{'es' if others > 1 else ''} failed after it)" if others else ""
    return f"rank {rank} (pid {failure.pid}): {message}{also}"


def check_options(nproc: int, max_restarts: int, nnodes: int, node_rank: int, master: str | None,
                  backend: str) -> tuple[str, int]:
    """Validate launch options before anything starts; returns the master's (host, port)."""
    if nproc < 1:
        raise DistributedError(f"--nproc {nproc}: expected at least 1 process")
    if max_restarts < 0:
        raise DistributedError(f"--max-restarts {max_restarts}: expected 0 or more")
    if nnodes < 1 or not 0 <= node_rank < nnodes:
        raise DistributedError(f"--node-rank {node_rank}: expected 0 <= node rank < --nnodes {nnodes}")
    if resolve_backend(backend) == "nccl" and nproc > torch.cuda.device_count():
        raise DistributedError(
            f"--nproc {nproc}: nccl needs one GPU per process and this machine has "
            f"{torch.cuda.device_count()} (use --nproc {torch.cuda.device_count()} or distributed.backend gloo)"
        )
    if master is None:
        if nnodes > 1:
            raise DistributedError(f"--nnodes {nnodes}: give --master HOST:PORT, the address of node 0")
        host, port = "127.0.0.1", free_port()
    else:
        host, port = parse_master(master)
        if node_rank == 0:
            check_port_free(port, "--master")
    return host, port


LOOPBACK_RENDEZVOUS = "axon-loopback"


class LoopbackRendezvous(StaticTCPRendezvous):
    """The static rendezvous of a one-node job, whose store listens on 127.0.0.1 only
    (torch's TCPStore listens on every interface): nothing off the machine can reach it."""

    def get_backend(self) -> str:
        return LOOPBACK_RENDEZVOUS

    def next_rendezvous(self):
        if self._store is None:
            self._listener = socket.create_server(("127.0.0.1", self.master_port), backlog=128)
            self._store = TCPStore("127.0.0.1", self.master_port, self.world_size, True, self.timeout,
                                   multi_tenant=True, master_listen_fd=self._listener.fileno())
        return super().next_rendezvous()


def _loopback_handler(params: RendezvousParameters) -> LoopbackRendezvous:
    static = create_static_handler(params)
    return LoopbackRendezvous("127.0.0.1", static.master_port, static.rank, static.world_size, static.run_id,
                              int(static.timeout.total_seconds()))


rendezvous_handler_registry.register(LOOPBACK_RENDEZVOUS, _loopback_handler)


def launch(fn: Callable, args: tuple = (), *, nproc: int, max_restarts: int = 0, nnodes: int = 1,
           node_rank: int = 0, master: str | None = None, backend: str = "auto", timeout: float = 300.0,
           debug: bool = False) -> dict[int, Any]:
    """Run `fn(*args)` in `nproc` processes on this node (of `nnodes`), started by the
    elastic agent with RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT set;
    returns {global rank: return value} of this node's processes.

    `master` is HOST:PORT of node 0 (one node: a free local port when not given). When a
    process dies or raises, the agent stops the others and, up to `max_restarts` times,
    starts them all again (so `fn` should continue from its last checkpoint). A job that
    still fails raises DistributedError naming the rank and error of the first failure;
    a node that cannot reach `master` within `timeout` seconds raises one naming it."""
    host, port = check_options(nproc, max_restarts, nnodes, node_rank, master, backend)
    config = LaunchConfig(
        min_nodes=nnodes, max_nodes=nnodes, nproc_per_node=nproc, run_id="axon",
        rdzv_backend="static" if nnodes > 1 else LOOPBACK_RENDEZVOUS, rdzv_endpoint=f"{host}:{port}",
        rdzv_configs={"rank": node_rank, "timeout": max(1, math.ceil(timeout))},
        max_restarts=max_restarts, monitor_interval=0.1, start_method="spawn",
    )
    with _quiet_launcher(not debug):
        try:
            return elastic_launch(config, run_reported)(fn, args, debug)
        except ChildFailedError as err:
            raise DistributedError(failure_message(err)) from None
        except SignalException as err:  # the agent has stopped the processes
            if err.sigval == signal.SIGINT:
                raise KeyboardInterrupt from None
            raise DistributedError(f"stopped by {err.sigval.name}; all processes of this node were stopped") from None
        except DistError as err:  # the rendezvous: the store at the master
            if debug:
                raise
            raise DistributedError(
                f"node {node_rank}: cannot reach the master at {host}:{port} within {timeout:g} s "
                f"(distributed.timeout): {first_line(err)}"
            ) from None
