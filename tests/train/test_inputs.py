"""The data forms Trainer.fit/evaluate/predict accept, and summary() of any nn.Module."""

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from axon import Trainer
from axon.nn import summary


class DictItems(Dataset):
    """A Hugging Face datasets-like set: items are dicts of columns (here NumPy values)."""

    def __init__(self, x, y):
        self.x, self.y = x.numpy(), y.numpy()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"features": self.x[i], "target": int(self.y[i])}


def _trainer(small_model, **kwargs):
    return Trainer(small_model(), epochs=2, batch_size=32, lr=1e-2, progress=False, seed=0, **kwargs)


def test_numpy_arrays_dicts_and_dict_items_train_the_same_as_tensors(blobs, small_model):
    (x, y), val = blobs
    reference = _trainer(small_model).fit((x, y), val)
    as_numpy = _trainer(small_model).fit((x.double().numpy(), y.int().numpy()), (val[0].numpy(), val[1].numpy()))
    columns = _trainer(small_model, input_key="features", target_key="target").fit(
        {"features": x.numpy(), "target": y.numpy()}, DictItems(*val))
    items = _trainer(small_model, input_key="features", target_key="target").fit(DictItems(x, y), DictItems(*val))
    for history in (as_numpy, columns, items):
        assert [r["train_loss"] for r in history] == pytest.approx([r["train_loss"] for r in reference], rel=1e-5)
        assert history[-1]["val_acc"] == pytest.approx(reference[-1]["val_acc"])


def test_wrong_type_says_what_is_accepted(small_model):
    trainer = _trainer(small_model)
    with pytest.raises(TypeError, match=r"train_data: expected a torch Dataset .* a tuple \(X, y\) of tensors or "
                                        r"NumPy arrays.*Hugging Face datasets.*got str"):
        trainer.fit("data.csv")
    with pytest.raises(TypeError, match="no column 'input' \\(it has x, y\\)"):
        trainer.fit({"x": np.zeros((4, 4)), "y": np.zeros(4)})
    with pytest.raises(ValueError, match="X has 4 samples but y has 3"):
        trainer.fit((np.zeros((4, 4), np.float32), np.zeros(3, np.int64)))


def test_predict_takes_inputs_alone_and_matches_the_model(blobs, small_model):
    (x, y), _ = blobs
    trainer = _trainer(small_model)
    trainer.fit((x, y))
    trainer.model.eval()
    with torch.no_grad():
        expected = trainer.model(x)
    for data in (x, x.numpy(), (x,), (x, y), DictItems(x, y)):
        if isinstance(data, DictItems):
            trainer.input_key = "features"
        np.testing.assert_allclose(trainer.predict(data).numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_summary_counts_any_module():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(8 * 6 * 6, 10))
    result = summary(model, torch.randn(4, 3, 8, 8))
    conv_macs = 8 * 6 * 6 * 3 * 3 * 3
    assert result.multiply_adds == conv_macs + 8 * 6 * 6 * 10
    assert result.parameters == sum(p.numel() for p in model.parameters())
    assert [r[0] for r in result.rows] == ["0", "3"] and result.rows[0][3] == conv_macs
    assert "total" in str(result)


def test_summary_agrees_with_the_graph_count():
    from axon import zoo

    model = zoo.create("digits-cnn")
    assert summary(model, torch.randn(2, 1, 8, 8)).multiply_adds == model.multiply_adds()


def test_tensorboard_gets_per_step_loss_and_lr(blobs, small_model, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (x, y), val = blobs
    trainer = _trainer(small_model, run_dir=tmp_path / "run")
    trainer.fit((x, y), val)
    steps = EventAccumulator(str(tmp_path / "run" / "tensorboard" / "steps")).Reload()
    losses = steps.Scalars("loss")
    assert [e.step for e in losses] == list(range(1, trainer.global_step + 1))
    lrs = [e.value for e in steps.Scalars("lr")]
    assert len(lrs) == trainer.global_step and max(lrs) > lrs[0]  # One Cycle warms up
