import json
from pathlib import Path

import pytest

from axon.errors import ConfigError
from axon.pvm.config import PVMConfig, apply_overrides, load_model, parse_model
from axon.pvm.topology import build_topology

EXAMPLES = Path(__file__).parents[2] / "examples" / "pvm"


def base(**kw):
    data = {"input_size": 20, "layer_shapes": [4, 2, 1]}
    data.update(kw)
    return data


@pytest.mark.parametrize("name,units,shapes", [
    ("experiment-1", 350, [16, 8, 4, 3, 2, 1]),
    ("seed-small", 265, [12, 8, 6, 4, 2, 1]),
    ("seed-large", 921, [20, 16, 12, 8, 6, 4, 2, 1]),
    ("large", 1497, [24, 20, 16, 12, 8, 6, 4, 2, 1]),
    ("seed-small-axon", 265, [12, 8, 6, 4, 2, 1]),
    ("experiment-1-axon", 350, [16, 8, 4, 3, 2, 1]),
])
def test_shipped_models_validate(name, units, shapes):
    cfg = load_model(EXAMPLES / f"{name}.json")
    assert cfg.layer_shapes == shapes
    assert sum(t.units for t in build_topology(cfg)) == units


@pytest.mark.parametrize("name", ["experiment-1", "seed-small", "seed-large", "large"])
def test_the_originals_models_run_as_the_original(name):
    cfg = load_model(EXAMPLES / f"{name}.json")
    assert (cfg.activation, cfg.step, cfg.prediction, cfg.input_norm) == (
        "rational", "pipelined", "signal", None)
    assert cfg.context.top_twice and cfg.context.lateral_from_layer0


@pytest.mark.parametrize("name", ["seed-small-axon", "experiment-1-axon"])
def test_axons_unit_models(name):
    cfg = load_model(EXAMPLES / f"{name}.json")
    assert cfg.prediction == "change" and cfg.input_norm is not None
    assert not (cfg.context.top_twice or cfg.context.lateral_from_layer0)
    # the settings measured for issue 19's Better target (benchmarks/RESULTS.md)
    sched = cfg.schedule
    assert (sched.initial_learning_rate, sched.intermediate_learning_rate, cfg.momentum,
            cfg.input_norm.decay, cfg.input_norm.eps) == (0.2, 0.2, 0.0, 0.9999, 1e-4)
    assert (sched.delay_each_layer, sched.enable_lateral_at, sched.enable_feedback_at) == (
        2000, 0, 0)


def test_published_unit_sizes_of_experiment_1():
    # a corner layer-0 unit is 693 -> 49 -> 75, a corner layer-1 unit 1177 -> 49 -> 196
    topo = build_topology(load_model(EXAMPLES / "experiment-1.json"))
    assert 4 * topo[0].signal_size + len(topo[0].context[0]) * 49 + 1 == 693
    assert topo[0].signal_size == 75
    assert 4 * topo[1].signal_size + len(topo[1].context[0]) * 49 + 1 == 1177
    # radius 2 including self: 13 lateral units in the interior
    interior = topo[0].context[5 * 16 + 5]
    assert sum(1 for _, g in interior if g == 0) == 13


def test_overlapping_blocks_cover_lower_layer():
    topo = build_topology(load_model(EXAMPLES / "experiment-1.json"))
    layer3 = topo[3]  # 3x3 over 4x4
    covered = {k for block in layer3.children for k in block}
    assert covered == set(range(16))
    assert layer3.children[0] == [0, 1, 4, 5] and layer3.children[4] == [5, 6, 9, 10]


def test_lateral_context_of_upper_layers_comes_from_same_layer():
    cfg = load_model(EXAMPLES / "experiment-1.json")
    cfg.context.lateral_from_layer0 = False  # axon's wiring (the file replicates the original's)
    topo = build_topology(cfg)
    for layer in topo[1:]:
        lo, hi = layer.offset, layer.offset + layer.units
        for ctx in layer.context:
            assert all(lo <= gid < hi for gid, g in ctx if g == 0)


