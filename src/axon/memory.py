"""Refusing work that cannot fit: an estimate of the bytes a model needs is compared with
the memory free on its device before anything is allocated."""

from __future__ import annotations

import torch

from axon.errors import ConfigError


def available_bytes(device: str | torch.device = "cpu") -> int | None:
    """Free memory of `device` in bytes (CUDA: free device memory; CPU: the kernel's
    MemAvailable); None where it cannot be known (no /proc/meminfo)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def format_bytes(count: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def check_fits(needed: int, what: str, device: str | torch.device = "cpu") -> None:
    """A ConfigError naming `what` and the bytes when `needed` exceeds the free memory."""
    free = available_bytes(device)
    if free is not None and needed > free:
        raise ConfigError(f"{what}: needs about {format_bytes(needed)} of memory, but only "
                          f"{format_bytes(free)} is free on {torch.device(device)}; make it smaller")
