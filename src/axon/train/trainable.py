"""Trainable: given a model's parameters and a source of data, measure the loss and its
gradient. The Trainer only asks a Trainable for gradients; data-parallel training is a
Trainable whose gradients are averaged across processes."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import torch
from torch import nn

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class StepResult:
    """One mini-batch: the loss (a detached scalar tensor), its size, and how many
    predictions were right (None when the task is not classification)."""

    loss: torch.Tensor
    size: int
    correct: torch.Tensor | None


def count_correct(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor | None:
    """Right top-1 predictions for logits (N, C) against class indices (N,), else None."""
    if not isinstance(outputs, torch.Tensor) or not isinstance(targets, torch.Tensor):
        return None
    outputs = outputs.detach()
    if outputs.ndim == 2 and targets.ndim == 1 and not targets.is_floating_point():
        return (outputs.argmax(dim=1) == targets).sum()
    return None


def to_device(batch, device: torch.device, channels_last: bool = False):
    """Move a batch (a tensor, or tuples, lists and dicts of them) to `device`; with
    `channels_last`, 4-D tensors are laid out (N, H, W, C) in memory."""
    if isinstance(batch, torch.Tensor):
        batch = batch.to(device, non_blocking=True)
        if channels_last and batch.ndim == 4:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch
    if isinstance(batch, dict):
        return {key: to_device(value, device, channels_last) for key, value in batch.items()}
    return type(batch)(to_device(b, device, channels_last) for b in batch)


def batch_length(targets) -> int:
    """Samples in a batch of targets: a tensor (N, ...), or a dict or tuple of them."""
    if isinstance(targets, torch.Tensor):
        return len(targets)
    first = next(iter(targets.values())) if isinstance(targets, dict) else targets[0]
    return len(first)


def split_batch(part, chunks: int) -> list:
    """A batch part (a tensor, or a tuple or dict of tensors) cut into `chunks` along the batch."""
    if isinstance(part, torch.Tensor):
        return list(part.tensor_split(chunks))
    if isinstance(part, dict):
        cut = {key: value.tensor_split(chunks) for key, value in part.items()}
        return [{key: pieces[i] for key, pieces in cut.items()} for i in range(chunks)]
    return [type(part)(pieces) for pieces in zip(*(t.tensor_split(chunks) for t in part))]


def run_model(model: nn.Module, inputs):
    """`model(inputs)`; a tuple or list of inputs is passed as separate arguments."""
    return model(*inputs) if isinstance(inputs, (tuple, list)) else model(inputs)


@dataclass
class Precision:
    """How forward passes run: autocast dtype (fp32: off), the fp16 loss scaler, and
    the memory layout of image batches."""

    device: torch.device
    dtype: str = "fp32"
    channels_last: bool = False
    scaler: torch.amp.GradScaler | None = None

    def autocast(self):
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.dtype)
        return nullcontext() if dtype is None else torch.autocast(self.device.type, dtype=dtype)

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()


class Trainable:
    """Loss and gradients of `model` over mini-batches `(inputs, targets)` of `loader`.

    `step(batch)` runs forward and backward and leaves the gradients of the batch's mean
    loss in the parameters, computed in `micro_batches` chunks (gradient accumulation);
    iterating the Trainable yields the loader's batches on the model's device."""

    def __init__(self, model: nn.Module, loss_fn: LossFn, loader: Iterable, device: torch.device,
                 precision: Precision | None = None, micro_batches: int = 1):
        self.model = model
        self.loss_fn = loss_fn
        self.loader = loader
        self.device = device
        self.precision = precision or Precision(device)
        self.micro_batches = micro_batches

    def __iter__(self) -> Iterator:
        for batch in self.loader:
            yield to_device(batch, self.device, self.precision.channels_last)

    def __len__(self) -> int:
        return len(self.loader)

    def step(self, batch) -> StepResult:
        inputs, targets = batch
        k = self.micro_batches
        if k == 1:
            return self._accumulate([(inputs, targets)], batch_length(targets))
        return self._accumulate(zip(split_batch(inputs, k), split_batch(targets, k)), batch_length(targets))

    def _accumulate(self, pairs: Iterable, total: int) -> StepResult:
        """Backward of the mean loss over `total` samples, given as (inputs, targets) chunks."""
        loss_sum, seen, correct = None, 0, None
        for inputs, targets in pairs:
            size = batch_length(targets)
            if size == 0:
                continue
            with self.precision.autocast():
                outputs = run_model(self.model, inputs)
                loss = self.loss_fn(outputs, targets)
            share = size / total
            self.precision.backward(loss if share == 1 else loss * share)
            part = loss.detach().float() * size
            loss_sum = part if loss_sum is None else loss_sum + part
            seen += size
            right = count_correct(outputs, targets)
            correct = None if right is None else (right if correct is None else correct + right)
        return StepResult(loss_sum / seen, seen, correct)


class FullBatchTrainable(Trainable):
    """The whole data set as one step (for LBFGS): `step` leaves the gradient of the mean
    loss over every batch of the loader; iterating yields a single placeholder batch."""

    def __iter__(self) -> Iterator:
        yield None

    def __len__(self) -> int:
        return 1

    def step(self, batch=None) -> StepResult:
        return self._accumulate(super().__iter__(), len(self.loader.sampler))


@torch.no_grad()
def evaluate_totals(model: nn.Module, loss_fn: LossFn, loader: Iterable, device: torch.device,
                    precision: Precision | None = None) -> list[float]:
    """[loss sum, samples, correct] of `model` over `loader` in eval mode; correct is
    NaN when the task is not classification. Sums, so processes can add them up."""
    was_training = model.training
    model.eval()
    loss_sum, total, correct = 0.0, 0, 0.0
    for batch in loader:
        inputs, targets = to_device(batch, device, precision.channels_last if precision else False)
        with precision.autocast() if precision else nullcontext():
            outputs = run_model(model, inputs)
        outputs = outputs.float() if isinstance(outputs, torch.Tensor) else outputs
        size = batch_length(targets)
        loss_sum += loss_fn(outputs, targets).item() * size
        total += size
        right = count_correct(outputs, targets)
        correct = float("nan") if right is None else correct + int(right)
    model.train(was_training)
    return [loss_sum, float(total), correct]


@torch.no_grad()
def predict_outputs(model: nn.Module, loader: Iterable, device: torch.device,
                    precision: Precision | None = None) -> torch.Tensor:
    """The model's outputs (N, ...) for every batch of `loader`, in order, on the CPU, in
    float32, in eval mode. A batch is the inputs, or a tuple whose first item is (a tensor,
    or a tuple of the model's inputs)."""
    was_training = model.training
    model.eval()
    outputs = []
    for batch in loader:
        inputs = batch if isinstance(batch, torch.Tensor) else batch[0]
        inputs = to_device(inputs, device, precision.channels_last if precision else False)
        with precision.autocast() if precision else nullcontext():
            outputs.append(run_model(model, inputs).float().cpu())
    model.train(was_training)
    if not outputs:
        raise ValueError("predict: the data is empty")
    return torch.cat(outputs)


def means(totals: list[float]) -> dict[str, float]:
    """{"loss", "acc"} from [loss sum, samples, correct] (no acc when correct is NaN)."""
    loss_sum, total, correct = totals
    if total == 0:
        raise ValueError("evaluate: the data is empty")
    metrics = {"loss": loss_sum / total}
    if correct == correct:  # not NaN
        metrics["acc"] = correct / total
    return metrics


def evaluate(model: nn.Module, loss_fn: LossFn, loader: Iterable, device: torch.device) -> dict[str, float]:
    """Mean loss and (for classification) accuracy of `model` over `loader`, in eval mode."""
    return means(evaluate_totals(model, loss_fn, loader, device))
