"""Writers of the real formats the readers read (IDX, CIFAR binary), for generating test
data and benchmark files; each writes to a temporary name and renames, so no
half-written file is left behind."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from axon.data.idx import TYPES


def _atomic_write(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def idx_bytes(array: np.ndarray) -> bytes:
    """`array` as an IDX file: magic (0, 0, type code, ndim), big-endian uint32 dims, values."""
    codes = {dtype.newbyteorder(">"): code for code, dtype in TYPES.items()}
    big = array.astype(array.dtype.newbyteorder(">"))
    code = codes[big.dtype if big.dtype.itemsize > 1 else array.dtype]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + big.tobytes()


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write `array` (uint8 images (N, H, W) or labels (N,), or another IDX type) as an
    IDX file, gzipped when `path` ends in .gz."""
    path = Path(path)
    data = idx_bytes(array)
    _atomic_write(path, gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)
    return path


def cifar_bytes(images: np.ndarray, labels: np.ndarray) -> bytes:
    """CIFAR binary records: labels (N,) or (N, 2) uint8 (coarse, fine), then images
    (N, 3, 32, 32) uint8 channel-major."""
    labels = labels.reshape(len(labels), -1).astype(np.uint8)
    return np.concatenate([labels, images.reshape(len(images), -1).astype(np.uint8)], axis=1).tobytes()


def write_cifar(path: str | Path, images: np.ndarray, labels: np.ndarray) -> Path:
    """Write one CIFAR binary batch file (`data_batch_1.bin`, `test.bin`, ...)."""
    path = Path(path)
    _atomic_write(path, cifar_bytes(images, labels))
    return path
