"""Data-parallel throughput: the same model and global batch trained by 1 and by N
processes (axon.dist, gloo on CPU / nccl on GPUs), with the scaling efficiency, the
gradient bytes all-reduced per step, and the overhead of the data-parallel path with one
process against the plain Trainer in this process (on a GPU: single-GPU data-parallel
against plain training).

Model: a zoo model (--model: digits-cnn on 1x8x8, shapes-cnn on 3x32x32, googlenet on
3x64x64) on a synthetic set with 10 classes. `--strategy` ddp (whole model per process),
fsdp (sharded) or both. Throughput is training samples per second of the last epoch (the
first warms up), as the Trainer measures it. Scaling efficiency = samples/s with N processes / (N * samples/s with one
launched process). Every process runs --threads torch threads (default 1), so N
processes use N times the cores of one; on a machine with fewer free cores than
processes the efficiency drops below 1.

With fsdp it also prints the bytes of parameters, gradients and optimizer state that
each process holds (its shards) against one process holding the whole model.

    python benchmarks/data_parallel.py [--nproc 2] [--model digits-cnn] [--strategy ddp]
        [--samples 8192] [--global-batch 256] [--epochs 2]
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
from torch.distributed.tensor import DTensor


MODELS = {  # zoo name: (builder keyword arguments, input shape)
    "digits-cnn": ({}, (1, 8, 8)),
    "shapes-cnn": ({}, (3, 32, 32)),
    "googlenet": ({"num_classes": 10, "image_size": 64}, (3, 64, 64)),
}


def build(name: str) -> torch.nn.Module:
    return create(name, **MODELS[name][0])


def dataset(name: str, samples: int) -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    inputs = torch.rand(samples, *MODELS[name][1], generator=g)
    return TensorDataset(inputs, torch.randint(0, 10, (samples,), generator=g))


def state_bytes(trainer) -> int:
    """Bytes of parameters, gradients and optimizer state this process holds (after a fit)."""
    def local(t: torch.Tensor) -> torch.Tensor:
        return t.to_local() if isinstance(t, DTensor) else t

    params = [local(p) for p in trainer.model.parameters()]
    total = sum(2 * p.numel() * p.element_size() for p in params)  # the parameter and its gradient
    for state in trainer.optimizer.state.values():
        total += sum(local(v).numel() * local(v).element_size() for v in state.values() if torch.is_tensor(v))
    return total


def fit(trainer_class, name: str, batch: int, samples: int, epochs: int, **kwargs) -> tuple[float, int]:
    """Samples/s of the last epoch, and the bytes of model state held."""
    seed_everything(0)
    trainer = trainer_class(build(name), epochs=epochs, batch_size=batch, optimizer="sgd", lr=0.05,
                            schedule="constant", progress=False, **kwargs)
    return trainer.fit(dataset(name, samples))[-1]["samples_per_s"], state_bytes(trainer)


def process(name: str, batch: int, samples: int, epochs: int, strategy: str) -> tuple[float, int]:
    """Body of each launched process: its share of the global batch."""
    device = join("auto", timeout=300)
    try:
        return fit(DistributedTrainer, name, batch, samples, epochs, device=str(device), timeout=300,
                   strategy=strategy)
    finally:
        leave()


def launched(nproc: int, name: str, global_batch: int, samples: int, epochs: int, strategy: str) -> tuple[float, int]:
    """Samples/s of `nproc` processes together (the Trainer all-reduces the sample count),
    and the model-state bytes of rank 0."""
    return launch(process, (name, global_batch // nproc, samples, epochs, strategy), nproc=nproc)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--model", choices=sorted(MODELS), default="digits-cnn")
    parser.add_argument("--strategy", choices=["ddp", "fsdp", "both"], default="ddp")
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
    strategies = ["ddp", "fsdp"] if args.strategy == "both" else [args.strategy]
    model = build(args.model)
    grad_bytes = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    print(f"{args.model}, {args.samples} samples, global batch {args.global_batch}, {args.epochs} epochs, "
          f"{device}, {os.cpu_count()} cores, {args.threads} thread(s) per process")
    print(f"gradient bytes averaged per step: {grad_bytes:,} ({grad_bytes / 2**20:.2f} MiB) "
          f"in {-(-sum(p.numel() for p in model.parameters()) // (1 << 22))} bucket(s) (ddp)")
    start = time.perf_counter()
    plain, runs = (0.0, 0), {}
    for _ in range(args.repeats):  # alternate, so a busy spell on the machine hits every run
        plain = best(plain, fit(Trainer, args.model, args.global_batch, args.samples, args.epochs, device=device))
        for strategy in strategies:
            for nproc in sorted({1, args.nproc}):
                key = (strategy, nproc)
                runs[key] = best(runs.get(key, (0.0, 0)), launched(nproc, args.model, args.global_batch,
                                                                   args.samples, args.epochs, strategy))
    print(f"{'plain Trainer, 1 process':<26}: {plain[0]:10.0f} samples/s  model state {plain[1] / 2**20:8.2f} MiB")
    for (strategy, nproc), (speed, held) in runs.items():
        one = runs[(strategy, 1)][0]
        ratio = (f"overhead vs plain {plain[0] / speed:.3f}x" if nproc == 1 else
                 f"speed-up {speed / one:.2f}x, scaling efficiency {speed / (nproc * one):.2f}")
        print(f"{f'{strategy}, {nproc} process(es)':<26}: {speed:10.0f} samples/s  model state "
              f"{held / 2**20:8.2f} MiB per process  ({ratio})")
    print(f"({time.perf_counter() - start:.0f} s in all; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores)")


def best(a: tuple[float, int], b: tuple[float, int]) -> tuple[float, int]:
    """The faster of two (samples/s, bytes) results."""
    return a if a[0] >= b[0] else b

if __name__ == "__main__":
    main()
