"""Samplers that resume mid-epoch and split an epoch across processes."""

from __future__ import annotations

from typing import Iterator

import torch
from torch.utils.data import Sampler


class ResumableSampler(Sampler[int]):
    """A seeded shuffle whose order is a function of (seed, epoch) alone, so an epoch can
    be restarted at any position: `set_epoch(e, start=k)` yields the epoch's order from
    its k-th index on.

    With `world_size` > 1 each process takes every world_size-th index of the epoch's
    order, starting at its `rank` (the order is padded by repetition to a multiple of
    world_size, as torch's DistributedSampler does), so N processes with batch B/N
    together see the same samples per step as one process with batch B."""

    def __init__(self, length: int, seed: int = 0, shuffle: bool = True, rank: int = 0, world_size: int = 1):
        if length <= 0:
            raise ValueError(f"sampler: the data set is empty (length {length})")
        if not 0 <= rank < world_size:
            raise ValueError(f"sampler: rank {rank} is not in [0, {world_size})")
        self.length, self.seed, self.shuffle = length, seed, shuffle
        self.rank, self.world_size = rank, world_size
        self.epoch = 0
        self.start = 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Make the next iteration epoch `epoch`'s order from this process's `start`-th index."""
        self.epoch, self.start = epoch, start

    def _order(self) -> torch.Tensor:
        if not self.shuffle:
            order = torch.arange(self.length)
        else:
            generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(self.length, generator=generator)
        padding = -self.length % self.world_size
        if padding:
            order = torch.cat([order, order[:padding]])
        return order[self.rank::self.world_size]

    def __iter__(self) -> Iterator[int]:
        return iter(self._order()[self.start:].tolist())

    def __len__(self) -> int:
        return (self.length + self.world_size - 1) // self.world_size
