"""The small digit models and the registry."""

import pytest
import torch
from torch.utils.data import DataLoader

from axon import zoo
from axon.data import load_digits_splits
from axon.errors import ConfigError
from axon.nn import BatchNorm, Conv, Dense, Dropout, Model, Subsample


def test_registry_names_and_descriptions():
    assert {"digits-cnn", "digits-mlp", "mlp", "googlenet"} <= set(zoo.names())
    assert zoo.describe("googlenet").startswith("GoogLeNet")
    with pytest.raises(ConfigError, match="unknown model 'digits-cn'; did you mean 'digits-cnn'"):
        zoo.create("digits-cn")
    with pytest.raises(ConfigError, match="takes no argument 'depth'"):
        zoo.create("digits-cnn", depth=3)


def test_digits_cnn_defaults_and_architecture():
    model = zoo.create("digits-cnn")
    assert isinstance(model, Model)
    assert model(torch.randn(5, 1, 8, 8)).shape == (5, 10)
    convs = [m for m in model.layers.values() if isinstance(m, Conv)]
    assert [(c.in_bands, c.out_bands, c.kernel_size, c.bias_enabled) for c in convs] == [
        (1, 32, (3, 3), False), (32, 32, (3, 3), False), (32, 64, (3, 3), False), (64, 64, (3, 3), False)]
    assert sum(isinstance(m, BatchNorm) for m in model.layers.values()) == 4
    assert sum(isinstance(m, Subsample) for m in model.layers.values()) == 2
    assert model.layer("dropout").p == 0.25
    assert isinstance(model.layer("logits"), Dense) and model.layer("logits").in_features == 64 * 2 * 2
    assert isinstance(model.layer("dropout"), Dropout)


def test_mlps():
    assert zoo.create("digits-mlp")(torch.randn(3, 1, 8, 8)).shape == (3, 10)
    model = zoo.create("mlp", input_shape=[2, 3, 3], hidden=[8, 6], num_classes=4, activation="tanh")
    assert model(torch.randn(3, 2, 3, 3)).shape == (3, 4)
    assert [model.layer(n).out_features for n in ("dense1", "dense2", "logits")] == [8, 6, 4]


def test_digits_cnn_learns_the_digits(one_thread):
    """A short run of the default recipe (AdamW 3e-3, One Cycle, batch 64) already reaches 93%;
    the full 20 epochs give about 99% (see docs/nn.md)."""
    torch.manual_seed(0)
    splits = load_digits_splits()
    model = zoo.create("digits-cnn")
    loader = DataLoader(splits.train, batch_size=64, shuffle=True)
    epochs = 4
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=epochs * len(loader))
    for _ in range(epochs):
        model.train()
        for x, y in loader:
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
            sched.step()
    model.eval()
    x, y = splits.test.tensors
    with torch.no_grad():
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    assert accuracy >= 0.93
