"""axon's RBM against scikit-learn's BernoulliRBM, side by side in one process.

Both run persistent contrastive divergence with the same hyper-parameters (hidden units,
mini-batch size, learning rate, epochs; axon's momentum and weight decay switched off and
its batches visited in order, as scikit-learn does) on the same data: scikit-learn's digits
(1797 x 64, scaled to [0, 1]) and a larger binary set generated here (default 20000 x 784:
noisy copies of random sparse prototypes). Each model is fitted `repeats` times, the fits
of the three interleaved; a fit's time (setup included) divided by the epochs is its time
per epoch. Prints the best and the median of each, the ratios, both pseudo-likelihoods
(scikit-learn's definition, averaged over the data, with the standard error of that mean)
and the load average of the machine before and after.

Threads: torch and the BLAS under NumPy are both limited to --threads. scikit-learn computes
in the dtype it is given: the data are passed as float64 (NumPy's default, what a user
usually has) and, for the like-for-like row, as float32 (axon always computes in float32).

    .venv/bin/python benchmarks/rbm_vs_sklearn.py [--threads 1] [--epochs 2] [--repeats 5] [--data digits generated]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.neural_network import BernoulliRBM
from threadpoolctl import threadpool_limits

from axon.classic.rbm import RBM


def binary_prototypes(n_samples: int, n_features: int, seed: int = 0, n_prototypes: int = 20,
                      density: float = 0.2, noise: float = 0.05) -> np.ndarray:
    """(n_samples, n_features) of 0/1: random sparse prototypes with `noise` of bits flipped."""
    rng = np.random.default_rng(seed)
    prototypes = rng.random((n_prototypes, n_features)) < density
    data = prototypes[rng.integers(0, n_prototypes, n_samples)]
    return (data ^ (rng.random((n_samples, n_features)) < noise)).astype(np.float64)


def load() -> str:
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def compare(name: str, data: np.ndarray, args) -> None:
    """Fit each model `repeats` times, interleaved; report the best and median time per epoch
    and the pseudo-likelihood of the last fit of each."""
    common = dict(n_components=args.components, learning_rate=args.lr, batch_size=args.batch_size, n_iter=args.epochs)
    makers = {
        "scikit-learn (float64)": (lambda: BernoulliRBM(random_state=0, **common), data.astype(np.float64)),
        "scikit-learn (float32)": (lambda: BernoulliRBM(random_state=0, **common), data.astype(np.float32)),
        "axon (float32)": (lambda: RBM(random_state=0, momentum=0.0, initial_momentum=0.0, weight_decay=0.0,
                                       shuffle=False, k=1, persistent=True, device=args.device, **common), data),
    }
    before = load()
    times = {label: [] for label in makers}
    scores = {}
    for _ in range(args.repeats):
        for label, (make, inputs) in makers.items():
            model = make()
            start = time.perf_counter()
            model.fit(inputs)
            times[label].append((time.perf_counter() - start) / args.epochs)
            scores[label] = model.score_samples(data)
    print(f"\n{name}: {data.shape[0]} x {data.shape[1]}, {args.components} hidden, batch {args.batch_size}, "
          f"lr {args.lr}, {args.epochs} epochs, PCD, {args.threads} thread(s), {args.repeats} interleaved fits each")
    print(f"{before} (before), {load()} (after)")
    print(f"{'':<24} {'best s/epoch':>12} {'median s/epoch':>15} {'pseudo-likelihood':>22}")
    for label in makers:
        pl = scores[label]
        print(f"{label:<24} {min(times[label]):>12.4f} {statistics.median(times[label]):>15.4f} "
              f"{pl.mean():>13.2f} +- {pl.std() / np.sqrt(pl.size):.2f}")
    axon = times["axon (float32)"]
    for label in list(makers)[:2]:
        print(f"speed-up of axon vs {label}: {min(times[label]) / min(axon):.2f}x (best), "
              f"{statistics.median(times[label]) / statistics.median(axon):.2f}x (median)")
    gap = scores["axon (float32)"].mean() - scores["scikit-learn (float64)"].mean()
    print(f"pseudo-likelihood, axon minus scikit-learn (float64): {gap:+.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of each fit")
    parser.add_argument("--repeats", type=int, default=5, help="fits of each model, interleaved")
    parser.add_argument("--components", type=int, default=256, help="hidden units")
    parser.add_argument("--batch-size", type=int, default=10, help="mini-batch size")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate")
    parser.add_argument("--samples", type=int, default=20000, help="rows of the generated binary set")
    parser.add_argument("--features", type=int, default=784, help="columns of the generated binary set")
    parser.add_argument("--data", nargs="+", choices=("digits", "generated"), default=["digits", "generated"],
                        help="which data sets to run")
    parser.add_argument("--device", default="cpu", help="axon's device")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with threadpool_limits(args.threads):
        if "digits" in args.data:
            compare("digits", load_digits().data / 16.0, args)
        if "generated" in args.data:
            compare("generated binary", binary_prototypes(args.samples, args.features), args)


if __name__ == "__main__":
    main()
