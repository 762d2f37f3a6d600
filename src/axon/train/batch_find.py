"""Find a batch size: on a GPU the largest batch that fits in memory (doubling until
out of memory, then bisection between the last fit and the first failure); on a CPU the
batch with the best training throughput (samples/s), from a doubling sweep that stops
once throughput has not improved for two doublings.

Each trial runs full training steps (forward, backward, optimizer step) on real samples
of the data, one untimed warm-up step and then `steps` timed ones. The model's weights
and buffers are restored afterwards."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset, default_collate

from axon.train.config import OptimizerConfig
from axon.train.optim import build_optimizer
from axon.train.trainable import LossFn, Trainable, to_device


@dataclass
class Trial:
    batch_size: int
    samples_per_s: float | None  # None: out of memory


@dataclass
class BatchFindResult:
    """`best` is the largest fitting batch (mode "memory", GPU) or the fastest one
    (mode "throughput", CPU); `trials` in the order they ran."""

    best: int
    mode: str
    device: str
    trials: list[Trial]
    limit: int


def _is_out_of_memory(err: BaseException) -> bool:
    return isinstance(err, torch.OutOfMemoryError) or "out of memory" in str(err).lower()


def largest_fitting(try_batch: Callable[[int], float], start: int, limit: int) -> tuple[int, list[Trial]]:
    """The largest batch size in [start, limit] for which `try_batch(size)` (returning
    samples/s) does not run out of memory: double from `start` until a failure or
    `limit`, then bisect between the last success and the first failure."""
    trials: list[Trial] = []

    def fits(size: int) -> bool:
        try:
            trials.append(Trial(size, try_batch(size)))
            return True
        except RuntimeError as err:  # torch.OutOfMemoryError is one
            if not _is_out_of_memory(err):
                raise
            trials.append(Trial(size, None))
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            return False

    if not fits(start):
        raise ValueError(f"batch-find: even the starting batch of {start} runs out of memory")
    good, bad = start, None
    while bad is None and good < limit:
        size = min(2 * good, limit)
        if fits(size):
            good = size
        else:
            bad = size
    while bad is not None and bad - good > 1:
        middle = (good + bad) // 2
        if fits(middle):
            good = middle
        else:
            bad = middle
    return good, trials


def fastest(try_batch: Callable[[int], float], start: int, limit: int, patience: int = 2) -> tuple[int, list[Trial]]:
    """The batch size of best samples/s among start, 2 start, 4 start, ... up to `limit`
    (the limit itself included), stopping once `patience` doublings in a row brought no
    improvement."""
    trials: list[Trial] = []
    best, best_rate, worse = start, -1.0, 0
    size = start
    while True:
        rate = try_batch(size)
        trials.append(Trial(size, rate))
        if rate > best_rate:
            best, best_rate, worse = size, rate, 0
        else:
            worse += 1
        if size >= limit or worse >= patience:
            return best, trials
        size = min(2 * size, limit)


class _StepTimer:
    """samples/s of training steps of `model` at a given batch size, on samples of `data`."""

    def __init__(self, model: nn.Module, data: Dataset, loss_fn: LossFn, optimizer: OptimizerConfig,
                 device: torch.device, steps: int, limit: int):
        self.model, self.loss_fn, self.optimizer_config = model, loss_fn, optimizer
        self.device, self.steps = device, steps
        count = min(len(data), limit)
        if isinstance(data, TensorDataset):
            self.pool = [t[:count] for t in data.tensors]
        else:
            self.pool = list(default_collate([data[i] for i in range(count)]))

    def batch(self, size: int):
        index = torch.arange(size) % len(self.pool[0])
        return to_device(tuple(t[index] for t in self.pool), self.device)

    def __call__(self, size: int) -> float:
        optimizer = build_optimizer(self.model, self.optimizer_config)
        trainable = Trainable(self.model, self.loss_fn, (), self.device)
        batch = self.batch(size)
        try:
            for step in range(self.steps + 1):
                if step == 1:  # the first step warms up (allocation, kernel selection)
                    self._sync()
                    start = time.perf_counter()
                optimizer.zero_grad(set_to_none=True)
                trainable.step(batch)
                optimizer.step()
            self._sync()
            return size * self.steps / (time.perf_counter() - start)
        finally:
            del batch, optimizer
            self.model.zero_grad(set_to_none=True)

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def batch_find(model: nn.Module, data: Dataset | tuple, loss_fn: LossFn, optimizer: OptimizerConfig | None = None,
               *, device: torch.device | str = "cpu", start: int = 8, max_batch: int | None = None,
               steps: int = 5) -> BatchFindResult:
    """Largest fitting batch (GPU) or fastest batch (CPU) for training `model` on `data`
    (a Dataset of (input, target) or a tuple (X, y)). Batches go up to `max_batch`
    (default: the data set size; on a GPU a bigger batch than the data set can hold is
    of no use either). Samples repeat when a batch is larger than the data."""
    if isinstance(data, tuple):
        data = TensorDataset(*data)
    limit = len(data) if max_batch is None else max_batch
    if start < 1 or limit < start:
        raise ValueError(f"batch-find: expected 1 <= start <= max_batch, got start {start} and max_batch {limit}")
    if steps < 1:
        raise ValueError(f"batch-find steps: expected at least 1 timed step, got {steps}")
    optimizer = optimizer or OptimizerConfig()
    if optimizer.name == "lbfgs":
        raise ValueError("batch-find optimizer: lbfgs works on the full batch; batch-find times sgd or adamw steps")
    device = torch.device(device)
    model.to(device)
    saved = copy.deepcopy(model.state_dict())
    was_training = model.training
    model.train()
    timer = _StepTimer(model, data, loss_fn, optimizer, device, steps, limit)
    try:
        if device.type == "cuda":
            best, trials = largest_fitting(timer, start, limit)
            mode = "memory"
        else:
            best, trials = fastest(timer, start, limit)
            mode = "throughput"
    finally:
        model.load_state_dict(saved)
        model.train(was_training)
    return BatchFindResult(best, mode, str(device), trials, limit)


def format_trials(result: BatchFindResult) -> str:
    """The trials as a text table, the chosen batch marked."""
    lines = [f"{'batch':>8}  {'samples/s':>12}", f"{'-' * 8}  {'-' * 12}"]
    for trial in result.trials:
        rate = "out of memory" if trial.samples_per_s is None else f"{trial.samples_per_s:12.1f}"
        mark = "  <- best" if trial.batch_size == result.best and trial.samples_per_s is not None else ""
        lines.append(f"{trial.batch_size:>8}  {rate:>12}{mark}")
    return "\n".join(lines)
