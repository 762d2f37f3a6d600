"""The functional graph: building, names, shape checks, running, activations, summary."""

import pytest
import torch

from axon import nn as ann


def small_net():
    x = ann.Input((3, 8, 8), name="image")
    h = ann.Activation("relu")(ann.Conv(3, 4, 3, name="conv")(x))
    h = ann.Subsample(2)(h)
    y = ann.Dense(4 * 4 * 4, 5, name="logits")(ann.Flatten()(h))
    return ann.Model(x, y)


def test_model_runs_and_names_are_generated_per_type():
    model = small_net()
    assert list(model.shapes) == ["image", "conv", "activation_1", "subsample_1", "flatten_1", "logits"]
    assert model.shapes["subsample_1"] == (4, 4, 4)
    assert model(torch.randn(2, 3, 8, 8)).shape == (2, 5)


def test_generated_names_are_the_same_on_every_build_so_weights_fit():
    a, b = small_net(), small_net()
    assert list(a.state_dict()) == list(b.state_dict())
    b.load_state_dict(a.state_dict())


def test_activations_by_name():
    torch.manual_seed(0)
    model = small_net()
    x = torch.randn(3, 3, 8, 8)
    acts = model.activations(x, names=["conv", "logits"])
    assert set(acts) == {"conv", "logits"}
    assert acts["conv"].shape == (3, 4, 8, 8)
    assert torch.equal(acts["conv"], model.layer("conv")(x))
    assert torch.equal(acts["logits"], model(x))
    with pytest.raises(ann.GraphError, match="no layer named 'nope'"):
        model.activations(x, names=["nope"])


def test_shape_mismatch_is_found_while_building():
    x = ann.Input((3, 8, 8))
    h = ann.Flatten()(ann.Conv(3, 4, 3)(x))  # 256 features
    with pytest.raises(ann.ShapeError, match=r"Dense 'head': got input shape \(256,\), expected \(100,\)"):
        ann.Dense(100, 10, name="head")(h)


def test_an_input_that_does_not_fit_names_the_input_and_the_layer():
    model = small_net()
    with pytest.raises(ann.ShapeError, match=r"Model input 'image' \(2, 3, 12, 12\) does not fit the graph \(expected "
                       r"\(batch, 3, 8, 8\), or a size every layer takes\): Dense 'logits': got input shape "
                       r"\(144,\), expected \(64,\)"):
        model(torch.randn(2, 3, 12, 12))
    with pytest.raises(ann.ShapeError, match=r"Conv 'conv': got input shape \(1, 8, 8\), expected \(3, height, width\)"):
        model(torch.randn(2, 1, 8, 8))
    with pytest.raises(ann.ShapeError, match="expected 1 input"):
        model(torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8))


def test_other_input_sizes_run_when_every_layer_takes_them():
    x = ann.Input((3, 16, 16), name="image")
    y = ann.GlobalAvgPool(name="gap")(ann.Conv(3, 4, 3, name="conv")(x))
    model = ann.Model(x, y)
    assert model(torch.randn(2, 3, 7, 5)).shape == (2, 4)
    assert model.shapes_for((3, 7, 5))["conv"] == (4, 7, 5)
    assert model.shapes["conv"] == (4, 16, 16)  # the built shapes are unchanged
    assert model.multiply_adds((3, 7, 5)) == 4 * 7 * 5 * 3 * 9
    assert small_net()(torch.randn(2, 3, 9, 9)).shape == (2, 5)  # 9 -> pool 4: fits the dense layer


def test_several_inputs_and_outputs():
    a = ann.Input((2, 4, 4), name="a")
    b = ann.Input((3, 4, 4), name="b")
    joined = ann.Concat(name="join")(a, b)
    pooled = ann.GlobalAvgPool(name="pool")(joined)
    model = ann.Model([a, b], [pooled, joined])
    xa, xb = torch.randn(2, 2, 4, 4), torch.randn(2, 3, 4, 4)
    pooled_out, joined_out = model(xa, xb)
    assert torch.equal(joined_out, torch.cat([xa, xb], 1))
    assert torch.allclose(pooled_out, joined_out.mean((2, 3)))


def test_generated_names_from_two_inputs_are_made_unique_when_graphs_join():
    a, b = ann.Input((2, 4, 4), name="a"), ann.Input((2, 4, 4), name="b")
    ca, cb = ann.Conv(2, 2, 3)(a), ann.Conv(2, 2, 3)(b)
    assert ca.name == cb.name == "conv_1"  # separate graphs so far
    model = ann.Model([a, b], ann.Concat()(ca, cb))
    assert sorted(n for n in model.shapes if n.startswith("conv")) == ["conv_1", "conv_2"]
    two_unnamed = [ann.Input((1,)), ann.Input((1,))]
    model = ann.Model(two_unnamed, ann.Concat()(*two_unnamed))
    assert model.input_names == ["input_1", "input_2"]


def test_duplicate_given_names_are_errors():
    x = ann.Input((2, 4, 4), name="x")
    h = ann.Conv(2, 2, 3, name="same")(x)
    with pytest.raises(ann.GraphError, match="duplicate layer name 'same'"):
        ann.Conv(2, 2, 3, name="same")(h)
    a, b = ann.Input((1,), name="in"), ann.Input((1,), name="in")
    with pytest.raises(ann.GraphError, match="duplicate layer name 'in'"):
        ann.Concat()(a, b)


def test_a_layer_is_applied_once():
    x = ann.Input((2, 4, 4))
    conv = ann.Conv(2, 2, 3, name="c")
    conv(x)
    with pytest.raises(ann.GraphError, match="'c' is already used in a graph"):
        conv(x)


def test_outputs_depending_on_an_unlisted_input_is_an_error():
    a, b = ann.Input((1,), name="a"), ann.Input((1,), name="b")
    y = ann.Concat()(a, b)
    with pytest.raises(ann.GraphError, match="Input 'b', which is not among the inputs"):
        ann.Model(a, y)


def test_reserved_names_and_bad_inputs():
    with pytest.raises(ann.GraphError, match="reserved"):
        ann.Model(x := ann.Input((2,)), ann.Dense(2, 2, name="forward")(x))
    with pytest.raises(ann.ShapeError, match="shape"):
        ann.Input((3, 0, 4))
    with pytest.raises(ann.GraphError, match="expected graph nodes"):
        ann.Model(torch.zeros(2), torch.zeros(2))


def test_summary_lists_every_node_with_totals(capsys):
    model = small_net()
    model.summary()
    out = capsys.readouterr().out
    for name in model.shapes:
        assert name in out
    conv_macs = 4 * 8 * 8 * 3 * 9
    dense_macs = 64 * 5
    assert f"{conv_macs:,}" in out
    total = out.strip().splitlines()[-1].split()
    assert total[0] == "total"
    assert total[1] == f"{4 * 27 + 4 + 64 * 5 + 5:,}" and total[2] == f"{conv_macs + dense_macs:,}"
    assert model.multiply_adds() == conv_macs + dense_macs
