"""Data-parallel throughput: the same model and global batch trained by 1 and by N
processes (axon.dist, gloo on CPU / nccl on GPUs), with the scaling efficiency, the
gradient bytes all-reduced per step, and the overhead of the data-parallel path with one
process against the plain Trainer in this process (on a GPU: single-GPU data-parallel
against plain training).

Model: zoo digits-cnn on a synthetic (samples, 1, 8, 8) set with 10 classes. Throughput
is training samples per second of the last epoch (the first warms up), as the Trainer
measures it. Scaling efficiency = samples/s with N processes / (N * samples/s with one
launched process). Every process runs --threads torch threads (default 1), so N
processes use N times the cores of one; on a machine with fewer free cores than
processes the efficiency drops below 1.

    python benchmarks/data_parallel.py [--nproc 2] [--samples 8192] [--global-batch 256] [--epochs 2]
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch.utils.data import TensorDataset

from axon import Trainer
from axon.dist import DistributedTrainer, join, launch, leave
from axon.train.trainer import seed_everything
from axon.zoo import create


def dataset(samples: int) -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    return TensorDataset(torch.rand(samples, 1, 8, 8, generator=g), torch.randint(0, 10, (samples,), generator=g))


def fit(trainer_class, batch: int, samples: int, epochs: int, **kwargs) -> float:
    """Samples/s of the last epoch."""
    seed_everything(0)
    model = create("digits-cnn")
    trainer = trainer_class(model, epochs=epochs, batch_size=batch, optimizer="sgd", lr=0.05, schedule="constant",
                            progress=False, **kwargs)
    return trainer.fit(dataset(samples))[-1]["samples_per_s"]


def process(batch: int, samples: int, epochs: int) -> float:
    """Body of each launched process: its share of the global batch."""
    device = join("auto", timeout=300)
    try:
        return fit(DistributedTrainer, batch, samples, epochs, device=str(device), timeout=300)
    finally:
        leave()


def launched(nproc: int, global_batch: int, samples: int, epochs: int) -> float:
    """Samples/s of `nproc` processes together (the Trainer all-reduces the sample count)."""
    return launch(process, (global_batch // nproc, samples, epochs), nproc=nproc)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--samples", type=int, default=8192)
    parser.add_argument("--global-batch", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of every process (default 1)")
    parser.add_argument("--repeats", type=int, default=2, help="alternating repeats; the best of each is kept")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # the launched processes take this too
    torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    gpus = torch.cuda.device_count()
    if device == "cuda" and args.nproc > gpus:
        raise SystemExit(f"--nproc {args.nproc}: this machine has {gpus} GPUs")
    model = create("digits-cnn")
    grad_bytes = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    print(f"digits-cnn, {args.samples} samples, global batch {args.global_batch}, {args.epochs} epochs, "
          f"{device}, {os.cpu_count()} cores, {args.threads} thread(s) per process")
    print(f"gradient bytes all-reduced per step: {grad_bytes:,} ({grad_bytes / 2**20:.2f} MiB) "
          f"in {-(-sum(p.numel() for p in model.parameters()) // (1 << 22))} bucket(s)")
    start = time.perf_counter()
    plain = one = many = 0.0
    for _ in range(args.repeats):  # alternate, so a busy spell on the machine hits all three
        plain = max(plain, fit(Trainer, args.global_batch, args.samples, args.epochs, device=device))
        one = max(one, launched(1, args.global_batch, args.samples, args.epochs))
        many = max(many, launched(args.nproc, args.global_batch, args.samples, args.epochs))
    print(f"plain Trainer, 1 process        : {plain:10.0f} samples/s")
    print(f"data-parallel, 1 process        : {one:10.0f} samples/s  (overhead vs plain {plain / one:.3f}x)")
    print(f"data-parallel, {args.nproc} processes      : {many:10.0f} samples/s  "
          f"(speed-up {many / one:.2f}x, scaling efficiency {many / (args.nproc * one):.2f})")
    print(f"({time.perf_counter() - start:.0f} s in all; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
