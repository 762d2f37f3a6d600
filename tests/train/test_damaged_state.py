"""A damaged or hand-edited trainer state is one CheckpointError naming the file and
the entry, raised before training starts."""

import pytest
import torch

from axon.errors import CheckpointError
from axon.train import Trainer
from axon.train.checkpoint import read_checkpoint, write_checkpoint


def _damage(state, edit):
    edit(state)
    return state


EDITS = {
    "empty tree": (lambda s: s.clear(), "entries 'epoch', 'global_step'"),
    "epoch text": (lambda s: s.update(epoch="3"), "entry 'epoch' is '3'"),
    "epoch bool": (lambda s: s.update(epoch=True), "entry 'epoch' is True"),
    "batch past the epoch": (lambda s: s.update(batch_in_epoch=10_000), "entry 'batch_in_epoch'"),
    "history": (lambda s: s.update(history=[{"epoch": "x"}]), "entry 'history'"),
    "running": (lambda s: s.update(running=[1.0]), "entry 'running'"),
    "optimizer groups": (lambda s: s["optimizer"].update(param_groups=[]), "cannot restore 'optimizer'"),
    "optimizer moments": (lambda s: s["optimizer"]["state"][0].update(exp_avg=torch.zeros(3)),
                          "cannot restore 'optimizer' \\(exp_avg has shape \\(3,\\)"),
    "schedule": (lambda s: s["schedule"].update(total_steps="many"), "entry schedule.total_steps"),
    "rng": (lambda s: s["rng"].update(torch=torch.zeros(3, dtype=torch.uint8)), "cannot restore 'rng'"),
    "rng missing": (lambda s: s["rng"].pop("numpy"), "cannot restore 'rng'"),
    "callback": (lambda s: s["callbacks"].update(ModelCheckpoint={}), "cannot restore 'callbacks.ModelCheckpoint'"),
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3))
    x, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
    Trainer(model, epochs=1, batch_size=16, progress=False, run_dir=folder, device="cpu").fit((x, y), (x, y))
    return folder, (x, y)


@pytest.mark.parametrize("case", list(EDITS))
def test_damaged_trainer_state_is_one_clear_error(trained, tmp_path, case):
    folder, data = trained
    edit, message = EDITS[case]
    model = torch.nn.Sequential(torch.nn.Linear(4, 3))
    state = _damage(read_checkpoint(folder / "checkpoints" / "last", model), edit)
    write_checkpoint(tmp_path / "last", model, state)  # consistent checksums: a hand edit
    trainer = Trainer(torch.nn.Sequential(torch.nn.Linear(4, 3)), epochs=1, batch_size=16, progress=False,
                      device="cpu", run_dir=tmp_path / "run")
    with pytest.raises(CheckpointError, match=f"last/trainer.safetensors: damaged trainer state: .*{message}"):
        trainer.fit(data, data, ckpt_path=tmp_path / "last")


def test_a_different_schedule_length_is_named(trained):
    folder, data = trained
    trainer = Trainer(torch.nn.Sequential(torch.nn.Linear(4, 3)), epochs=3, batch_size=16, progress=False,
                      device="cpu")
    with pytest.raises(CheckpointError, match="cannot restore 'schedule' .*runs 4 steps in the checkpoint but 12"):
        trainer.fit(data, data, ckpt_path=folder / "checkpoints" / "last")
