"""The data-parallel Trainable: each process measures the loss and gradients on its
share of the global batch, then the gradients are averaged across processes, so every
process steps its optimizer with the gradient of the whole global batch."""

from __future__ import annotations

from typing import Iterator

import torch
import torch.distributed as dist
from torch import nn

from axon.dist.group import collective
from axon.train.trainable import StepResult, Trainable

BUCKET_ELEMENTS = 1 << 22  # gradients are all-reduced in flat buckets of up to 4M values


class AveragedTrainable:
    """Wrap a process's `Trainable`: `step(batch)` runs its forward and backward, then
    replaces every parameter's gradient by the mean over the processes (all-reduced in flat
    buckets of one dtype), makes the returned loss the mean over all processes' samples
    (so LBFGS line searches agree), and copies rank 0's floating-point buffers (batch-norm
    statistics) to every process, so all processes keep identical models.

    A parameter without a gradient on every process keeps none (the optimizer skips it as
    it would in one process). `timeout` (seconds) is the one the group was started with,
    quoted when a collective times out."""

    def __init__(self, trainable: Trainable, timeout: float):
        self.trainable = trainable
        self.timeout = timeout
        self.model: nn.Module = trainable.model
        self.loader = trainable.loader
        self.world_size = dist.get_world_size()

    def __iter__(self) -> Iterator:
        return iter(self.trainable)

    def __len__(self) -> int:
        return len(self.trainable)

    def step(self, batch) -> StepResult:
        result = self.trainable.step(batch)
        params = [p for p in self.model.parameters() if p.requires_grad]
        device = result.loss.device
        # [loss sum, samples, has-gradient flag per parameter], summed over processes
        head = torch.tensor([float(result.loss) * result.size, float(result.size)]
                            + [float(p.grad is not None) for p in params], dtype=torch.float64, device=device)
        with collective(f"the gradient all-reduce (batch of {result.size})", self.timeout):
            dist.all_reduce(head)
            self._average([p for p, has in zip(params, head[2:].tolist()) if has > 0])
            self._sync_buffers()
        loss = (head[0] / head[1]).to(result.loss.dtype)
        return StepResult(loss, result.size, result.correct)

    def _average(self, params: list[nn.Parameter]) -> None:
        for p in params:
            if p.grad is None:  # no gradient here, but on another process
                p.grad = torch.zeros_like(p)
        buckets: dict[tuple, list[nn.Parameter]] = {}
        for p in params:
            key = (p.grad.dtype, p.grad.device)
            bucket = buckets.setdefault(key, [])
            if bucket and sum(q.numel() for q in bucket) + p.numel() > BUCKET_ELEMENTS:
                self._reduce(bucket)
                bucket.clear()
            bucket.append(p)
        for bucket in buckets.values():
            if bucket:
                self._reduce(bucket)

    def _reduce(self, params: list[nn.Parameter]) -> None:
        flat = torch.cat([p.grad.reshape(-1) for p in params])
        dist.all_reduce(flat)
        flat /= self.world_size
        for p, chunk in zip(params, flat.split([p.numel() for p in params])):
            p.grad.copy_(chunk.view_as(p.grad))

    def _sync_buffers(self) -> None:
        for buffer in self.model.buffers():
            if buffer.is_floating_point():
                dist.broadcast(buffer, 0)
