"""The image input pipeline against what training consumes, on this machine.

1. images/s that the image_folder loader delivers per DataLoader worker: decode (JPEG),
   ImageNet-style augmentation (random resized crop to 224, flip, colour jitter; kornia)
   and normalisation, for generated 256x256 JPEGs; with 1 worker and in-process (0).
2. images/s that GoogLeNet consumes at 224 px (forward + backward, batch --batch), in
   the same process: their ratio is the number of workers that keeps it fed.
3. data_wait of a real image-folder run (`axon.run.start_run`) of the digits-sized CNN
   (digits-cnn on 8x8 grey PNGs) with the default number of workers (data.num_workers
   auto): the fraction of the epoch spent waiting for data, target < 10%; with the
   default decoded-image cache and, side by side, without it (data.cache false).

    python benchmarks/input_pipeline.py [--images 256] [--batch 16] [--threads N] [--digits 3000]
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

from axon.threads import sleep_while_waiting

sleep_while_waiting()  # as the axon command does: waiting OpenMP threads sleep (before torch loads)

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader

from axon import zoo
from axon.bench.timing import forward_backward, time_rounds
from axon.data import build_dataset
from axon.data.augment import AugmentedDataset, build_augmentation
from axon.run import start_run, validate_config
from axon.run.data import decode_into_memory, load_data, worker_count


def write_folder(root: Path, classes: int, per_class: int, size: int, mode: str, suffix: str) -> Path:
    """Random-textured images in root/<class>/ (seeded)."""
    rng = np.random.default_rng(0)
    channels = 3 if mode == "RGB" else 1
    for c in range(classes):
        (root / f"c{c}").mkdir(parents=True)
        for i in range(per_class):
            base = rng.integers(0, 256, (size // 8 + 1, size // 8 + 1, channels), dtype=np.uint8)
            pixels = np.kron(base, np.ones((8, 8, 1), dtype=np.uint8))[:size, :size]
            image = Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode)
            image.save(root / f"c{c}" / f"{i:05d}{suffix}", quality=90)
    return root


def loader_rate(dataset, workers: int, batch: int) -> float:
    """Images/s of one pass over `dataset` (after a warm-up batch) with `workers` processes."""
    loader = DataLoader(dataset, batch_size=batch, shuffle=False, num_workers=workers)
    batches = iter(loader)
    next(batches)
    start, seen = time.perf_counter(), 0
    for x, _ in batches:
        seen += len(x)
    return seen / (time.perf_counter() - start)


def googlenet_rate(batch: int) -> float:
    torch.manual_seed(0)
    model = zoo.create("googlenet", num_classes=10)
    x = torch.randn(batch, 3, 224, 224)
    rounds = time_rounds({"googlenet": forward_backward(model, x)}, 2, warmup=1)
    return batch / min(rounds["googlenet"])


def digits_run_data_wait(root: Path, out: Path, cache: bool | str = "auto") -> tuple[float, int, float]:
    """(data_wait of the last epoch, loader workers, samples/s) of digits-cnn on an image
    folder. `cache`: image_folder's decoded-image cache (auto: the images are decoded once,
    before training, and the epochs read memory; False: decoded in workers every epoch)."""
    name = f"pipe-cache-{cache}"
    config = validate_config({"model": {"name": "digits-cnn"}, "epochs": 2, "out": str(out), "name": name,
                              "data": {"name": "image_folder", "root": str(root), "mode": "L",
                                       "test_fraction": 0.1, "cache": cache}})
    start_run(config, progress=False)
    rows = list(csv.DictReader((out / name / "metrics.csv").open()))
    splits = load_data(config.data)  # the workers the run used, found as the run finds them
    decode_into_memory(config.data, splits, progress=False)
    return float(rows[-1]["data_wait"]), worker_count(config.data, splits.train), float(rows[-1]["samples_per_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=256, help="256x256 JPEGs for the loader measurement")
    parser.add_argument("--batch", type=int, default=16, help="GoogLeNet batch")
    parser.add_argument("--digits", type=int, default=3000, help="8x8 PNGs of the digits-sized run")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        photos = write_folder(tmp / "photos", 8, max(1, args.images // 8), 256, "RGB", ".jpg")
        splits = build_dataset("image_folder", root=str(photos), resize=256, crop=224, val_fraction=0.25,
                               normalize="imagenet")
        augmented = AugmentedDataset(splits.train, build_augmentation({"recipe": "imagenet"}, splits.input_shape))
        rates = {w: loader_rate(augmented, w, 16) for w in (0, 1)}
        consumes = googlenet_rate(args.batch)
        digits = write_folder(tmp / "digits", 10, max(1, args.digits // 10), 8, "L", ".png")
        runs = {cache: digits_run_data_wait(digits, tmp / "runs", cache) for cache in (False, "auto")}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print(f"image_folder loader, JPEG 256x256 -> imagenet augmentation -> 224x224: "
          f"{rates[0]:.1f} images/s in-process, {rates[1]:.1f} images/s with 1 worker")
    print(f"GoogLeNet 224 px forward + backward, batch {args.batch}: {consumes:.1f} images/s")
    print(f"workers needed to keep GoogLeNet fed: {consumes / rates[1]:.2f} (consumed / delivered per worker)")
    for cache, (wait, workers, samples_per_s) in runs.items():
        print(f"digits-cnn on an image folder of {args.digits} 8x8 PNGs, data.cache {str(cache).lower()}, default "
              f"workers ({workers}): data_wait {wait:.1%} of the last epoch ({samples_per_s:.0f} samples/s)")
    wait = runs["auto"][0]
    print(f"decoded once (cache auto) / decoded every epoch (cache false): "
          f"{runs['auto'][2] / runs[False][2]:.2f}x the samples/s; data_wait target < 10% with the defaults: "
          f"{'met' if wait < 0.10 else 'NOT met'}")


if __name__ == "__main__":
    main()
