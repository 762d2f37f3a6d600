"""The data-parallel Trainable: each process measures the loss and gradients on its
share of the global batch, then the gradients are averaged across processes, so every
process steps its optimizer with the gradient of the whole global batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import torch
import torch.distributed as dist
from torch import nn

from axon.dist.group import collective
from axon.train.trainable import StepResult, Trainable

BUCKET_ELEMENTS = 1 << 22  # gradients are all-reduced in flat buckets of up to 4M values


@dataclass
class GlobalStepResult(StepResult):
    """A step of this process, plus `totals`: [loss sum, samples, correct] of the step over
    all processes (correct NaN when the task is not classification)."""

    totals: list[float] = field(default_factory=list)


class AveragedTrainable:
    """Wrap a process's `Trainable`: `step(batch)` runs its forward and backward, then
    replaces every parameter's gradient by the mean over the processes (all-reduced in flat
    buckets of one dtype), makes the returned loss the mean over all processes' samples
    (so LBFGS line searches agree), and copies rank 0's floating-point buffers (batch-norm
    statistics) to every process, so all processes keep identical models.

    A parameter without a gradient on every process keeps none (the optimizer skips it as
    it would in one process). `timeout` (seconds) is the one the group was started with,
    quoted when a collective times out."""

    averages_gradients = True

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
        params = [p for p in self.model.parameters() if p.requires_grad] if self.averages_gradients else []
        device = result.loss.device
        # [loss sum, samples, correct, has-gradient flag per parameter], summed over processes
        correct = float("nan") if result.correct is None else float(result.correct)
        head = torch.tensor([float(result.loss) * result.size, float(result.size), correct]
                            + [float(p.grad is not None) for p in params], dtype=torch.float64, device=device)
        with collective(f"the gradient all-reduce (batch of {result.size})", self.timeout):
            dist.all_reduce(head)
            average_gradients([p for p, has in zip(params, head[3:].tolist()) if has > 0], self.world_size)
            sync_buffers(self.model, 0)
        loss = (head[0] / head[1]).to(result.loss.dtype)
        # what the Trainer adds up on every process (loss.item() * size), summed over processes
        totals = [loss.item() * head[1].item(), head[1].item(), head[2].item()]
        return GlobalStepResult(loss, result.size, result.correct, totals=totals)


class ShardedTrainable(AveragedTrainable):
    """`AveragedTrainable` for a model sharded by FSDP, whose backward has already
    averaged the gradient shards (reduce-scatter): only the loss, the metrics and the
    buffers are made global."""

    averages_gradients = False


def average_gradients(params: list[nn.Parameter], size: int, group: dist.ProcessGroup | None = None) -> None:
    """Replace each parameter's gradient by its mean over the `size` processes of `group`
    (a collective; a parameter without a gradient here contributes zeros)."""
    for p in params:
        if p.grad is None:  # no gradient here, but on another process
            p.grad = torch.zeros_like(p)
    for grads in buckets([p.grad for p in params]):
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat, group=group)
        flat /= size
        unflatten(flat, grads)


def sync_buffers(model: nn.Module, src: int, group: dist.ProcessGroup | None = None) -> None:
    """Copy the floating-point buffers (batch-norm statistics) of global rank `src` to
    every process of `group` (a collective)."""
    for buffers in buckets([b for b in model.buffers() if b.is_floating_point()]):
        flat = torch.cat([b.reshape(-1) for b in buffers])
        dist.broadcast(flat, src, group=group)
        unflatten(flat, buffers)


def buckets(tensors: list[torch.Tensor]) -> list[list[torch.Tensor]]:
    """`tensors` grouped by dtype and device, in order, each group up to BUCKET_ELEMENTS
    values (a larger tensor is a bucket of its own)."""
    groups: dict[tuple, list[list[torch.Tensor]]] = {}
    for t in tensors:
        runs = groups.setdefault((t.dtype, t.device), [[]])
        if runs[-1] and sum(x.numel() for x in runs[-1]) + t.numel() > BUCKET_ELEMENTS:
            runs.append([])
        runs[-1].append(t)
    return [run for runs in groups.values() for run in runs if run]


def unflatten(flat: torch.Tensor, tensors: list[torch.Tensor]) -> None:
    """Copy the consecutive chunks of `flat` back into `tensors`."""
    for t, chunk in zip(tensors, flat.split([t.numel() for t in tensors])):
        t.copy_(chunk.view_as(t))