def test_exclude_self_and_two_layers_back():
    cfg = parse_model(base(context={"exclude_self": True, "two_layers_back": True,
                                    "top_to_all": False}))
    topo = build_topology(cfg)
    assert all(gid != i for i, ctx in enumerate(topo[0].context) for gid, _ in ctx)
    assert (20, 2) in topo[0].context[0]  # the top unit, two layers up


@pytest.mark.parametrize("data,key", [
    (base(input_size=21), "input_size"),
    (base(layer_shapes=[5, 2, 1]), "layer_shapes[0]"),
    (base(fan_in_square_size=5), "fan_in_square_size"),
    (base(layer_shapes=[4, 1]), "layer_shapes[1]"),
    (base(schedule={"initial_learning_rate": -0.1}), "schedule.initial_learning_rate"),
    (base(momentum=-1), "momentum"),
    (base(colour=True), "colour"),
    (base(readout={"learning_rate": -1}), "readout.learning_rate"),
    (base(prediction="delta"), "prediction"),
])
def test_bad_models_name_the_key(data, key):
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        parse_model(data, "m.json")


def test_load_model_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_model(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_model(bad)


def test_overrides_revalidate():
    cfg = parse_model(base())
    assert apply_overrides(cfg, ["schedule.delay_each_layer=7", "name=x"]).schedule.delay_each_layer == 7
    with pytest.raises(ConfigError, match="tau"):
        apply_overrides(cfg, ["tau=2"])
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        apply_overrides(cfg, ["tau"])
    with pytest.raises(ConfigError, match="'input_norm' is off"):
        apply_overrides(cfg, ["input_norm.decay=0.9"])
    with pytest.raises(ConfigError, match="not a section"):
        apply_overrides(cfg, ["tau.x=1"])
    on = apply_overrides(cfg, ['input_norm={"decay": 0.9}'])
    assert on.input_norm.decay == 0.9 and on.input_norm.eps == 1e-4
    with pytest.raises(ConfigError, match="input_norm.decay"):
        apply_overrides(on, ["input_norm.decay=1"])


def test_json_roundtrip():
    cfg = parse_model(base(activation="rational", readout={"tile_size": 3}))
    assert PVMConfig.model_validate(json.loads(cfg.to_json())) == cfg


def test_schedule():
    s = parse_model(base(schedule={"delay_each_layer": 10, "delay_intermediate": 5,
                                   "delay_final": 8, "initial_learning_rate": 3,
                                   "intermediate_learning_rate": 2,
                                   "final_learning_rate": 1})).schedule
    assert [s.learning_rate(1, t) for t in (9, 10, 15, 18)] == [0, 3, 2, 1]


def test_top_twice_replicates_the_duplicated_top_context():
    """The original sends the top unit's context twice to layer L-2 (as parent and as
    'last layer context to all'); axon sends it once unless asked."""
    cfg = load_model(EXAMPLES / "experiment-1.json")
    assert cfg.context.top_twice  # the file replicates the original
    twice = build_topology(cfg)
    cfg.context.top_twice = False
    once = build_topology(cfg)
    top = once[-1].offset
    for a, b in zip(once[4].context, twice[4].context):
        assert [gid for gid, _ in a].count(top) == 1
        assert [gid for gid, _ in b].count(top) == 2
    assert once[3].context == twice[3].context
    # 1,030 inputs at layer 4 of experiment 1 without the duplicate, 1,079 with it
    d = lambda layer: 4 * layer.signal_size + len(layer.context[0]) * 49 + 1  # noqa: E731
    assert (d(once[4]), d(twice[4])) == (1030, 1079)


def test_lateral_from_layer0_replicates_the_original():
    cfg = load_model(EXAMPLES / "experiment-1.json")
    cfg.context.lateral_from_layer0 = True
    topo = build_topology(cfg)
    layer2 = topo[2]  # 4x4: unit (1, 1) reads layer 0's units around (1, 1)
    lateral = sorted(gid for gid, g in layer2.context[1 * 4 + 1] if g == 0)
    want = sorted(r * 16 + c for r in range(4) for c in range(4)
                  if (r - 1) ** 2 + (c - 1) ** 2 <= 4)
    assert lateral == want
