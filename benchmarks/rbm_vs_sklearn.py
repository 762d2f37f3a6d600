"""axon's RBM against scikit-learn's BernoulliRBM, side by side in one process.

Both run persistent contrastive divergence with the same hyper-parameters (hidden units,
mini-batch size, learning rate, epochs; axon's momentum and weight decay switched off and
its batches visited in order, as scikit-learn does) on the same data: scikit-learn's digits
(1797 x 64, scaled to [0, 1]) and a larger binary set generated here (default 20000 x 784:
noisy copies of random sparse prototypes). Prints the time per epoch of each, their ratio,
and both pseudo-likelihoods (scikit-learn's definition, averaged over the data).

Threads: torch and the BLAS under NumPy are both limited to --threads. scikit-learn computes
in the dtype it is given: the data are passed as float64 (NumPy's default, what a user
usually has) and, for the like-for-like row, as float32 (axon always computes in float32).

    .venv/bin/python benchmarks/rbm_vs_sklearn.py [--threads 1] [--epochs 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
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


def compare(name: str, data: np.ndarray, args) -> None:
    """Fit each model `repeats` times, interleaved; keep the fastest fit (the least
    disturbed by other load on the machine) and its pseudo-likelihood."""
    common = dict(n_components=args.components, learning_rate=args.lr, batch_size=args.batch_size, n_iter=args.epochs)
    makers = {
        "scikit-learn (float64)": (lambda: BernoulliRBM(random_state=0, **common), data.astype(np.float64)),
        "scikit-learn (float32)": (lambda: BernoulliRBM(random_state=0, **common), data.astype(np.float32)),
        "axon (float32)": (lambda: RBM(random_state=0, momentum=0.0, initial_momentum=0.0, weight_decay=0.0,
                                       shuffle=False, k=1, persistent=True, device=args.device, **common), data),
    }
    best = {label: float("inf") for label in makers}
    scores = {}
    for _ in range(args.repeats):
        for label, (make, inputs) in makers.items():
            model = make()
            start = time.perf_counter()
            model.fit(inputs)
            best[label] = min(best[label], (time.perf_counter() - start) / args.epochs)
            scores[label] = float(model.score_samples(data).mean())
    rows = [(label, best[label], scores[label]) for label in makers]
    print(f"\n{name}: {data.shape[0]} x {data.shape[1]}, {args.components} hidden, batch {args.batch_size}, "
          f"lr {args.lr}, {args.epochs} epochs, PCD, {args.threads} thread(s), best of {args.repeats}")
    print(f"{'':<24} {'s/epoch':>9} {'pseudo-likelihood':>18}")
    for label, per_epoch, pl in rows:
        print(f"{label:<24} {per_epoch:>9.3f} {pl:>18.2f}")
    axon_epoch = rows[-1][1]
    print(f"speed-up of axon: {rows[0][1] / axon_epoch:.2f}x vs scikit-learn float64, "
          f"{rows[1][1] / axon_epoch:.2f}x vs scikit-learn float32")
    print(f"pseudo-likelihood, axon minus scikit-learn (float64): {rows[-1][2] - rows[0][2]:+.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of each fit")
    parser.add_argument("--repeats", type=int, default=3, help="fits of each model; the fastest counts")
    parser.add_argument("--components", type=int, default=256, help="hidden units")
    parser.add_argument("--batch-size", type=int, default=10, help="mini-batch size")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate")
    parser.add_argument("--samples", type=int, default=20000, help="rows of the generated binary set")
    parser.add_argument("--features", type=int, default=784, help="columns of the generated binary set")
    parser.add_argument("--device", default="cpu", help="axon's device")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with threadpool_limits(args.threads):
        compare("digits", load_digits().data / 16.0, args)
        compare("generated binary", binary_prototypes(args.samples, args.features), args)


if __name__ == "__main__":
    main()
