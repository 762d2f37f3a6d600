"""Writing into a run folder: a folder that cannot be written (read-only, a full disk)
is one RunDirError naming the file, before training starts where it can be known then."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from axon.errors import RunDirError


def check_writable(folder: str | Path) -> None:
    """Create `folder` if needed and make sure a file can be written in it."""
    folder = Path(folder)
    probe = folder / f".axon-write-test-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as f:
            f.write(b"x")
            os.fsync(f.fileno())
        probe.unlink()
    except OSError as err:
        raise RunDirError(f"{err.filename or folder}: the run folder cannot be written ({err.strerror})") from None


@contextmanager
def run_folder_errors(folder: str | Path | None):
    """Turn an OSError about a file inside `folder` into a RunDirError naming the file."""
    try:
        yield
    except OSError as err:
        name = err.filename
        if folder is None or name is None or not Path(os.path.abspath(name)).is_relative_to(os.path.abspath(folder)):
            raise
        raise RunDirError(f"{name}: cannot write into the run folder ({err.strerror})") from None
