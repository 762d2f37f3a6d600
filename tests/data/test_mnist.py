import gzip

import numpy as np
import pytest
import torch
from hypothesis import given

from axon.data import build_dataset, preprocessing_from_dict
from axon.data.idx import read_idx
from axon.data.writers import idx_bytes, write_idx
from axon.errors import DataError

from .conftest import FUZZ, mutated, write_mnist


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_round_trips_raw_and_gz(tmp_path, gz):
    arrays = write_mnist(tmp_path, gz=gz)
    splits = build_dataset("mnist", root=str(tmp_path), val_fraction=0.2)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (80, 20, 10)
    assert splits.input_shape == (1, 6, 6) and splits.classes == [str(d) for d in range(10)]
    images, labels = arrays["t10k"]
    for i in range(10):
        x, y = splits.test[i]
        assert x.dtype == torch.float32 and y.dtype == torch.int64 and int(y) == labels[i]
        assert torch.equal(x, torch.from_numpy(images[i]).float().unsqueeze(0) / 255)
        assert torch.equal(preprocessing_from_dict(splits.preprocessing)(images[i]), x)
    assert sorted(splits.train_targets.tolist() + splits.val.targets.tolist()) == sorted(arrays["train"][1])


def test_fashion_mnist_names_and_measured_normalisation(tmp_path):
    arrays = write_mnist(tmp_path)
    splits = build_dataset("fashion_mnist", root=str(tmp_path), normalize="measure")
    assert splits.classes[0] == "T-shirt/top" and splits.classes[9] == "Ankle boot"
    unit = arrays["train"][0].astype(np.float64) / 255
    assert splits.preprocessing["mean"] == pytest.approx([unit.mean()])
    assert splits.preprocessing["std"] == pytest.approx([unit.std(ddof=1)])
    x, _ = splits.test[0]
    expected = (torch.from_numpy(arrays["t10k"][0][0]).float() / 255 - unit.mean()) / unit.std(ddof=1)
    assert torch.allclose(x[0], expected.float(), atol=1e-6)


def test_other_idx_types_round_trip(tmp_path):
    values = np.arange(24, dtype=np.int32).reshape(2, 3, 4) - 5
    assert np.array_equal(read_idx(write_idx(tmp_path / "a.idx", values), 3), values)
    floats = np.linspace(0, 1, 6, dtype=np.float32).reshape(2, 3)
    assert np.array_equal(read_idx(write_idx(tmp_path / "f.idx.gz", floats), 2), floats)


def _damage(tmp_path, name, data):
    write_mnist(tmp_path)
    (tmp_path / name).write_bytes(data)
    with pytest.raises(DataError) as err:
        build_dataset("mnist", root=str(tmp_path))
    message = str(err.value)
    assert "\n" not in message
    return message


def test_wrong_magic(tmp_path):
    data = bytearray(idx_bytes(np.zeros((3, 6, 6), np.uint8)))
    data[3] = 1  # claims one dimension
    message = _damage(tmp_path, "train-images-idx3-ubyte", bytes(data))
    assert "train-images-idx3-ubyte: not an IDX file of 3 dimension(s): magic number 00000801" in message


def test_truncated_and_huge_headers_are_checked_against_the_file_size(tmp_path):
    data = idx_bytes(np.zeros((3, 6, 6), np.uint8))
    assert "the header says (3, 6, 6) values (124 bytes in all), but the file has 100 bytes" in \
        _damage(tmp_path, "train-images-idx3-ubyte", data[:100])
    huge = bytes([0, 0, 8, 3]) + np.asarray([2**31, 28, 28], ">u4").tobytes() + bytes(100)
    assert "(2147483648, 28, 28)" in _damage(tmp_path, "train-images-idx3-ubyte", huge)
    assert "file ends inside its header" in _damage(tmp_path, "train-images-idx3-ubyte", data[:9])


def test_huge_header_in_gzip(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").unlink()
    huge = bytes([0, 0, 8, 3]) + np.asarray([2**31, 28, 28], ">u4").tobytes() + bytes(1000)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(huge))
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: the header says .* the decompressed "
                                        r"stream holds 1000"):
        build_dataset("mnist", root=str(tmp_path))


def test_bad_gzip(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    good = gzip.compress(idx_bytes(np.zeros(10, np.uint8)))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(good[:-12] + b"garbage!")
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: damaged gzip stream"):
        build_dataset("mnist", root=str(tmp_path))


def test_labels_out_of_range_and_mismatched_lengths(tmp_path):
    labels = np.arange(100, dtype=np.uint8) % 10
    labels[7] = 12
    assert "train-labels-idx1-ubyte: label 12 at index 7 is out of range (expected 0..9" in \
        _damage(tmp_path, "train-labels-idx1-ubyte", idx_bytes(labels))
    assert "100 inputs but 99 labels" in _damage(tmp_path, "train-labels-idx1-ubyte", idx_bytes(labels[:99] % 10))


def test_missing_file_and_folder(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").unlink()
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte: no such file \\(nor t10k-images-idx3-ubyte.gz\\)"):
        build_dataset("mnist", root=str(tmp_path))
    with pytest.raises(DataError, match="no such data folder"):
        build_dataset("mnist", root=str(tmp_path / "nowhere"))


IMAGES = idx_bytes(np.arange(4 * 5 * 5, dtype=np.uint8).reshape(4, 5, 5))


@FUZZ
@given(data=mutated(IMAGES), gz=mutated(gzip.compress(IMAGES, mtime=0)))
def test_fuzzed_idx_files_raise_only_data_errors(tmp_path_factory, data, gz):
    folder = tmp_path_factory.getbasetemp()
    for name, content in (("fuzz-idx3-ubyte", data), ("fuzz-idx3-ubyte.gz", gz)):
        path = folder / name
        path.write_bytes(content)
        try:
            images = read_idx(path, 3)
        except DataError as err:
            assert str(path) in str(err)
        else:
            assert images.ndim == 3 and images.size * images.itemsize <= len(content) * 1100
