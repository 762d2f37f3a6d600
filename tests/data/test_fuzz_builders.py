"""Whole data sets built from mutated files: whatever a file holds, building the data set
and reading its items raises only axon's errors, naming a file or a data key."""

import io

import numpy as np
import pytest
from hypothesis import given

from axon.data import build_dataset
from axon.data.writers import cifar_bytes, idx_bytes
from axon.errors import AxonError

from .conftest import CIFAR10_NAMES, FUZZ, mutated

LABELS = idx_bytes((np.arange(40) % 4).astype(np.uint8))
IMAGES = idx_bytes(np.arange(40 * 9, dtype=np.uint8).reshape(40, 3, 3))
RECORDS = cifar_bytes(np.zeros((20, 3, 32, 32), np.uint8), np.arange(20) % 10)


def _npz():
    buffer = io.BytesIO()
    np.savez(buffer, x=np.arange(80, dtype=np.float32).reshape(40, 2), y=np.arange(40) % 4)
    return buffer.getvalue()


CSV = ("a,b,label\n" + "".join(f"{k},{k * 0.5},{'xyzw'[k % 4]}\n" for k in range(40))).encode()


def _build_and_read(name, **args):
    try:
        splits = build_dataset(name, **args)
        for dataset in (splits.train, splits.val, splits.test):
            if dataset is not None and len(dataset):
                dataset[0], dataset[len(dataset) - 1]
    except AxonError as err:
        assert "\n" not in str(err) and ("/" in str(err) or str(err).startswith("data."))


@pytest.mark.slow
@FUZZ
@given(labels=mutated(LABELS), images=mutated(IMAGES), records=mutated(RECORDS), npz=mutated(_npz()),
       table=mutated(CSV))
def test_mutated_files_give_only_axon_errors(tmp_path_factory, labels, images, records, npz, table):
    root = tmp_path_factory.getbasetemp() / "fuzz"
    root.mkdir(exist_ok=True)
    for prefix in ("train", "t10k"):
        (root / f"{prefix}-images-idx3-ubyte").write_bytes(images)
        (root / f"{prefix}-labels-idx1-ubyte").write_bytes(labels)
    for i in range(1, 6):
        (root / f"data_batch_{i}.bin").write_bytes(records if i == 1 else RECORDS)
    (root / "test_batch.bin").write_bytes(RECORDS)
    (root / "batches.meta.txt").write_text("\n".join(CIFAR10_NAMES))
    (root / "d.npz").write_bytes(npz)
    (root / "t.csv").write_bytes(table)
    _build_and_read("mnist", root=str(root), val_fraction=0.25)
    _build_and_read("cifar10", root=str(root), val_fraction=0.5)
    _build_and_read("arrays", train=str(root / "d.npz"), val_fraction=0.25)
    _build_and_read("csv", train=str(root / "t.csv"), val_fraction=0.25)
