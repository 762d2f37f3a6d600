import io
import zipfile

import numpy as np
import pytest
import torch
from hypothesis import given

from axon.data import build_dataset, preprocessing_from_dict
from axon.data.csvfile import read_table
from axon.data.npy import load_npy, load_npz
from axon.errors import ConfigError, DataError

from .conftest import FUZZ, mutated


def _blobs(n=60, features=4, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    return (rng.normal(size=(n, features)) + y[:, None]).astype(np.float32), y.astype(np.int64)


def test_npz_and_npy_pairs_round_trip(tmp_path):
    x, y = _blobs()
    np.savez(tmp_path / "train.npz", x=x, y=y)
    np.save(tmp_path / "tx.npy", x[:9]), np.save(tmp_path / "ty.npy", y[:9])
    np.savez_compressed(tmp_path / "val.npz", x=x[:5], y=y[:5])
    splits = build_dataset("arrays", train=str(tmp_path / "train.npz"), val=str(tmp_path / "val.npz"),
                           test=[str(tmp_path / "tx.npy"), str(tmp_path / "ty.npy")], classes=["a", "b", "c"])
    assert splits.classes == ["a", "b", "c"] and splits.input_shape == (4,)
    assert len(splits.train) == 60 and len(splits.val) == 5 and torch.equal(splits.val[4][0], torch.from_numpy(x[4]))
    no_val = build_dataset("arrays", train=str(tmp_path / "train.npz"))
    assert len(no_val.train) == 54 and len(no_val.val) == 6 and no_val.test is None
    for i in range(9):
        assert torch.equal(splits.test[i][0], torch.from_numpy(x[i])) and int(splits.test[i][1]) == y[i]
    assert torch.equal(preprocessing_from_dict(splits.preprocessing)(x[0]), torch.from_numpy(x[0]))


def test_grey_uint8_images_with_divisor_and_measured_statistics(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (30, 5, 5), dtype=np.uint8)
    y = np.arange(30) % 3
    np.savez(tmp_path / "d.npz", images=x, targets=y)
    splits = build_dataset("arrays", train=str(tmp_path / "d.npz"), inputs="images", labels="targets",
                           divisor=255.0, normalize="measure", val_fraction=0.2)
    assert splits.input_shape == (1, 5, 5) and splits.classes == ["0", "1", "2"]
    unit = x / 255.0
    assert splits.preprocessing["mean"] == pytest.approx([unit.mean()])
    first = splits.train.values[0]
    assert torch.allclose(splits.train[0][0], (first.float() / 255 - unit.mean()) / unit.std(ddof=1), atol=1e-6)


def test_damaged_arrays(tmp_path):
    x, y = _blobs()
    np.savez(tmp_path / "short.npz", x=x, y=y[:-1])
    with pytest.raises(DataError, match="short.npz: 60 inputs but 59 labels"):
        build_dataset("arrays", train=str(tmp_path / "short.npz"))
    np.savez(tmp_path / "range.npz", x=x, y=y)
    with pytest.raises(DataError, match="range.npz: label 2 at index 2 is out of range \\(expected 0..1"):
        build_dataset("arrays", train=str(tmp_path / "range.npz"), classes=["a", "b"])
    np.savez(tmp_path / "nokey.npz", inputs=x, y=y)
    with pytest.raises(DataError, match="nokey.npz: no array 'x' \\(it has: inputs, y\\)"):
        build_dataset("arrays", train=str(tmp_path / "nokey.npz"))
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(DataError, match="obj.npy: holds Python objects"):
        load_npy(tmp_path / "obj.npy")
    nan = x.copy()
    nan[3, 1] = np.nan
    np.savez(tmp_path / "nan.npz", x=nan, y=y)
    with pytest.raises(DataError, match="nan.npz: the inputs hold NaN"):
        build_dataset("arrays", train=str(tmp_path / "nan.npz"))
    with pytest.raises(ConfigError, match="data.train: expected an .npz file or \\[inputs.npy, labels.npy\\]"):
        build_dataset("arrays", train=str(tmp_path / "x.csv"))


def test_npy_header_claiming_more_than_the_file_holds(tmp_path):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False, "shape": (2**31, 4096)})
    (tmp_path / "huge.npy").write_bytes(buffer.getvalue() + bytes(16))
    with pytest.raises(DataError, match=r"huge.npy: the header says shape \[2147483648, 4096\] of float32 "
                                        r"\(35184372088832 bytes\), but 16 data bytes follow"):
        load_npy(tmp_path / "huge.npy")


