import os

import pytest
import torch

from axon.errors import CheckpointError
from axon.train.checkpoint import read_checkpoint, write_checkpoint


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
