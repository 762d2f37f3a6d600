import os

import pytest
import torch

from safetensors.torch import save_file

from axon.errors import CheckpointError
from axon.train.checkpoint import (
    clean_checkpoints, load_weights, read_checkpoint, snapshot_weights, write_checkpoint,
)


def test_write_replace_read(tmp_path):
    model = torch.nn.Linear(4, 3)
    folder = tmp_path / "checkpoints" / "last"
    write_checkpoint(folder, model, {"epoch": 1})
    write_checkpoint(folder, model, {"epoch": 2})
    assert sorted(os.listdir(folder.parent)) == ["last"]  # no temp or old folders left
    other = torch.nn.Linear(4, 3)
    assert read_checkpoint(folder, other)["epoch"] == 2
    assert torch.equal(other.weight, model.weight)


def test_falls_back_to_old_folder_after_crash_between_renames(tmp_path):
    model = torch.nn.Linear(2, 2)
    write_checkpoint(tmp_path / "last", model, {"epoch": 7})
    os.replace(tmp_path / "last", tmp_path / ".last.old")
    assert read_checkpoint(tmp_path / "last")["epoch"] == 7


def test_truncated_weights_leave_model_untouched(tmp_path):
    model = torch.nn.Linear(8, 8)
    write_checkpoint(tmp_path / "last", model, {"epoch": 1})
    weights = tmp_path / "last" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    other = torch.nn.Linear(8, 8)
    before = other.weight.detach().clone()
    with pytest.raises(CheckpointError, match="model.safetensors"):
        read_checkpoint(tmp_path / "last", other)
    assert torch.equal(other.weight, before)


def test_shape_mismatch_is_a_checkpoint_error(tmp_path):
    write_checkpoint(tmp_path / "last", torch.nn.Linear(8, 8), {})
    with pytest.raises(CheckpointError, match="cannot load weights"):
        read_checkpoint(tmp_path / "last", torch.nn.Linear(8, 4))


def test_missing_folder(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint here"):
        read_checkpoint(tmp_path / "last")


def test_checksums_catch_flipped_bits_and_nans(tmp_path):
    model = torch.nn.Linear(8, 8)
    write_checkpoint(tmp_path / "last", model, {"epoch": 1})
    weights = tmp_path / "last" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0x10  # a flipped bit in the last weight
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="model.safetensors: checksum does not match"):
        read_checkpoint(tmp_path / "last", torch.nn.Linear(8, 8))
    with pytest.raises(CheckpointError, match="checksum does not match"):
        load_weights(torch.nn.Linear(8, 8), weights)

    poisoned = torch.nn.Linear(8, 8)
    write_checkpoint(tmp_path / "nan", poisoned, {"epoch": 1})
    with torch.no_grad():
        poisoned.weight[0, 0] = float("nan")
    save_file(snapshot_weights(poisoned), str(tmp_path / "nan" / "model.safetensors"))
    with pytest.raises(CheckpointError, match="checksum does not match"):
        read_checkpoint(tmp_path / "nan", torch.nn.Linear(8, 8))


def test_damaged_state_and_missing_checksums_are_errors(tmp_path):
    write_checkpoint(tmp_path / "last", torch.nn.Linear(2, 2), {"epoch": 1, "rng": torch.ones(4)})
    state = tmp_path / "last" / "trainer.safetensors"
    state.write_bytes(state.read_bytes()[:-1] + b"\x00")
    with pytest.raises(CheckpointError, match="trainer.safetensors: checksum does not match"):
        read_checkpoint(tmp_path / "last")
    (tmp_path / "last" / "checksums.sha256").unlink()
    with pytest.raises(CheckpointError, match="checksum list is missing"):
        read_checkpoint(tmp_path / "last")


def test_clean_removes_interrupted_writes_and_restores_old(tmp_path):
    model = torch.nn.Linear(2, 2)
    write_checkpoint(tmp_path / "last", model, {"epoch": 3})
    write_checkpoint(tmp_path / "best", model, {"epoch": 2})
    (tmp_path / ".last.tmp-abc").mkdir()
    (tmp_path / ".last.tmp-abc" / "model.safetensors").write_bytes(b"x" * 100)
    os.replace(tmp_path / "best", tmp_path / ".best.old")  # a crash between the two renames
    clean_checkpoints(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["best", "last"]
    assert read_checkpoint(tmp_path / "best")["epoch"] == 2
