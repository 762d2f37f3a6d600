"""Find processes by a marker in their environment (children inherit it)."""

import os
import uuid
from pathlib import Path


def new_marker() -> str:
    return f"AXON_TEST_MARK={uuid.uuid4().hex}"


def marked(marker: str) -> list[int]:
    """Pids of live processes (not this one) whose environment holds `marker`, except
    multiprocessing's resource tracker, a helper of this process that ends with it."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in environ.split(b"\0") and state != "Z" and b"resource_tracker" not in command:
            pids.append(int(entry.name))
    return pids
