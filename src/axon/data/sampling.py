"""Curriculum samplers: repeat-factor sampling (rare classes more often) and an
easy-to-hard ordering in stages.

Both keep the `ResumableSampler` contract: an epoch's order is a pure function of
(seed, epoch), `set_epoch(epoch, start)` restarts it at any position (exact mid-epoch
resume), and `rank`/`world_size` split it across processes. Both also keep every epoch
the same length, so a schedule stepped per batch (One Cycle) sees a fixed number of
steps per epoch."""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import torch

from axon.data.samplers import ResumableSampler


def _as_vector(name: str, values, dtype: torch.dtype) -> torch.Tensor:
    vector = torch.as_tensor(values)
    if vector.ndim != 1 or len(vector) == 0:
        raise ValueError(f"{name}: expected a non-empty 1-D sequence (one value per sample), "
                         f"got shape {tuple(vector.shape)}")
    if dtype.is_floating_point:
        vector = vector.to(dtype)
        if not torch.isfinite(vector).all():
            raise ValueError(f"{name}: every value must be finite")
    elif vector.is_floating_point() or vector.dtype == torch.bool:
        raise ValueError(f"{name}: expected integer class labels, got dtype {vector.dtype}")
    return vector.to(dtype)


def repeat_factors(labels: Sequence[int] | torch.Tensor, threshold: float) -> torch.Tensor:
    """Per-sample repeat factor r_i = max(1, sqrt(t / f_c)), where f_c is the fraction of
    samples whose class is the class c of sample i and t is `threshold` (LVIS's
    repeat-factor sampling, Gupta et al. 2019, with one label per sample).

    labels: (N,) integer class of each sample. Returns (N,) float64 factors >= 1:
    classes rarer than the threshold fraction are repeated, the others kept once."""
    labels = _as_vector("repeat_factors labels", labels, torch.int64)
    if not threshold > 0 or not math.isfinite(threshold):
        raise ValueError(f"repeat_factors threshold: expected a class frequency t > 0, got {threshold}")
    _, inverse, counts = torch.unique(labels, return_inverse=True, return_counts=True)
    frequency = counts.to(torch.float64)[inverse] / len(labels)
    return torch.clamp(torch.sqrt(threshold / frequency), min=1.0)


