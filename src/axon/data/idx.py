"""The IDX file format (MNIST, Fashion-MNIST, EMNIST), raw or gzipped.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the values in C order, big-endian.
MNIST's images are `0x00000803` (uint8, 3 dims: N, H, W), its labels `0x00000801`
(uint8, 1 dim: N)."""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from axon.errors import DataError

TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
         0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
CHUNK = 1 << 24


def read_idx(path: str | Path, ndim: int) -> np.ndarray:
    """The array in the IDX file `path` (gzipped when it ends in .gz), which must have
    `ndim` dimensions; a DataError naming the file for a wrong magic number, a size that
    disagrees with the header, or a damaged gzip stream. Nothing is allocated from the
    header's sizes before the file is known to hold that many bytes."""
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as stream:
                return _parse(path, stream, ndim, None)
        with open(path, "rb") as stream:
            return _parse(path, stream, ndim, path.stat().st_size)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (gzip.BadGzipFile, zlib.error, EOFError) as err:
        raise DataError(f"{path}: damaged gzip stream ({err or type(err).__name__})") from None


def _parse(path: Path, stream, ndim: int, file_size: int | None) -> np.ndarray:
    magic = stream.read(4)
    if len(magic) < 4 or magic[:2] != b"\0\0" or magic[2] not in TYPES or magic[3] != ndim:
        raise DataError(f"{path}: not an IDX file of {ndim} dimension(s): magic number {magic.hex() or 'missing'}, "
                        f"expected 0000{0x08:02x}{ndim:02x} (or another IDX type code)")
    dtype = TYPES[magic[2]]
    header = stream.read(4 * ndim)
    if len(header) < 4 * ndim:
        raise DataError(f"{path}: file ends inside its header ({4 + len(header)} of {4 + 4 * ndim} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(header, ">u4"))
    size = math.prod(shape) * dtype.itemsize
    offset = 4 + 4 * ndim
    if file_size is not None:
        if file_size != offset + size:
            raise DataError(f"{path}: the header says {shape} values ({offset + size} bytes in all), "
                            f"but the file has {file_size} bytes")
        values = np.fromfile(stream, dtype=dtype, count=math.prod(shape))
    else:
        data = _read_at_most(stream, size + 1)
        if len(data) != size:
            raise DataError(f"{path}: the header says {shape} values ({size} data bytes), "
                            f"but the decompressed stream holds {len(data)}")
        values = np.frombuffer(data, dtype=dtype)
    return values.reshape(shape).astype(dtype.newbyteorder("="), copy=False)


def _read_at_most(stream, limit: int) -> bytearray:
    """Up to `limit` bytes of `stream`, read in chunks (memory grows with what is there)."""
    data = bytearray()
    while len(data) < limit:
        chunk = stream.read(min(CHUNK, limit - len(data)))
        if not chunk:
            break
        data += chunk
    return data
