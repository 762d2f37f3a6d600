"""Random-walk experiments vectorised over runs and step sizes (axon) against a plain
Python loop over runs, states and steps (the textbook way), in the same process.

Same task both ways: online TD(lambda) on the 19-state walk for a few lambdas and
alphas, ``runs`` runs of ``episodes`` episodes, RMS error averaged over episodes.
The error tables should agree to within run-to-run noise (different random streams).

    .venv/bin/python benchmarks/td_random_walk_speed.py [--runs 20] [--episodes 10]
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np
import torch

from axon.classic.td.random_walk import NINETEEN, learning_curves

LAMBDAS = (0.0, 0.8)
ALPHAS = (0.1, 0.3, 0.5)


def python_loop(runs: int, episodes: int, seed: int = 0) -> np.ndarray:
    """(lambdas, alphas) mean RMS error over episodes 1..episodes, plain Python."""
    rnd = random.Random(seed)
    n = NINETEEN.n
    truth = NINETEEN.true_values().tolist()
    out = np.zeros((len(LAMBDAS), len(ALPHAS)))
    for i, lam in enumerate(LAMBDAS):
        for j, alpha in enumerate(ALPHAS):
            total = 0.0
            for _ in range(runs):
                values = [0.0] * (n + 2)
                for _ in range(episodes):
                    traces = [0.0] * (n + 2)
                    state = (n + 1) // 2
                    while 0 < state < n + 1:
                        nxt = state + rnd.choice((-1, 1))
                        reward = -1.0 if nxt == 0 else (1.0 if nxt == n + 1 else 0.0)
                        delta = reward + values[nxt] - values[state]
                        for s in range(n + 2):
                            traces[s] *= lam
                        traces[state] += 1.0
                        for s in range(1, n + 1):
                            values[s] += alpha * delta * traces[s]
                        state = nxt
                    error = sum((values[s + 1] - truth[s]) ** 2 for s in range(n)) / n
                    total += error**0.5
            out[i, j] = total / (runs * episodes)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    curves = learning_curves(NINETEEN, "td", ALPHAS, args.episodes, args.runs, LAMBDAS)
    vectorised = curves[..., 1:].mean(-1).numpy()
    axon_s = time.perf_counter() - start
    start = time.perf_counter()
    reference = python_loop(args.runs, args.episodes)
    loop_s = time.perf_counter() - start
    print(f"19-state walk, lambdas {LAMBDAS}, alphas {ALPHAS}, {args.runs} runs x "
          f"{args.episodes} episodes")
    print(f"axon vectorised: {axon_s:.2f} s; Python loop: {loop_s:.2f} s; "
          f"speed-up x{loop_s / axon_s:.1f}")
    print("mean RMS error (rows lambda, columns alpha), axon / loop:")
    for lam, a, b in zip(LAMBDAS, vectorised, reference):
        print(f"  lambda={lam:<4g} " + "  ".join(f"{x:.3f}/{y:.3f}" for x, y in zip(a, b)))


if __name__ == "__main__":
    main()
