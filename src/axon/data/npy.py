"""`.npy` and `.npz` arrays read without pickles, with the header's shape checked against
the bytes actually there before anything is allocated."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from axon.errors import DataError


def _check_header(stream, available: int, name: str) -> None:
    """Read the .npy header at the stream's position and check that its shape fits in
    `available` bytes; a DataError naming `name` otherwise."""
    start = stream.tell()
    try:
        version = np.lib.format.read_magic(stream)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(stream)
    except Exception as err:  # numpy raises ValueError, SyntaxError, ... on a bad header
        raise DataError(f"{name}: not a .npy array ({type(err).__name__}: {err})") from None
    if dtype.hasobject:
        raise DataError(f"{name}: holds Python objects (pickles are never loaded)")
    need = math.prod(shape) * dtype.itemsize
    have = available - (stream.tell() - start)
    if need != have:
        raise DataError(f"{name}: the header says shape {list(shape)} of {dtype} ({need} bytes), "
                        f"but {have} data bytes follow")


def load_npy(path: str | Path) -> np.ndarray:
    """The array in a `.npy` file; a DataError naming the file if it is not a complete one."""
    path = Path(path)
    try:
        with open(path, "rb") as stream:
            _check_header(stream, path.stat().st_size, str(path))
            stream.seek(0)
            return np.load(stream, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except DataError:
        raise
    except Exception as err:  # numpy raises ValueError, OSError, EOFError, ... on damaged files
        raise DataError(f"{path}: not a readable .npy array ({type(err).__name__}: {err})") from None


def load_npz(path: str | Path, keys: list[str]) -> list[np.ndarray]:
    """The arrays `keys` of a `.npz` file (zip of .npy members), each checked as above."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
            arrays = []
            for key in keys:
                if key not in members:
                    raise DataError(f"{path}: no array {key!r} (it has: {', '.join(sorted(members)) or 'none'})")
                name = f"{path}[{key}]"
                info = members[key]
                # zlib's deflate cannot expand more than about 1032-fold: a larger claim is a lie
                if info.compress_size > path.stat().st_size or info.file_size > 1032 * info.compress_size + 1024:
                    raise DataError(f"{name}: the archive claims {info.file_size} bytes from "
                                    f"{info.compress_size} compressed bytes (damaged)")
                with archive.open(members[key]) as stream:
                    _check_header(stream, members[key].file_size, name)
                with archive.open(members[key]) as stream:
                    arrays.append(np.lib.format.read_array(stream, allow_pickle=False))
            return arrays
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except DataError:
        raise
    except Exception as err:  # zipfile and numpy raise BadZipFile, ValueError, EOFError, ... on damage
        raise DataError(f"{path}: not a readable .npz archive ({type(err).__name__}: {err})") from None
