"""The default `axon train` job on a busy CPU, with and without axon's thread settings.

Runs `axon train --epochs E` in a subprocess, first alone and then beside --competitors
CPU-bound processes (busy loops started here), each time in three ways:

- torch defaults (the program before the fix): torch is imported before axon's command
  starts, so OpenMP keeps its default of spinning while it waits at a barrier;
- axon (the fix): `python -m axon train`: the cores this process may use, and waiting
  threads sleep (OMP_WAIT_POLICY=PASSIVE);
- one thread (`--threads 1`), for reference.

Prints wall and CPU seconds of each run and the ratio of the torch-defaults run to the
axon run under the same load. The machine's own load is printed beside each figure:
on a shared machine the ratio is what counts.

    python benchmarks/threads_under_load.py --epochs 20 --competitors 2 [--skip-alone]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

WITHOUT_FIX = "import sys, torch; from axon.cli import main; sys.exit(main(sys.argv[1:]))"


def run_job(how: str, epochs: int, out: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one `axon train --epochs epochs` run."""
    job = ["train", "--epochs", str(epochs), "--no-progress", "--out", out]
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    if how == "torch defaults":
        argv = [sys.executable, "-c", WITHOUT_FIX, *job]
    elif how == "axon":
        argv = [sys.executable, "-m", "axon", *job]
    else:
        argv = [sys.executable, "-m", "axon", *job, "--threads", "1"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="epochs of the default job (default 20)")
    parser.add_argument("--competitors", type=int, default=2, help="busy processes beside it (default 2)")
    parser.add_argument("--skip-alone", action="store_true",
                        help="measure only beside the competitors (when the alone runs are done)")
    args = parser.parse_args()
    print(f"cores this process may use: {len(os.sched_getaffinity(0))}; date {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"{'competitors':>11} {'settings':>15} {'wall s':>8} {'CPU s':>7}  loadavg before")
    with tempfile.TemporaryDirectory() as out:
        for competitors in (args.competitors,) if args.skip_alone else (0, args.competitors):
            busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(competitors)]
            try:
                walls = {}
                for how in ("torch defaults", "axon", "one thread"):
                    load = open("/proc/loadavg").read().split()[:3]
                    walls[how], cpu = run_job(how, args.epochs, out)
                    print(f"{competitors:>11} {how:>15} {walls[how]:>8.1f} {cpu:>7.1f}  {' '.join(load)}", flush=True)
                print(f"{'':>11} torch defaults / axon: {walls['torch defaults'] / walls['axon']:.2f}x", flush=True)
            finally:
                for process in busy:
                    process.kill()
                    process.wait()


if __name__ == "__main__":
    main()
