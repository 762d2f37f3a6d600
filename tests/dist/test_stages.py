"""Cutting models into pipeline stages (one process): the stages compose to the model,
keep its parameter names, balance their cost, and bad cuts are named errors."""

import pytest
import torch
from torch import nn

from axon.dist.pipeline import chunk_runs
from axon.dist.stages import balanced_cuts, plan_stages, stage_module, valid_cuts
from axon.errors import ConfigError
from axon.nn import Concat, Dense, Flatten, Input, Model
from axon.zoo import create


def googlenet():
    torch.manual_seed(0)
    return create("googlenet", num_classes=10, image_size=64, width=0.125, dropout=0.0)


def skip_graph():
    """x -> a -> b -> concat(a, b) -> out: only `a` crosses the cut before b; both `a`
    and `b` cross the cut before `joined`."""
    x = Input((4,), name="x")
    a = Dense(4, 5, name="a")(x)
    b = Dense(5, 5, name="b")(a)
    joined = Concat(name="joined")(a, b)
    return Model(x, Dense(10, 2, name="out")(joined))


@pytest.mark.parametrize("stages", [2, 3, 4])
def test_stages_compose_to_the_model_and_keep_its_parameter_names(stages):
    model = googlenet()
    plan = plan_stages(model, stages)
    parts = [stage_module(model, plan, i) for i in range(stages)]
    x = torch.randn(2, 3, 64, 64)
    h = x
    for part in parts:
        h = part(h)
    assert torch.equal(h, model(x))
    names = [name for part in parts for name in part.state_dict()]
    assert sorted(names) == sorted(model.state_dict())


def test_named_cuts_start_stages_at_those_layers():
    model = googlenet()
    plan = plan_stages(model, 3, split_at=["inception_4a", "inception_5a"])
    assert [stage[0] for stage in plan] == ["conv1", "inception_4a", "inception_5a"]
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 5))
    plan = plan_stages(seq, 2, split_at=["2"])
    assert plan == [["0", "1"], ["2"]]
    assert list(stage_module(seq, plan, 1).state_dict()) == ["2.weight", "2.bias"]


def test_a_cut_that_is_not_a_single_tensor_edge_names_the_layer():
    model = skip_graph()
    with pytest.raises(ConfigError, match=r"cut before layer 'joined' is not a single tensor edge: 2 tensors .*'a', 'b'"):
        plan_stages(model, 2, split_at=["joined"])
    assert valid_cuts(model) == [1, 3]  # before b (only a crosses) and before out
    with pytest.raises(ConfigError, match=r"split_at: no layer named 'nope' \(layers in order: a, b, joined, out\)"):
        plan_stages(model, 2, split_at=["nope"])
    with pytest.raises(ConfigError, match=r"make 3 stages, but distributed.stages is 2"):
        plan_stages(model, 2, split_at=["b", "out"])
    with pytest.raises(ConfigError, match=r"at most 3 stages, not 4"):
        plan_stages(model, 4)
    with pytest.raises(ConfigError, match=r"not a ModuleDict"):
        plan_stages(nn.ModuleDict({"a": nn.Linear(2, 2)}), 2)


def test_balancing_minimises_the_largest_stage():
    costs = [5, 1, 1, 1, 5, 1]
    assert balanced_cuts(costs, [1, 2, 3, 4, 5], 2) == [3]  # 7 | 7
    assert balanced_cuts(costs, [1, 2, 3, 4, 5], 3) == [1, 4]  # 5 | 3 | 6
    assert balanced_cuts(costs, [4], 2) == [4]
    digits = create("digits-cnn")
    sizes = []
    for stage in plan_stages(digits, 2):
        part = stage_module(digits, plan_stages(digits, 2), plan_stages(digits, 2).index(stage))
        sizes.append(sum(p.numel() for p in part.parameters()))
    assert max(sizes) < 0.8 * sum(sizes)  # neither stage holds (nearly) everything


def test_multiply_adds_come_from_the_flop_counter():
    model = googlenet()
    by_flops = plan_stages(model, 2, balance="multiply_adds")
    by_bytes = plan_stages(model, 2)
    assert by_flops != by_bytes  # the early, high-resolution layers cost compute, not parameters
    with pytest.raises(ConfigError, match="multiply_adds needs an axon graph Model"):
        plan_stages(nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)), 2, balance="multiply_adds")


def test_micro_batches_are_tensor_split_chunks_in_runs_of_equal_size():
    assert chunk_runs(16, 4) == [(4, 4)]
    assert chunk_runs(10, 4) == [(2, 3), (2, 2)]
    assert chunk_runs(3, 4) == [(3, 1)]
