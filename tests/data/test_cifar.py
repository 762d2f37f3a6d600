import numpy as np
import pytest
import torch
from hypothesis import given

from axon.data import build_dataset, preprocessing_from_dict
from axon.data.cifar import read_records
from axon.data.writers import cifar_bytes
from axon.errors import ConfigError, DataError

from .conftest import CIFAR10_NAMES, FUZZ, mutated, write_cifar10, write_cifar100


def test_cifar10_round_trips_records(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    train_images, train_labels, test_images, test_labels = write_cifar10(folder)
    splits = build_dataset("cifar10", root=str(tmp_path), val_fraction=0.2)  # finds the archive's folder
    assert splits.classes == CIFAR10_NAMES and splits.input_shape == (3, 32, 32)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (40, 10, 10)
    x, y = splits.test[3]
    assert torch.equal(x, torch.from_numpy(test_images[3]).float() / 255) and int(y) == test_labels[3]
    record = (folder / "test_batch.bin").read_bytes()[3 * 3073:4 * 3073]
    assert record[0] == test_labels[3] and x[0, 0, 1] == record[2] / 255  # label byte, then red row-major
    assert x[2, 31, 31] == record[3072] / 255  # the last blue pixel ends the record
    assert torch.equal(preprocessing_from_dict(splits.preprocessing)(test_images[3].transpose(1, 2, 0)), x)


@pytest.mark.parametrize("labels, count, column", [("fine", 100, 1), ("coarse", 20, 0)])
def test_cifar100_fine_and_coarse(tmp_path, labels, count, column):
    _, train_labels, test_images, test_labels = write_cifar100(tmp_path)
    splits = build_dataset("cifar100", root=str(tmp_path), labels=labels, val_fraction=0.5, normalize="imagenet")
    assert len(splits.classes) == count and splits.classes[1] == f"{labels}1"
    assert torch.equal(splits.test.targets, torch.from_numpy(test_labels[:, column]).long())
    x, _ = splits.test[0]
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    assert torch.equal(x, (torch.from_numpy(test_images[0]).float() / 255 - mean) / std)
    with pytest.raises(ConfigError, match="data.labels"):
        build_dataset("cifar100", root=str(tmp_path), labels="medium")


def _error(tmp_path, name, data, reader="cifar10"):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(DataError) as err:
        build_dataset(reader, root=str(tmp_path))
    assert "\n" not in str(err.value)
    return str(err.value)


def test_damaged_cifar_files(tmp_path):
    images, labels, _, _ = write_cifar10(tmp_path)
    record = cifar_bytes(images[:10], labels[:10])
    assert "data_batch_2.bin: 30729 bytes is not a whole number of 3073-byte records" in \
        _error(tmp_path, "data_batch_2.bin", record[:-1])
    write_cifar10(tmp_path)
    bad = bytearray(record)
    bad[3073 * 4] = 10
    assert "data_batch_1.bin: label 10 at index 4 is out of range (expected 0..9" in \
        _error(tmp_path, "data_batch_1.bin", bytes(bad))
    write_cifar10(tmp_path)
    assert "batches.meta.txt: expected 10 class names, one per line, got 3" in \
        _error(tmp_path, "batches.meta.txt", b"a\nb\nc\n")
    (tmp_path / "batches.meta.txt").unlink()
    with pytest.raises(DataError, match="batches.meta.txt: no such file"):
        build_dataset("cifar10", root=str(tmp_path))
    with pytest.raises(DataError, match="no test_batch.bin here or in cifar-10-batches-bin/"):
        build_dataset("cifar10", root=str(tmp_path / "elsewhere"))


def test_damaged_cifar100(tmp_path):
    write_cifar100(tmp_path)
    bad = bytearray((tmp_path / "test.bin").read_bytes())
    bad[3074] = 20
    assert "test.bin: label 20 at index 1 is out of range (expected 0..19" in \
        _error(tmp_path, "test.bin", bytes(bad), "cifar100")
    assert "train.bin: 0 bytes" in _error(tmp_path, "train.bin", b"", "cifar100")


RECORDS = cifar_bytes(np.arange(2 * 3072).reshape(2, 3, 32, 32) % 256, np.array([[1, 7], [0, 3]]))


@FUZZ
@given(data=mutated(RECORDS))
def test_fuzzed_cifar_records_raise_only_data_errors(tmp_path_factory, data):
    path = tmp_path_factory.getbasetemp() / "fuzz.bin"
    path.write_bytes(data)
    try:
        images, labels = read_records(path, 2)
    except DataError as err:
        assert str(path) in str(err)
    else:
        assert images.shape == (len(data) // 3074, 3, 32, 32) and labels.shape == (len(images), 2)
