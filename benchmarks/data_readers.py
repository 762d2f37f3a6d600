"""Reader speed: axon's IDX (MNIST) and CIFAR binary readers loading a 60,000-image file,
in MB/s, against a plain `numpy.fromfile` of the same bytes in the same process (the
target is a ratio of at least 0.5). The files are generated in a temporary folder in the
real formats (axon.data.writers); each reader and its baseline alternate, and the median
of the repeats is reported. The gzipped IDX file is compared with `gzip.decompress` of
the same file (decompression, not the disk, is the limit there).

    python benchmarks/data_readers.py [--images 60000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from axon.data.cifar import read_records
from axon.data.idx import read_idx
from axon.data.writers import write_cifar, write_idx


def median_seconds(function, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def compare(name: str, path: Path, reader, baseline, baseline_name: str, repeats: int) -> None:
    size = path.stat().st_size
    reader(), baseline()  # warm the page cache and the code paths
    ours, base = [], []
    for _ in range(repeats):  # alternate, so load changes hit both alike
        ours += median_seconds(reader, 1)
        base += median_seconds(baseline, 1)
    ours_s, base_s = statistics.median(ours), statistics.median(base)
    mb = size / 1e6
    print(f"| {name} | {mb:.1f} | {mb / ours_s:.0f} | {mb / base_s:.0f} ({baseline_name}) | "
          f"**{base_s / ours_s:.2f}** |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=60_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        mnist = rng.integers(0, 256, (args.images, 28, 28), dtype=np.uint8)
        idx = write_idx(folder / "train-images-idx3-ubyte", mnist)
        idx_gz = write_idx(folder / "train-images-idx3-ubyte.gz", mnist)
        cifar_images = rng.integers(0, 256, (args.images, 3, 32, 32), dtype=np.uint8)
        cifar = write_cifar(folder / "data_batch_1.bin", cifar_images, np.arange(args.images) % 10)

        def cifar_reader():  # what the cifar10 reader keeps: image tensors viewing the records, int64 labels
            images, labels = read_records(cifar, 1, (10,))
            return torch.from_numpy(images), torch.from_numpy(labels[:, 0].astype(np.int64))

        print(f"{args.images} images; load average {os.getloadavg()[0]:.1f}; torch threads "
              f"{torch.get_num_threads()}; {args.repeats} alternating repeats, medians\n")
        print("| reader | file MB | axon MB/s | baseline MB/s | ratio (baseline time / axon time) |")
        print("| --- | ---: | ---: | ---: | ---: |")
        compare("IDX raw (read_idx)", idx, lambda: read_idx(idx, 3),
                lambda: np.fromfile(idx, dtype=np.uint8), "numpy.fromfile", args.repeats)
        compare("CIFAR binary (read_records, image and label tensors)", cifar, cifar_reader,
                lambda: np.fromfile(cifar, dtype=np.uint8), "numpy.fromfile", args.repeats)
        compare("IDX gzipped (read_idx)", idx_gz, lambda: read_idx(idx_gz, 3),
                lambda: gzip.decompress(idx_gz.read_bytes()), "gzip.decompress", args.repeats)
        assert np.array_equal(read_idx(idx, 3), mnist) and np.array_equal(cifar_reader()[0].numpy(), cifar_images)


if __name__ == "__main__":
    main()
