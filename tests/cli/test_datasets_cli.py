import numpy as np

from axon.cli import main
from axon.data.writers import write_idx


def test_lists_every_data_set_with_its_arguments(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ("image_folder", "mnist", "fashion_mnist", "cifar10", "cifar100", "arrays", "csv", "digits", "shapes"):
        assert f"\n{name}: " in f"\n{out}"
    assert "root, val=None, test=None, val_fraction=0.1" in out


def test_one_data_set_names_its_required_arguments(capsys):
    assert main(["datasets", "mnist"]) == 0
    assert "required: root" in capsys.readouterr().out


def test_reads_files_and_summarises_them(tmp_path, capsys):
    for prefix, n in (("train", 40), ("t10k", 10)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", np.zeros((n, 4, 4), np.uint8))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", (np.arange(n) % 10).astype(np.uint8))
    assert main(["datasets", "fashion_mnist", "--set", f"root={tmp_path}", "--set", "val_fraction=0.25"]) == 0
    out = capsys.readouterr().out
    assert "fashion_mnist: train 30, val 10, test 10" in out and "input shape: [1, 4, 4]" in out
    assert "classes: T-shirt/top, Trouser" in out


def test_errors_are_one_line_with_exit_code_2(tmp_path, capsys):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x01" + bytes(8))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"")
    assert main(["datasets", "mnist", "--set", f"root={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "train-images-idx3-ubyte: not an IDX file of 3 dimension(s)" in err
    assert main(["datasets", "mnst"]) == 2
    assert "did you mean 'mnist'" in capsys.readouterr().err
    assert main(["datasets", "mnist", "--set", "rot=x"]) == 2
    assert "data.rot: " in capsys.readouterr().err
