import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from axon import Trainer, zoo
from axon.data.resize import ResizedDataset
from axon.train.callbacks.base import Callback
from axon.train.callbacks.curriculum import DropoutOff, ProgressiveResizing


class InputSizes(Callback):
    """Records the image sizes the model saw in training, per epoch."""

    def __init__(self, model: nn.Module):
        self.sizes: list[set[int]] = []
        model.register_forward_pre_hook(self._record)

    def _record(self, module, args):
        if module.training:
            self.sizes[-1].add(args[0].shape[-1])

    def on_epoch_start(self, trainer):
        self.sizes.append(set())


def _images(n: int = 24, size: int = 16):
    generator = torch.Generator().manual_seed(0)
    return TensorDataset(torch.rand(n, 3, size, size, generator=generator), torch.arange(n) % 10)


def test_progressive_resizing_follows_the_schedule():
    torch.manual_seed(0)
    model = zoo.create("shapes-cnn", width=2, image_size=16)
    train = ResizedDataset(_images())
    sizes = InputSizes(model)
    trainer = Trainer(model, epochs=4, batch_size=8, progress=False,
                      callbacks=[sizes, ProgressiveResizing({0: 8, 2: 12, 3: 16}, train)])
    history = trainer.fit(train, _images(8))
    assert sizes.sizes == [{8}, {8}, {12}, {16}]
    assert [row["image_size"] for row in history] == [8, 8, 12, 16]


def test_progressive_resizing_refuses_a_fixed_size_model():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Flatten(), nn.Linear(4 * 16 * 16, 10))
    train = ResizedDataset(_images())
    trainer = Trainer(model, epochs=1, batch_size=8, progress=False,
                      callbacks=[ProgressiveResizing({0: 8, 1: 16}, train)])
    with pytest.raises(ValueError, match=r"cannot take 8x8 images with 3 bands: layer '2' \(Linear\)"):
        trainer.fit(train)
    with pytest.raises(ValueError, match="expected the ResizedDataset"):
        ProgressiveResizing({0: 8}, _images())


class KillAt(Callback):
    def __init__(self, step: int):
        self.step = step

    def on_batch_end(self, trainer, result):
        if trainer.global_step == self.step:
            raise RuntimeError("killed")


def test_progressive_resizing_resumes_at_the_epoch_size(tmp_path):
    """A run resumed mid-epoch trains the rest of that epoch at the epoch's size."""
    train = ResizedDataset(_images())  # 3 batches of 8 per epoch
    torch.manual_seed(0)
    trainer = Trainer(zoo.create("shapes-cnn", width=2, image_size=16), epochs=3, batch_size=8, progress=False,
                      run_dir=tmp_path / "run", monitor="train_loss", checkpoint_every_steps=4,
                      callbacks=[ProgressiveResizing({0: 8, 1: 12}, train), KillAt(5)])
    with pytest.raises(RuntimeError, match="killed"):
        trainer.fit(train)
    train.size = None
    model = zoo.create("shapes-cnn", width=2, image_size=16)
    sizes = InputSizes(model)
    sizes.sizes.append(set())  # the resumed epoch does not start again
    resumed = Trainer(model, epochs=3, batch_size=8, progress=False, callbacks=[
        sizes, ProgressiveResizing({0: 8, 1: 12}, train)])
    # the checkpoint at step 4 is one batch into epoch 1: its last 2 batches and epoch 2 remain, all at 12
    resumed.fit(train, ckpt_path=tmp_path / "run" / "checkpoints" / "last")
    assert resumed.global_step == 9 and sizes.sizes == [{12}, {12}]


def test_dropout_off_from_an_epoch():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.5), nn.ReLU(), nn.Linear(16, 3))
    graph = zoo.create("shapes-cnn", width=2, dropout=0.3, image_size=8)
    probabilities = []

    class Record(Callback):
        order = 10  # after DropoutOff

        def on_epoch_start(self, trainer):
            probabilities.append(trainer.model[1].p)

    x, y = torch.randn(32, 4), torch.arange(32) % 3
    Trainer(model, epochs=4, batch_size=16, progress=False, callbacks=[DropoutOff(2), Record()]).fit((x, y))
    assert probabilities == [0.5, 0.5, 0.0, 0.0]
    model.train()
    torch.testing.assert_close(model(x), model.eval()(x))  # no stochastic step left
    images = _images(8, 8)
    Trainer(graph, epochs=1, batch_size=8, progress=False, callbacks=[DropoutOff(0)]).fit(images)
    assert graph.layer("dropout").p == 0.0  # axon.nn.Dropout too
    with pytest.raises(ValueError, match="DropoutOff epoch"):
        DropoutOff(-1)
