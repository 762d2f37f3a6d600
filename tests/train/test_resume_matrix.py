"""Exact resume in every combination of gradient accumulation, loader workers,
samplers and schedules: a run killed after a mid-epoch checkpoint and resumed gives
the same weights and history as one never stopped."""

import pytest
import torch

from axon.data.sampling import CurriculumSampler, RepeatFactorSampler
from axon.train import Trainer

TIMING = {"seconds", "samples_per_s", "data_wait"}



def _samplers(labels):
    return {
        "shuffle": None,
        "repeat": lambda data, seed, rank, world_size: RepeatFactorSampler(labels, 0.5, seed, rank=rank,
                                                                           world_size=world_size),
        "curriculum": lambda data, seed, rank, world_size: CurriculumSampler(labels.float(), {0: 0.5, 1: 1.0}, seed,
                                                                             rank=rank, world_size=world_size),
    }


def _strip(history):
    return [{k: v for k, v in row.items() if k not in TIMING} for row in history]


@pytest.mark.parametrize("grad_accum, workers, sampler, schedule", [
    (2, 0, "shuffle", "onecycle"),
    (2, 0, "shuffle", "constant"),
    (3, 0, "repeat", "step"),
    (2, 0, "curriculum", "plateau"),
    (1, 0, "curriculum", "onecycle"),
    (2, 1, "shuffle", "onecycle"),
])
def test_mid_epoch_kill_resumes_exactly(blobs, tmp_path, small_model, grad_accum, workers, sampler, schedule,
                                        crash_at_step):
    (x, y), val = blobs
    factory = _samplers(y)[sampler]

    def trainer(run_dir, callbacks=()):
        return Trainer(small_model(), epochs=2, batch_size=16, grad_accum=grad_accum, schedule=schedule,
                       progress=False, run_dir=run_dir, checkpoint_every_steps=3, callbacks=callbacks, seed=5,
                       device="cpu", deterministic=True, num_workers=workers, sampler=factory)

    straight = trainer(tmp_path / "straight")
    straight.fit((x, y), val)
    killed_at = straight.steps_per_epoch + 3  # a mid-epoch checkpoint of the second epoch
    with pytest.raises(KeyboardInterrupt):
        trainer(tmp_path / "killed", [crash_at_step(killed_at + 1)]).fit((x, y), val)
    resumed = trainer(tmp_path / "killed")
    resumed.fit((x, y), val, ckpt_path=tmp_path / "killed" / "checkpoints" / "last")
    assert resumed.global_step == straight.global_step
    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)
    assert _strip(straight.history) == _strip(resumed.history)


def test_kill_between_best_and_last_never_leaves_best_stale(blobs, tmp_path, small_model, monkeypatch):
    import axon.train.callbacks.checkpointing as checkpointing
    from axon.train.checkpoint import read_checkpoint, write_checkpoint

    def trainer(run_dir):
        return Trainer(small_model(), epochs=4, batch_size=32, progress=False, run_dir=run_dir, seed=3,
                       device="cpu", deterministic=True)

    straight = trainer(tmp_path / "straight")
    straight.fit(*blobs)
    best_epoch = straight.checkpointer.best_epoch
    assert best_epoch > 1  # the test needs an improving epoch after the first

    def killed_between_folders(folders, weights, state):
        if len(folders) == 2 and state["epoch"] == best_epoch:
            write_checkpoint(folders[:1], weights, state)
            raise KeyboardInterrupt  # killed after the first folder's rename
        write_checkpoint(folders, weights, state)

    monkeypatch.setattr(checkpointing, "write_checkpoint", killed_between_folders)
    with pytest.raises(KeyboardInterrupt):
        trainer(tmp_path / "killed").fit(*blobs)
    monkeypatch.setattr(checkpointing, "write_checkpoint", write_checkpoint)
    resumed = trainer(tmp_path / "killed")
    resumed.fit(*blobs, ckpt_path=tmp_path / "killed" / "checkpoints" / "last")

    best = read_checkpoint(tmp_path / "killed" / "checkpoints" / "best")
    assert best["epoch"] == resumed.checkpointer.best_epoch == best_epoch
    for name in ("best", "last"):
        expected = (tmp_path / "straight" / "checkpoints" / name / "model.safetensors").read_bytes()
        assert (tmp_path / "killed" / "checkpoints" / name / "model.safetensors").read_bytes() == expected
    assert sorted(p.name for p in (tmp_path / "killed" / "checkpoints").iterdir()) == ["best", "last"]
