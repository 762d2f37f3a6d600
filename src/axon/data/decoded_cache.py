"""Decoded images kept in shared memory, so each file is decoded once per run, not once per
epoch.

The cache is allocated in the main process before the DataLoader starts its workers; any
worker that decodes an item writes it there, and every process (workers of later epochs,
the main process) reads it back instead of decoding the file again. It holds the decoded
pixels (uint8, after resize and crop), so a cached item equals a decoded one bit for bit."""

from __future__ import annotations

import math
import os
import shutil

import torch

SHARED_MEMORY = "/dev/shm"
"""Where Linux keeps shared memory: torch's shared tensors count against this file system's size."""


def cache_budget() -> int:
    """Bytes a decoded-image cache may take: a quarter of the memory available now, and at
    most half of the free shared memory (a container's /dev/shm is often small)."""
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0
    budget = available // 4
    if os.path.isdir(SHARED_MEMORY):
        budget = min(budget, shutil.disk_usage(SHARED_MEMORY).free // 2)
    return budget


class DecodedCache:
    """`count` decoded items of `shape` (C, H, W) uint8 in shared memory, filled on first
    decode: `pixels` (count, C, H, W) uint8 and `filled` (count,) bool."""

    def __init__(self, count: int, shape: tuple[int, ...]):
        self.pixels = torch.empty((count, *shape), dtype=torch.uint8).share_memory_()
        self.filled = torch.zeros(count, dtype=torch.bool).share_memory_()

    @staticmethod
    def nbytes(count: int, shape: tuple[int, ...]) -> int:
        return count * math.prod(shape)

    def get(self, index: int) -> torch.Tensor | None:
        """Item `index` (C, H, W) uint8 (a view of the shared memory: read it, do not write
        to it), or None if it has not been decoded yet."""
        return self.pixels[index] if bool(self.filled[index]) else None

    def put(self, index: int, pixels: torch.Tensor) -> None:
        """Keep decoded item `index` (ignored unless uint8 of the cache's item shape)."""
        if pixels.dtype == torch.uint8 and pixels.shape == self.pixels.shape[1:]:
            self.pixels[index] = pixels
            self.filled[index] = True
