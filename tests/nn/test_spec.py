"""The JSON network spec: round trips, save/load, and validation errors naming the node."""

import copy
import json

import pytest
import torch

from axon import nn as ann
from axon.errors import CheckpointError, ConfigError


def net():
    x = ann.Input((2, 6, 6), name="image")
    h = ann.BatchNorm(4, name="bn")(ann.Conv(2, 4, 3, name="conv")(x))
    local = ann.LocallyConnected2d(4, 2, 3, (6, 6), name="local")(ann.Activation("tanh", name="act")(h))
    joined = ann.Concat(name="join")(h, local)
    y = ann.Dense(6, 3, name="logits")(ann.GlobalAvgPool(name="gap")(joined))
    return ann.Model(x, y)


def spec():
    return net().to_spec()


def test_spec_is_plain_json_with_a_version_and_rebuilds_the_same_architecture():
    s = spec()
    assert s["version"] == ann.SPEC_VERSION
    assert json.loads(json.dumps(s)) == s
    rebuilt = ann.Model.from_spec(s)
    assert rebuilt.to_spec() == s
    assert rebuilt.shapes == net().shapes


def test_save_then_load_gives_bitwise_identical_outputs(tmp_path):
    torch.manual_seed(0)
    model = net()
    model.train()
    model(torch.randn(8, 2, 6, 6))  # move batch-norm running statistics off their defaults
    model.eval()
    ann.save(model, tmp_path / "net")
    assert sorted(p.name for p in (tmp_path / "net").iterdir()) == ["network.json", "weights.safetensors"]
    loaded = ann.load(tmp_path / "net").eval()
    x = torch.randn(4, 2, 6, 6)
    assert torch.equal(model(x), loaded(x))
    assert torch.equal(loaded.layer("bn").running_mean, model.layer("bn").running_mean)


def test_saving_over_a_file_is_an_error(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="is not a folder"):
        ann.save(net(), tmp_path / "f")


def edited(change):
    s = copy.deepcopy(spec())
    change(s)
    return s


def node(s, name):
    return next(n for n in s["nodes"] if n["name"] == name)


@pytest.mark.parametrize("change, message", [
    (lambda s: node(s, "act").update(type="Swish"), "node 'act': unknown layer type 'Swish'"),
    (lambda s: node(s, "join").update(inputs=["bn", "nowhere"]), "node 'join': unknown input 'nowhere'"),
    (lambda s: node(s, "join").pop("inputs"), "node 'join': inputs: Field required"),
    (lambda s: node(s, "join").update(inputs=[]), "node 'join': missing inputs"),
    (lambda s: node(s, "conv").update(inputs=["bn"]), "node '(conv|bn|act|local)': is part of a cycle"),
    (lambda s: node(s, "gap").update(name="bn"), "node 'bn': duplicate name"),
    (lambda s: node(s, "conv")["args"].update(kernel_size=4), "node 'conv': bad arguments for Conv: .*must be odd"),
    (lambda s: node(s, "conv")["args"].update(dilation=2), "node 'conv': Conv takes no argument 'dilation'"),
    (lambda s: node(s, "logits")["args"].update(in_features=7),
     r"node 'logits': Dense 'logits': got input shape \(6,\), expected \(7,\)"),
    (lambda s: node(s, "image")["args"].update(shape=[2, -1, 6]), "node 'image'.*shape"),
    (lambda s: s.update(version=2), "version 2 is not supported"),
    (lambda s: s.update(colour="blue"), "colour: Extra inputs are not permitted"),
    (lambda s: node(s, "conv").update(extra=1), "node 'conv': extra: Extra inputs are not permitted"),
    (lambda s: s.update(outputs=["missing"]), "outputs names 'missing'"),
    (lambda s: s.update(inputs=["conv"]), "inputs names 'conv', a Conv node"),
])
def test_validation_names_the_node(change, message):
    with pytest.raises(ConfigError, match=message):
        ann.Model.from_spec(edited(change))


def test_truncated_json_is_a_clear_error(tmp_path):
    folder = ann.save(net(), tmp_path / "net")
    text = (folder / "network.json").read_text()
    (folder / "network.json").write_text(text[: len(text) // 2])
    with pytest.raises(ConfigError, match=r"network.json: not valid JSON \(truncated or corrupt\?\)"):
        ann.load(folder)


def test_truncated_or_mismatched_weights_are_clear_errors(tmp_path):
    folder = ann.save(net(), tmp_path / "net")
    weights = folder / "weights.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="weights.safetensors: not a readable safetensors file"):
        ann.load(folder)
    other = ann.save(net(), tmp_path / "other")
    s = json.loads((other / "network.json").read_text())
    node(s, "conv")["args"]["out_bands"] = 5
    node(s, "bn")["args"]["bands"] = 5
    node(s, "local")["args"]["in_bands"] = 5
    node(s, "logits")["args"]["in_features"] = 7
    (other / "network.json").write_text(json.dumps(s))
    with pytest.raises(CheckpointError, match="layers.conv.weight has shape"):
        ann.load(other)


def test_save_leaves_no_temporary_files(tmp_path):
    folder = ann.save(net(), tmp_path / "net")
    ann.save(net(), folder)  # overwrite in place
    assert sorted(p.name for p in folder.iterdir()) == ["network.json", "weights.safetensors"]


def test_custom_layers_can_be_registered_for_specs():
    @ann.register_layer
    class Scale(ann.Layer):
        def __init__(self, factor: float = 2.0, name=None):
            super().__init__(name)
            self.factor = factor

        def infer_shape(self, shape):
            return shape

        def forward(self, x):
            return x * self.factor

    try:
        x = ann.Input((3,), name="x")
        model = ann.Model(x, Scale(3.0, name="scale")(x))
        rebuilt = ann.Model.from_spec(model.to_spec())
        assert torch.equal(rebuilt(torch.ones(1, 3)), torch.full((1, 3), 3.0))
        with pytest.raises(ValueError, match="already registered"):
            ann.register_layer(Scale)
    finally:
        ann.LAYER_TYPES.pop("Scale")