class _EpochOrderSampler(ResumableSampler):
    """A ResumableSampler whose epoch order (before the split across processes) comes
    from `epoch_order(generator)`, a fixed-length index tensor."""

    epoch_length: int

    def epoch_order(self, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def _order(self) -> torch.Tensor:
        order = self.epoch_order(torch.Generator().manual_seed(self.seed * 100_003 + self.epoch))
        padding = -len(order) % self.world_size
        if padding:
            order = torch.cat([order, order[:padding]])
        return order[self.rank::self.world_size]

    def __len__(self) -> int:
        return (self.epoch_length + self.world_size - 1) // self.world_size


class RepeatFactorSampler(_EpochOrderSampler):
    """Each epoch, sample i appears floor(r_i) or ceil(r_i) times (stochastic rounding,
    drawn again every epoch) with r_i from `repeat_factors(labels, threshold)`; the
    repeated indices are shuffled.

    The rounding is systematic resampling: with the factors scaled to sum to the
    epoch length L = round(sum r_i) and laid end to end in a random order, sample i is
    taken once for every integer point of `u + k` (u uniform in [0, 1)) that falls in
    its segment. Each count is floor or ceil of its scaled factor, its expectation is
    exactly r_i * L / sum(r), within 0.5 / N of r_i, and every epoch has exactly L
    samples (so steps per epoch stay fixed).

    labels: (N,) class of each sample of the data set the loader reads."""

    def __init__(self, labels: Sequence[int] | torch.Tensor, threshold: float, seed: int = 0,
                 rank: int = 0, world_size: int = 1):
        self.factors = repeat_factors(labels, threshold)
        super().__init__(len(self.factors), seed=seed, shuffle=True, rank=rank, world_size=world_size)
        self.threshold = threshold
        self.epoch_length = max(1, round(float(self.factors.sum())))

    def epoch_counts(self, generator: torch.Generator) -> torch.Tensor:
        """(N,) int64 copies of each sample in the epoch drawn from `generator`."""
        order = torch.randperm(self.length, generator=generator)
        offset = torch.rand((), generator=generator, dtype=torch.float64)
        cumulative = torch.cumsum(self.factors[order], 0)
        cumulative = cumulative * (self.epoch_length / cumulative[-1])
        cumulative[-1] = self.epoch_length  # exact, so rounding error never drops the last sample
        ends = torch.floor(cumulative + offset)
        starts = torch.cat([torch.floor(offset).reshape(1), ends[:-1]])
        counts = torch.empty(self.length, dtype=torch.int64)
        counts[order] = (ends - starts).to(torch.int64)
        return counts

    def epoch_order(self, generator: torch.Generator) -> torch.Tensor:
        counts = self.epoch_counts(generator)
        repeated = torch.repeat_interleave(torch.arange(self.length), counts)
        return repeated[torch.randperm(len(repeated), generator=generator)]


def task_stages(tasks: Sequence[int] | torch.Tensor, start_epochs: Sequence[int]) -> dict[int, float]:
    """Stages for `CurriculumSampler` that add one task at a time, easiest task id first:
    stage k starts at `start_epochs[k]` and covers tasks 0..k (by sorted task id).

    tasks: (N,) integer task id of each sample (the difficulty score to pass with it).
    Returns {start epoch: fraction of the samples in tasks 0..k}."""
    tasks = _as_vector("task_stages tasks", tasks, torch.int64)
    ids, counts = torch.unique(tasks, return_counts=True)
    if len(start_epochs) != len(ids):
        raise ValueError(f"task_stages start_epochs: expected one start epoch per task ({len(ids)} tasks: "
                         f"{ids.tolist()}), got {len(start_epochs)}")
    cumulative = torch.cumsum(counts, 0).tolist()
    return {int(epoch): count / len(tasks) for epoch, count in zip(start_epochs, cumulative)}


class CurriculumSampler(_EpochOrderSampler):
    """Easy-to-hard curriculum in stages: from epoch e_i on, each epoch draws from the
    easiest fraction p_i of the data (lowest `difficulty`; ties by sample index).

    difficulty: (N,) per-sample difficulty score (lower is easier), or integer task ids
    to teach tasks from the lowest id up (see `task_stages`).
    stages: {start epoch: fraction in (0, 1]}, e.g. {0: 0.3, 2: 0.6, 4: 1.0}; the first
    stage must start at epoch 0 and the fractions must not decrease.

    Every epoch has N samples (or `epoch_length`): the stage's subset, shuffled, is
    repeated with a fresh shuffle each pass until the epoch is full, so early stages
    revisit the easy samples rather than shortening the epoch."""

    def __init__(self, difficulty: Sequence[float] | torch.Tensor, stages: Mapping[int, float], seed: int = 0,
                 rank: int = 0, world_size: int = 1, epoch_length: int | None = None):
        difficulty = _as_vector("CurriculumSampler difficulty", difficulty, torch.float64)
        super().__init__(len(difficulty), seed=seed, shuffle=True, rank=rank, world_size=world_size)
        self.stages = self._check_stages(stages)
        if epoch_length is not None and epoch_length < 1:
            raise ValueError(f"CurriculumSampler epoch_length: expected >= 1, got {epoch_length}")
        self.epoch_length = self.length if epoch_length is None else epoch_length
        self.ranking = torch.sort(difficulty, stable=True).indices  # easiest first

    @staticmethod
    def _check_stages(stages: Mapping[int, float]) -> list[tuple[int, float]]:
        if not stages:
            raise ValueError("CurriculumSampler stages: expected {start epoch: fraction}, got none")
        ordered = sorted((int(e), float(p)) for e, p in stages.items())
        if ordered[0][0] != 0:
            raise ValueError(f"CurriculumSampler stages: the first stage must start at epoch 0, "
                             f"got {ordered[0][0]}")
        previous = 0.0
        for epoch, fraction in ordered:
            if not 0.0 < fraction <= 1.0:
                raise ValueError(f"CurriculumSampler stages: epoch {epoch} has fraction {fraction}, "
                                 f"expected a fraction in (0, 1]")
            if fraction < previous:
                raise ValueError(f"CurriculumSampler stages: fraction {fraction} at epoch {epoch} is below the "
                                 f"previous stage's {previous} (stages go from easy to hard)")
            previous = fraction
        return ordered

    def fraction(self, epoch: int) -> float:
        """The fraction of the data that epoch `epoch` (0-based) draws from."""
        return [p for start, p in self.stages if start <= epoch][-1]

    def subset(self, epoch: int) -> torch.Tensor:
        """Indices of the easiest samples epoch `epoch` draws from (easiest first)."""
        size = max(1, math.ceil(self.fraction(epoch) * self.length - 1e-9))
        return self.ranking[:size]

    def epoch_order(self, generator: torch.Generator) -> torch.Tensor:
        subset = self.subset(self.epoch)
        passes = -(-self.epoch_length // len(subset))
        order = torch.cat([subset[torch.randperm(len(subset), generator=generator)] for _ in range(passes)])
        return order[:self.epoch_length]
