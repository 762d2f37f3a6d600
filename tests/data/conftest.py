"""Small files in the real formats the readers read, and a byte-mutation strategy for
fuzzing them."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from axon.data.writers import write_cifar, write_idx

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))


@st.composite
def mutated(draw, base: bytes) -> bytes:
    """`base` with a few bytes overwritten, then maybe truncated and maybe extended."""
    data = bytearray(base)
    for _ in range(draw(st.integers(0, 4))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.booleans()):
        data += draw(st.binary(max_size=16))
    return bytes(data)


def write_mnist(root: Path, train: int = 100, test: int = 10, size: int = 6, gz: bool = False, seed: int = 0):
    """MNIST-layout IDX files in `root`; returns {prefix: (images (N, H, W), labels (N,))}."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for prefix, n in (("train", train), ("t10k", test)):
        images = rng.integers(0, 256, (n, size, size), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        suffix = ".gz" if gz else ""
        write_idx(root / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(root / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
        arrays[prefix] = images, labels
    return arrays


CIFAR10_NAMES = "airplane automobile bird cat deer dog frog horse ship truck".split()


def write_cifar10(root: Path, per_batch: int = 10, test: int = 10, seed: int = 0):
    """CIFAR-10 binary layout in `root`; returns (train images, train labels, test images, test labels)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    images = rng.integers(0, 256, (5 * per_batch + test, 3, 32, 32), dtype=np.uint8)
    labels = (np.arange(len(images)) % 10).astype(np.uint8)
    for i in range(5):
        part = slice(i * per_batch, (i + 1) * per_batch)
        write_cifar(root / f"data_batch_{i + 1}.bin", images[part], labels[part])
    write_cifar(root / "test_batch.bin", images[5 * per_batch:], labels[5 * per_batch:])
    (root / "batches.meta.txt").write_text("\n".join(CIFAR10_NAMES) + "\n\n")
    n = 5 * per_batch
    return images[:n], labels[:n], images[n:], labels[n:]


def write_cifar100(root: Path, train: int = 200, test: int = 40, seed: int = 0):
    """CIFAR-100 binary layout; returns (train images, train (coarse, fine), test images, test labels)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    images = rng.integers(0, 256, (train + test, 3, 32, 32), dtype=np.uint8)
    fine = (np.arange(train + test) % 100).astype(np.uint8)
    labels = np.stack([fine // 5, fine], axis=1).astype(np.uint8)
    write_cifar(root / "train.bin", images[:train], labels[:train])
    write_cifar(root / "test.bin", images[train:], labels[train:])
    (root / "fine_label_names.txt").write_text("\n".join(f"fine{k}" for k in range(100)) + "\n")
    (root / "coarse_label_names.txt").write_text("\n".join(f"coarse{k}" for k in range(20)) + "\n")
    return images[:train], labels[:train], images[train:], labels[train:]


@pytest.fixture
def mnist_folder(tmp_path):
    return tmp_path / "mnist", write_mnist(tmp_path / "mnist")
