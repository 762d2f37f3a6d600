import csv

import pytest
import torch

from axon import Trainer
from axon.errors import TrainingDiverged
from axon.train.callbacks import Callback, EarlyStopping


def test_fit_learns_and_reports_history(blobs, small_model):
    train, val = blobs
    trainer = Trainer(small_model(), epochs=5, batch_size=32, lr=0.05, progress=False, device="cpu")
    history = trainer.fit(train, val)
    assert [row["epoch"] for row in history] == [1, 2, 3, 4, 5]
    assert history[-1]["step"] == 5 * 10
    assert history[-1]["val_acc"] > 0.9
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert trainer.evaluate(val)["acc"] == pytest.approx(history[-1]["val_acc"])


def test_any_module_and_regression_loss():
    x = torch.randn(64, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    trainer = Trainer(torch.nn.Linear(3, 1), epochs=30, batch_size=16, lr=0.1, loss="mse",
                      schedule="constant", progress=False, device="cpu")
    history = trainer.fit((x, y))
    assert "train_acc" not in history[-1]
    assert history[-1]["train_loss"] < 1e-3


def test_callbacks_run_in_order_with_state(blobs, small_model):
    calls = []

    class Recorder(Callback):
        def on_fit_start(self, trainer):
            calls.append("fit_start")

        def on_epoch_start(self, trainer):
            calls.append(f"epoch_start {trainer.epoch}")

        def on_epoch_end(self, trainer, metrics):
            calls.append(f"epoch_end {trainer.epoch}")

        def on_fit_end(self, trainer, status):
            calls.append(f"fit_end {status}")

    Trainer(small_model(), epochs=2, progress=False, callbacks=[Recorder()], device="cpu").fit(*blobs)
    assert calls == ["fit_start", "epoch_start 0", "epoch_end 1", "epoch_start 1", "epoch_end 2", "fit_end completed"]


def test_early_stopping_stops(blobs, small_model):
    stopper = EarlyStopping(monitor="val_loss", patience=2, min_delta=10.0)  # nothing improves by 10
    trainer = Trainer(small_model(), epochs=20, progress=False, callbacks=[stopper], device="cpu")
    history = trainer.fit(*blobs)
    assert len(history) == 3 and trainer.should_stop and "early stopping" in trainer.stop_reason


def test_bad_arguments(small_model):
    with pytest.raises(ValueError, match="epochs"):
        Trainer(small_model(), epochs=0)
    with pytest.raises(ValueError, match="batch_size"):
        Trainer(small_model(), batch_size=-1)


def test_plain_progress_prints_one_line_per_epoch(blobs, capsys, small_model):
    Trainer(small_model(), epochs=3, device="cpu").fit(*blobs)  # capsys stdout is not a terminal
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4  # a header row, then one row per epoch
    assert lines[0].split() == ["epoch", "loss", "acc", "val_loss", "val_acc", "lr", "samples/s", "time", "eta"]
    assert [line.split()[0] for line in lines[1:]] == ["1/3", "2/3", "3/3"]
    assert all(len(line) <= 80 for line in lines)


def test_plain_progress_speaks_within_an_epoch(blobs, capsys, small_model):
    """A log is not silent until the first epoch ends."""
    from axon.train.callbacks import ProgressBar

    bar = ProgressBar(plain_every=0.0)
    bar.live = False
    Trainer(small_model(), epochs=1, batch_size=16, progress=False, callbacks=[bar], device="cpu").fit(*blobs)
    lines = capsys.readouterr().out.strip().splitlines()
    within = [line for line in lines if line.startswith("epoch 1/1  step ")]
    assert len(within) >= 2 and "samples/s  eta" in within[0] and "loss" in within[0]


def test_epoch_rows_with_many_metrics_wrap_within_80_columns():
    from axon.train.callbacks.progress import epoch_table, fit_row

    metrics = {"epoch": 3, "train_loss": 2.29, "val_loss": 2.07, "lr": 1.6e-3, "samples_per_s": 9.0,
               "seconds": 444.7, "loss_cls": 0.84, "loss_box": 0.65, "loss_dir": 0.74}
    metrics |= {f"val_ap_{kind}_{name}": 0.25 for kind in ("bev", "3d") for name in ("car", "pedestrian", "cyclist")}
    row, overflow = fit_row(epoch_table(metrics, 12), 72)
    assert [head for head, *_ in row][:3] == ["epoch", "loss", "val_loss"]
    assert sum(width for _, width, _ in row) + len(row) - 1 <= 72
    assert all(len(line) <= 72 for line in overflow)
    shown = " ".join(head for head, *_ in row) + " ".join(overflow)
    assert all(name in shown for name in metrics if name.startswith(("val_ap", "loss_")))


def test_rich_bar_on_a_terminal(blobs, small_model):
    import io

    from rich.console import Console

    from axon.train.callbacks import ProgressBar

    out = io.StringIO()
    bar = ProgressBar(Console(file=out, force_terminal=True, width=160))
    Trainer(small_model(), epochs=2, progress=False, callbacks=[bar], device="cpu").fit(*blobs)
    text = out.getvalue()
    assert "samples/s" in text and "ETA" in text and "epoch 2/2" in text


def poison_at(epoch: int):
    class Poison(Callback):
        def on_epoch_start(self, trainer):
            if trainer.epoch + 1 == epoch:
                with torch.no_grad():
                    next(trainer.model.parameters()).fill_(float("nan"))

    return Poison()


def test_a_fresh_fit_refuses_a_folder_holding_a_trained_run(blobs, tmp_path, small_model):
    from axon.errors import RunDirError

    Trainer(small_model(), epochs=1, batch_size=32, progress=False, run_dir=tmp_path, device="cpu").fit(*blobs)
    saved = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    again = Trainer(small_model(), epochs=1, batch_size=32, progress=False, run_dir=tmp_path, device="cpu")
    with pytest.raises(RunDirError, match="already holds a trained run.*ckpt_path="):
        again.fit(*blobs)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == saved
    again.fit(*blobs, ckpt_path=tmp_path / "checkpoints" / "last")    # continuing it is allowed
    assert len(again.history) == 1


def test_nan_guard_names_step_and_keeps_last_good_checkpoint(blobs, tmp_path, small_model):
    trainer = Trainer(small_model(), epochs=5, batch_size=32, progress=False, run_dir=tmp_path,
                      callbacks=[poison_at(3)], device="cpu")
    with pytest.raises(TrainingDiverged, match=r"loss became nan at step 21 \(epoch 3\)") as err:
        trainer.fit(*blobs)
    assert err.value.step == 21
    from axon.train.checkpoint import read_checkpoint

    restored = small_model(seed=1)
    state = read_checkpoint(tmp_path / "checkpoints" / "last", restored)
    assert state["epoch"] == 2
    assert all(torch.isfinite(p).all() for p in restored.parameters())
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert (tmp_path / "curves.png").exists()


class Crash(Callback):
    """Simulates a kill right after epoch `after` was checkpointed."""

    order = 200

    def __init__(self, after):
        self.after = after

    def on_epoch_end(self, trainer, metrics):
        if trainer.epoch == self.after:
            raise KeyboardInterrupt


@pytest.mark.parametrize("optimizer, schedule", [("adamw", "onecycle"), ("sgd", "step")])
def test_resume_after_kill_gives_the_same_weights(blobs, tmp_path, optimizer, schedule, small_model):
    def trainer(run_dir, callbacks=()):
        return Trainer(small_model(), epochs=4, batch_size=32, optimizer=optimizer, schedule=schedule,
                       progress=False, run_dir=run_dir, callbacks=callbacks, seed=3, device="cpu",
                       deterministic=True)

    straight = trainer(tmp_path / "straight")
    straight.fit(*blobs)

    with pytest.raises(KeyboardInterrupt):
        trainer(tmp_path / "killed", [Crash(after=2)]).fit(*blobs)
    resumed = trainer(tmp_path / "killed")
    resumed.fit(*blobs, ckpt_path=tmp_path / "killed" / "checkpoints" / "last")

    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)
    assert [r["train_loss"] for r in straight.history] == [r["train_loss"] for r in resumed.history]
    rows = list(csv.DictReader(open(tmp_path / "killed" / "metrics.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2", "3", "4"]



@pytest.mark.parametrize("kill_steps", [(3,), (10, 27), (14, 15, 33)])
def test_kill_mid_epoch_and_resume_gives_the_same_weights(blobs, tmp_path, small_model, kill_steps, crash_at_step):
    def trainer(run_dir, callbacks=()):
        return Trainer(small_model(), epochs=4, batch_size=32, progress=False, run_dir=run_dir,
                       checkpoint_every_steps=1, callbacks=callbacks, seed=7, device="cpu", deterministic=True)

    straight = trainer(tmp_path / "straight")
    straight.fit(*blobs)
    last = tmp_path / "killed" / "checkpoints" / "last"
    for i, step in enumerate(kill_steps):
        with pytest.raises(KeyboardInterrupt):
            trainer(tmp_path / "killed", [crash_at_step(step)]).fit(*blobs, ckpt_path=last if i else None)
    resumed = trainer(tmp_path / "killed")
    resumed.fit(*blobs, ckpt_path=last)
    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)
    timing = {"seconds", "samples_per_s", "data_wait"}
    strip = lambda history: [{k: v for k, v in row.items() if k not in timing} for row in history]  # noqa: E731
    assert strip(straight.history) == strip(resumed.history)


def test_two_identical_runs_are_bitwise_equal(blobs, small_model):
    weights = []
    for _ in range(2):
        trainer = Trainer(small_model(), epochs=2, progress=False, seed=11, device="cpu", deterministic=True)
        trainer.fit(*blobs)
        weights.append(list(trainer.model.state_dict().values()))
    assert all(torch.equal(a, b) for a, b in zip(*weights))
