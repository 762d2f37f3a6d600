"""Pipeline (model) parallelism (`distributed.strategy: pipeline`): the model is cut into S
stages (axon.dist.stages), one per process, and each batch is split into M micro-batches
that flow through the stages under PyTorch's own GPipe or 1F1B schedule
(`torch.distributed.pipelining`). With `data_parallel: D` there are D such pipelines
(S x D processes); the D copies of a stage average their gradients after every step.

Process layout: global rank r runs stage r % S of pipeline (data replica) r // S, so the
stages of one pipeline are neighbours on a node.

The micro-batches are `tensor_split` chunks of the batch, as gradient accumulation makes
them, and each chunk's loss is weighted by its share of the batch, so a pipeline step
gives the gradient one process gives with `grad_accum: M`. Where the chunks differ in size
(a last, smaller batch) each run of equal chunks goes through the pipeline in turn (GPipe
for a run shorter than S, which 1F1B cannot schedule); the gradient is the same."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, Iterator

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.pipelining import PipelineStage, Schedule1F1B, ScheduleGPipe

from axon.dist.group import collective, comm_device
from axon.dist.trainable import GlobalStepResult, average_gradients, sync_buffers
from axon.train.trainable import LossFn, StepResult, count_correct

SCHEDULES = {"gpipe": ScheduleGPipe, "1f1b": Schedule1F1B}


@dataclass(frozen=True)
class Layout:
    """Where global rank `rank` sits among `stages` x `replicas` processes."""

    stages: int
    replicas: int
    rank: int

    @property
    def stage(self) -> int:
        return self.rank % self.stages

    @property
    def replica(self) -> int:
        return self.rank // self.stages

    def pipeline_ranks(self, replica: int) -> list[int]:
        return [replica * self.stages + s for s in range(self.stages)]

    def data_ranks(self, stage: int) -> list[int]:
        return [d * self.stages + stage for d in range(self.replicas)]

    @property
    def last_rank(self) -> int:
        """Global rank of this pipeline's last stage."""
        return self.pipeline_ranks(self.replica)[-1]


@dataclass
class Groups:
    """This process's pipeline group (its replica's stages; None: the whole world) and
    data group (the copies of its stage; None when there is one replica)."""

    pipeline: dist.ProcessGroup | None
    data: dist.ProcessGroup | None


def make_groups(layout: Layout, timeout: float) -> Groups:
    """The process groups of `layout` (a collective: every process makes every group)."""
    if layout.replicas == 1:
        return Groups(None, None)
    wait = timedelta(seconds=timeout)
    pipeline = data = None
    for replica in range(layout.replicas):
        group = dist.new_group(layout.pipeline_ranks(replica), timeout=wait)
        if replica == layout.replica:
            pipeline = group
    for stage in range(layout.stages):
        group = dist.new_group(layout.data_ranks(stage), timeout=wait)
        if stage == layout.stage:
            data = group
    return Groups(pipeline, data)


