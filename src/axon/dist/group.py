"""The process group of a data-parallel job: joining it from the launcher's environment,
collectives that fail with a clear message instead of hanging, and start-up checks that
every process runs the same config."""

from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
from datetime import timedelta
from typing import Iterator

import torch
import torch.distributed as dist

from axon.dist.errors import DistributedError
from axon.errors import ConfigError

ENV_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def launched() -> bool:
    """Whether this process was started by a torch.distributed launcher (torchrun, the
    elastic agent of `axon train --nproc`, Spark's TorchDistributor)."""
    return all(name in os.environ for name in ENV_VARS)


def resolve_backend(backend: str) -> str:
    """`auto` is nccl when CUDA is available, else gloo."""
    if backend == "auto":
        return "nccl" if torch.cuda.is_available() else "gloo"
    return backend


def process_device(backend: str) -> torch.device:
    """This process's device: cuda:LOCAL_RANK for nccl (one GPU per process), else cpu."""
    if backend != "nccl":
        return torch.device("cpu")
    local_rank, local_size = int(os.environ["LOCAL_RANK"]), int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    gpus = torch.cuda.device_count()
    if local_rank >= gpus:
        raise DistributedError(
            f"rank {os.environ['RANK']}: nccl needs one GPU per process, but this node runs "
            f"{local_size} processes and has {gpus} GPUs (use --nproc {gpus} or backend gloo)"
        )
    return torch.device("cuda", local_rank)


def join(backend: str = "auto", timeout: float = 300.0) -> torch.device:
    """Join the job's process group (from RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT);
    returns this process's device. `timeout` (seconds) bounds every later collective."""
    missing = [name for name in ENV_VARS if name not in os.environ]
    if missing:
        raise DistributedError(
            f"not started by a torch.distributed launcher: {', '.join(missing)} not set "
            f"(use axon train --nproc N, torchrun or axon spark-train)"
        )
    backend = resolve_backend(backend)
    device = process_device(backend)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    address = f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}"
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    try:
        # The launcher's agent hosts the store (else rank 0 does). A static rendezvous keeps
        # one store across restarts, so each attempt gets its own key prefix: a restarted
        # process must never read an address the previous attempt left there.
        agent_store = os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True"
        store = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), world_size,
                              is_master=not agent_store and rank == 0, timeout=timedelta(seconds=timeout),
                              multi_tenant=not agent_store)
        attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
        dist.init_process_group(backend, store=dist.PrefixStore(f"axon/attempt_{attempt}", store),
                                rank=rank, world_size=world_size, timeout=timedelta(seconds=timeout))
    except (RuntimeError, ValueError) as err:
        raise DistributedError(
            f"rank {os.environ['RANK']}: cannot join the process group at {address} within "
            f"{timeout:g} s ({first_line(err)})"
        ) from None
    return device


def leave() -> None:
    """Leave the process group (if joined)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


@contextmanager
def collective(what: str, timeout: float) -> Iterator[None]:
    """Turn a collective's timeout or a lost peer into a DistributedError naming this
    rank, `what` was being done and the timeout (config: distributed.timeout)."""
    try:
        yield
    except RuntimeError as err:
        rank = dist.get_rank() if dist.is_initialized() else "?"
        text = str(err).lower()
        if "timed out" in text or "timeout" in text:
            raise DistributedError(
                f"rank {rank}: {what} did not complete within {timeout:g} s (distributed.timeout); "
                f"another process is stuck or gone ({first_line(err)})"
            ) from None
        if "connection" in text or "peer" in text or "broken pipe" in text:
            raise DistributedError(f"rank {rank}: {what} failed: another process is gone ({first_line(err)})") from None
        raise


def comm_device() -> torch.device:
    """Where collective tensors live: the current GPU for nccl, else the CPU."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def broadcast_text(text: str | None, timeout: float, src: int = 0) -> str:
    """Rank `src`'s `text` on every rank (others pass None)."""
    device = comm_device()
    data = (text or "").encode() if dist.get_rank() == src else b""
    length = torch.tensor([len(data)], dtype=torch.int64, device=device)
    with collective("broadcast of the run folder", timeout):
        dist.broadcast(length, src)
        buffer = torch.zeros(int(length.item()), dtype=torch.uint8, device=device)
        if dist.get_rank() == src:
            buffer.copy_(torch.frombuffer(bytearray(data), dtype=torch.uint8))
        dist.broadcast(buffer, src)
    return bytes(buffer.cpu().tolist()).decode()


def check_same_config(text: str, timeout: float) -> None:
    """Raise ConfigError on every rank when the processes were given different configs
    (compared by SHA-256 of `text`, the resolved config)."""
    digest = hashlib.sha256(text.encode()).digest()
    mine = torch.tensor([int.from_bytes(digest[i:i + 7], "big") for i in range(0, 28, 7)],
                        dtype=torch.int64, device=comm_device())
    gathered = [torch.zeros_like(mine) for _ in range(dist.get_world_size())]
    with collective("the start-up config check", timeout):
        dist.all_gather(gathered, mine)
    differ = [rank for rank, other in enumerate(gathered) if not torch.equal(other, gathered[0])]
    if differ:
        short = {rank: f"{int(gathered[rank][0]):014x}"[:12] for rank in [0, *differ]}
        raise ConfigError(
            f"config: the processes were started with different configs (hash {short[0]} on rank 0; "
            + ", ".join(f"{short[r]} on rank {r}" for r in differ)
            + "); start every node with the same config file and options"
        )