def test_csv_by_name_and_index_with_string_classes(tmp_path):
    (tmp_path / "train.csv").write_text("a,b,species\n" + "1,2,setosa\n3,4,virginica\n5,6,setosa\n" * 10)
    (tmp_path / "test.csv").write_text("a,b,species\n7,8,virginica\n")
    splits = build_dataset("csv", train=str(tmp_path / "train.csv"), test=str(tmp_path / "test.csv"),
                           label="species", val_fraction=0.2)
    assert splits.classes == ["setosa", "virginica"] and splits.input_shape == (2,)
    assert torch.equal(splits.test[0][0], torch.tensor([7.0, 8.0])) and int(splits.test[0][1]) == 1
    (tmp_path / "nohead.csv").write_text("".join(f"{k % 3},{k}.5,{2 * k}\n" for k in range(30)))
    splits = build_dataset("csv", train=str(tmp_path / "nohead.csv"), label=0, header=False, normalize="measure")
    assert splits.classes == ["0", "1", "2"]
    features = np.array([[k + 0.5, 2 * k] for k in range(30)])
    assert splits.preprocessing["mean"] == pytest.approx(features.mean(0).tolist())


def test_numeric_classes_sort_by_value(tmp_path):
    (tmp_path / "t.csv").write_text("x,y\n" + "".join(f"{k},{(k % 3) * 5}\n" for k in range(30)))
    assert build_dataset("csv", train=str(tmp_path / "t.csv")).classes == ["0", "5", "10"]


def test_damaged_csv(tmp_path):
    def error(text, **args):
        (tmp_path / "bad.csv").write_text(text)
        with pytest.raises((DataError, ConfigError)) as err:
            build_dataset("csv", train=str(tmp_path / "bad.csv"), **args)
        return str(err.value)

    assert "bad.csv:3: 2 columns, expected 3" in error("a,b,c\n1,2,x\n1,2\n")
    assert "bad.csv:2: feature column 1 holds 'oops', expected a number" in error("a,b,c\n1,oops,x\n")
    assert "bad.csv: no column 'kind' (columns: a, b, c)" in error("a,b,c\n1,2,x\n", label="kind")
    assert "bad.csv: holds no data rows" in error("a,b,c\n")
    assert "NaN or infinite" in error("a,b,c\n1,nan,x\n")
    assert "data.label" in error("a,b,c\n1,2,x\n", label=7)
    (tmp_path / "train.csv").write_text("a,b\n" + "1,x\n2,y\n" * 10)
    (tmp_path / "test.csv").write_text("a,b\n1,z\n")
    with pytest.raises(DataError, match="test.csv: label 'z' is not a class of the training file"):
        build_dataset("csv", train=str(tmp_path / "train.csv"), test=str(tmp_path / "test.csv"))


def _npz_bytes():
    buffer = io.BytesIO()
    np.savez(buffer, x=np.arange(12, dtype=np.float32).reshape(3, 4), y=np.arange(3))
    return buffer.getvalue()


def _npy_bytes():
    buffer = io.BytesIO()
    np.save(buffer, np.arange(12, dtype=np.int16).reshape(3, 4))
    return buffer.getvalue()


CSV = b"f1,f2,label\n0.5,1,cat\n2,3e2,dog\n-1,0,cat\n"


@FUZZ
@given(npz=mutated(_npz_bytes()), npy=mutated(_npy_bytes()), table=mutated(CSV))
def test_fuzzed_array_and_csv_files_raise_only_data_errors(tmp_path_factory, npz, npy, table):
    folder = tmp_path_factory.getbasetemp()
    for name, content, read in (("f.npz", npz, lambda p: load_npz(p, ["x", "y"])), ("f.npy", npy, load_npy),
                                ("f.csv", table, lambda p: read_table(p, "label", True, ","))):
        path = folder / name
        path.write_bytes(content)
        try:
            read(path)
        except DataError as err:
            assert str(path) in str(err)
        except ConfigError as err:  # a mutated header can drop the label column's name
            assert "data.label" in str(err)


def test_zip_member_claiming_more_than_deflate_can_give(tmp_path):
    data = bytearray(_npz_bytes())
    entry = data.index(b"PK\x01\x02")  # the first member's central directory record
    data[entry + 24:entry + 28] = (2**32 - 1).to_bytes(4, "little")  # its uncompressed size: 4 GiB
    path = tmp_path / "z.npz"
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("x.npy").file_size == 2**32 - 1
    with pytest.raises(DataError, match=r"z.npz\[x\]: the archive claims 4294967295 bytes from \d+ compressed"):
        load_npz(path, ["x"])
