import pytest
import torch

from axon.errors import CheckpointError
from axon.train.state import load_state, save_state


def test_round_trip_nested_state(tmp_path):
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    state = {
        "optimizer": optimizer.state_dict(),  # int keys, tuples (betas), tensors
        "rng": torch.get_rng_state(),
        "history": [{"epoch": 1, "loss": 0.5, "nan": float("nan")}],
        "nothing": None,
        "flag": True,
    }
    save_state(state, tmp_path / "s.safetensors")
    loaded = load_state(tmp_path / "s.safetensors")
    assert loaded["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert set(loaded["optimizer"]["state"]) == {0, 1}
    assert torch.equal(loaded["optimizer"]["state"][0]["exp_avg"], state["optimizer"]["state"][0]["exp_avg"])
    assert torch.equal(loaded["rng"], state["rng"])
    assert loaded["history"][0]["epoch"] == 1 and loaded["nothing"] is None and loaded["flag"] is True
    fresh = torch.optim.AdamW(model.parameters(), lr=0.1)
    fresh.load_state_dict(loaded["optimizer"])


def test_unsupported_object_names_where(tmp_path):
    with pytest.raises(TypeError, match=r"state\.callbacks\.x"):
        save_state({"callbacks": {"x": object()}}, tmp_path / "s.safetensors")


def test_truncated_file_is_a_clear_error(tmp_path):
    path = tmp_path / "s.safetensors"
    save_state({"w": torch.randn(100)}, path)
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(CheckpointError, match="damaged or truncated"):
        load_state(path)


def test_not_a_trainer_state(tmp_path):
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "w.safetensors"))
    with pytest.raises(CheckpointError, match="not an axon trainer state"):
        load_state(tmp_path / "w.safetensors")