def probe(module: nn.Module, shape: tuple[int, ...], dtype: torch.dtype, device: torch.device):
    """(shape, dtype) per sample of `module`'s output for one sample of `shape`, from a
    forward in eval mode without gradients (no statistics or generator is touched)."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            out = module(torch.zeros((1, *shape), dtype=dtype, device=device))
    finally:
        module.train(was_training)
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"pipeline stage {type(module).__name__}: expected one output tensor, got {type(out).__name__}")
    return tuple(out.shape[1:]), out.dtype


def chunk_runs(total: int, chunks: int) -> list[tuple[int, int]]:
    """The micro-batches of a batch of `total` split `chunks` ways (torch.tensor_split) as
    runs (count, size) of equal, non-empty chunks, in order."""
    runs: list[tuple[int, int]] = []
    for size in (len(c) for c in torch.arange(total).tensor_split(chunks)):
        if size == 0:
            continue
        if runs and runs[-1][1] == size:
            runs[-1] = (runs[-1][0] + 1, size)
        else:
            runs.append((1, size))
    return runs


class PipelineRunner:
    """Runs one stage of a pipeline: the schedules (one per kind of run: training or
    evaluation, number and size of micro-batches, input sample shape) are made when first
    needed, after the per-sample shapes at the stage boundaries are passed down the
    pipeline once per input shape (so PyTorch's stages get static shapes and never run
    a forward of their own to infer them)."""

    def __init__(self, module: nn.Module, layout: Layout, groups: Groups, device: torch.device,
                 microbatches: int, schedule: str, loss_fn: LossFn):
        self.module, self.layout, self.groups, self.device = module, layout, groups, device
        self.microbatches, self.schedule_name = microbatches, schedule
        self.loss_fn = loss_fn
        self._boundaries: dict[tuple, tuple] = {}
        self._schedules: dict[tuple, object] = {}
        self._total = 1  # samples in the current batch (weights each chunk's loss)
        self._parts: list[torch.Tensor] = []  # each chunk's loss * its size, this step

    @property
    def is_first(self) -> bool:
        return self.layout.stage == 0

    @property
    def is_last(self) -> bool:
        return self.layout.stage == self.layout.stages - 1

    def _boundary(self, sample_shape: tuple[int, ...], dtype: torch.dtype) -> tuple:
        """(input shape, input dtype, output shape, output dtype) per sample of this stage
        for pipeline inputs of `sample_shape` (a chain of messages down the pipeline)."""
        key = (sample_shape, dtype)
        if key not in self._boundaries:
            ranks = self.layout.pipeline_ranks(self.layout.replica)
            if self.is_first:
                entering = (sample_shape, dtype)
            else:
                box = [None]
                dist.recv_object_list(box, src=ranks[self.layout.stage - 1], group=self.groups.pipeline,
                                      device=comm_device())
                entering = box[0]
            leaving = probe(self.module, *entering, self.device)
            if not self.is_last:
                dist.send_object_list([leaving], dst=ranks[self.layout.stage + 1], group=self.groups.pipeline,
                                      device=comm_device())
            self._boundaries[key] = (*entering, *leaving)
        return self._boundaries[key]

    def _weighted_loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        loss = self.loss_fn(outputs, targets)
        self._parts.append(loss.detach().float() * len(targets))
        return loss * (len(targets) / self._total)

    def _schedule(self, train: bool, count: int, size: int, sample_shape: tuple[int, ...], dtype: torch.dtype):
        key = (train, count, size, sample_shape, dtype)
        if key not in self._schedules:
            in_shape, in_dtype, out_shape, out_dtype = self._boundary(sample_shape, dtype)
            # received activations and outputs carry gradients when training
            entering = torch.empty((size, *in_shape), dtype=in_dtype, device="meta")
            leaving = torch.empty((size, *out_shape), dtype=out_dtype, device="meta")
            entering.requires_grad_(train and not self.is_first and in_dtype.is_floating_point)
            leaving.requires_grad_(train and out_dtype.is_floating_point)
            stage = PipelineStage(self.module, self.layout.stage, self.layout.stages, self.device,
                                  input_args=entering, output_args=leaving, group=self.groups.pipeline)
            kind = SCHEDULES[self.schedule_name] if train and count >= self.layout.stages else ScheduleGPipe
            self._schedules[key] = kind(stage, count, loss_fn=self._weighted_loss if train else None,
                                        scale_grads=False)
        return self._schedules[key]

    def run(self, inputs: torch.Tensor, targets: torch.Tensor, train: bool) -> list[float]:
        """One batch through the pipeline (forward and backward when `train`, leaving the
        gradient of the batch's mean loss in this stage's parameters); returns the batch's
        [loss sum, samples, correct] on every stage of the pipeline (correct NaN when the
        task is not classification)."""
        total = len(targets)
        self._total, self._parts = total, []
        outputs, start = [], 0
        for count, size in chunk_runs(total, self.microbatches):
            stop = start + count * size
            schedule = self._schedule(train, count, size, tuple(inputs.shape[1:]), inputs.dtype)
            args = (inputs[start:stop],) if self.is_first else ()
            target = targets[start:stop] if train and self.is_last else None
            outputs.append(schedule.step(*args, target=target) if train else schedule.step(*args))
            start = stop
        sums = torch.zeros(3, dtype=torch.float64, device=comm_device())
        if self.is_last:
            merged = torch.cat(outputs).detach()
            if train:  # summed in order, in float32, as one process's gradient accumulation does
                loss_sum = self._parts[0]
                for part in self._parts[1:]:
                    loss_sum = loss_sum + part
                sums[0] = float(loss_sum)
            else:
                sums[0] = self.loss_fn(merged.float(), targets).item() * total
            right = count_correct(merged, targets)
            sums[1], sums[2] = total, float("nan") if right is None else float(right)
        dist.broadcast(sums, self.layout.last_rank, group=self.groups.pipeline)
        return sums.tolist()


class PipelineTrainable:
    """The Trainable of one stage: `step(batch)` runs the batch through the pipeline,
    then (with data parallelism) averages this stage's gradients over the copies of the
    stage and copies replica 0's buffers to them. Every process gets the step's loss and
    accuracy: its own pipeline's as the StepResult, all pipelines' as `totals`."""

    def __init__(self, runner: PipelineRunner, loader, device: torch.device, timeout: float,
                 to_device: Callable):
        self.runner, self.loader, self.device, self.timeout = runner, loader, device, timeout
        self.model = runner.module
        self.to_device = to_device

    def __iter__(self) -> Iterator:
        for batch in self.loader:
            yield self.to_device(batch)

    def __len__(self) -> int:
        return len(self.loader)

    def step(self, batch) -> StepResult:
        inputs, targets = batch
        layout, groups = self.runner.layout, self.runner.groups
        with collective(f"the pipeline step of stage {layout.stage} (batch of {len(targets)})", self.timeout):
            loss_sum, size, correct = self.runner.run(inputs, targets, train=True)
            totals = [loss_sum, size, correct]
            if layout.replicas > 1:
                head = torch.tensor(totals, dtype=torch.float64, device=comm_device())
                dist.all_reduce(head, group=groups.data)
                totals = head.tolist()
                params = [p for p in self.model.parameters() if p.requires_grad]
                average_gradients(params, layout.replicas, groups.data)
                sync_buffers(self.model, layout.data_ranks(layout.stage)[0], groups.data)
        loss = torch.tensor(loss_sum, dtype=torch.float32) / int(size)
        right = None if correct != correct else torch.tensor(int(correct))
        return GlobalStepResult(loss, int(size), right, totals=totals)
