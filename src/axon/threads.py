"""How many CPU threads torch computes with.

torch's own default is one thread per core of the machine, whatever share of it this
process may use; on a machine whose cores are shared or fenced off (CPU affinity, a
container's cpuset) the threads then outnumber the cores, and every barrier of a parallel
operator waits for a thread that is not running: runs slow down ten-fold and more. axon
instead uses the cores this process may run on (its CPU affinity), shared among the
processes of a multi-process job on this node, unless told a number (`--threads N`, the
run config's `threads` key, or the OMP_NUM_THREADS environment variable).

Even at the right count, threads that reach a barrier first spin (burn CPU) waiting for
the others; when another program holds a core, the spinning steals the time the late
thread needs. The `axon` command therefore asks OpenMP to let waiting threads sleep
(OMP_WAIT_POLICY=PASSIVE) unless the environment says otherwise; measured in
benchmarks/RESULTS.md ("threads under load")."""

from __future__ import annotations

import os

from axon.errors import ConfigError


def sleep_while_waiting() -> None:
    """Set OMP_WAIT_POLICY=PASSIVE unless it is set; takes effect only when called before
    torch is first imported (OpenMP reads it once)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask; all cores where the
    system has no affinity)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def default_threads(processes: int = 1) -> int:
    """OMP_NUM_THREADS when set, else the available cores shared among `processes`
    processes of this node (at least one thread each)."""
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, available_cores() // max(1, processes))


def check_threads(threads: int, what: str = "--threads") -> int:
    """`threads` if it is a positive integer, else a ConfigError naming `what`."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"{what}: {threads!r}; expected a number of threads >= 1")
    return threads


def set_threads(threads: int | None = None, processes: int = 1, what: str = "--threads") -> int:
    """Make torch compute with `threads` threads (None: `default_threads(processes)`);
    returns the number set."""
    import torch

    threads = default_threads(processes) if threads is None else check_threads(threads, what)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads
