"""Peak memory of the 19-state random walk (online TD(lambda), the book's 8 lambdas x 23
alphas) at a given number of episodes and runs, beside the estimate `check_memory` refuses by (`needed_bytes`).

    PYTHONPATH=src nice -n 10 /work/venv/bin/python benchmarks/td_random_walk_memory.py --episodes 1000 --runs 20
"""

from __future__ import annotations

import argparse
import resource
import time

import torch

from axon.classic.td import random_walk
from axon.memory import format_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    estimate = random_walk.needed_bytes(random_walk.NINETEEN, "td", args.episodes, args.runs,
                                        len(random_walk.LAMBDAS_19), len(random_walk.ALPHAS_19))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    cpu = time.process_time()
    result = random_walk.nineteen_state(episodes=args.episodes, runs=args.runs)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"episodes {args.episodes}, runs {args.runs}: peak RSS {format_bytes(peak)} ({format_bytes(before)} after "
          f"imports), estimate {format_bytes(estimate)}, {time.process_time() - cpu:.1f} s CPU, one thread; "
          f"best alpha at lambda 0.8: {result.best()[0.8]}; loadavg {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()
