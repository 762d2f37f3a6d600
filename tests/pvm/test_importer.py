"""`axon pvm import`: the original's model files (flat JSON, string values, list values as
JSON lists of strings; fixtures written here in that shape) become axon models that run
as the original runs them, with every key reported."""

import json
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from axon.errors import AxonError, ConfigError
from axon.pvm.engine import PVMEngine
from axon.pvm.importer import import_file, import_original

FIXTURES = Path(__file__).parent / "fixtures"
EXPERIMENT_1 = FIXTURES / "original_experiment1.json"
SUPERVISED = FIXTURES / "original_seed_small_supervised.json"
# keys every one of the original's files carries besides the model's parameters
ALWAYS = ["bias_free_readout", "disable_feedback", "disable_lateral", "ex_module",
          "model_type", "only_one_channel", "save_source_files", "stereo", "name"]


def original(path=EXPERIMENT_1, **changes):
    return {**json.loads(path.read_text()), **changes}


@pytest.mark.parametrize("path", [EXPERIMENT_1, SUPERVISED])
def test_every_key_of_the_originals_files_is_mapped_or_explained(path):
    cfg, report = import_file(path)
    keys = set(original(path))
    seen = set(report.mapped) | set(report.inert) | set(report.unsupported)
    assert seen == keys and not report.unknown
    assert set(ALWAYS) <= keys
    for key, why in report.inert.items():
        assert why.strip(), key  # a reason for each


def test_experiment_1_runs_as_the_original():
    cfg, report = import_file(EXPERIMENT_1)
    assert cfg.layer_shapes == [16, 8, 4, 3, 2, 1] and cfg.input_size == 80
    assert cfg.name == "experiment1_green_ball"
    # polynomial "0" still gives the rational function; the original's timing and wiring
    assert (cfg.activation, cfg.step) == ("rational", "pipelined")
    assert cfg.context.top_twice and cfg.context.lateral_from_layer0
    assert cfg.schedule.final_learning_rate == 1e-5 and cfg.schedule.enable_feedback_at == 900000
    assert cfg.readout.tile_size == [2, 4, 8, 10, 16, 32] and cfg.readout.learning_rate == 2e-4
    assert not cfg.readout.supervised_only
    assert "polynomial" in report.mapped and "rational" in report.mapped["polynomial"]
    for key in ("ex_module", "model_type", "save_source_files", "stereo", "bias_free_readout",
                "disable_feedback", "disable_lateral", "only_one_channel"):
        assert key in report.inert, key
    assert any(line.startswith("implied step") for line in report.lines())
    # a small model in the same file shape builds and steps, its readout tiled per layer
    small, _ = import_original(original(layer_shapes=["4", "2", "1"], input_block_size="3",
                                        hidden_block_size="3", readout_block_size=["2", "3", "4"]))
    engine = PVMEngine(small)
    engine.step(torch.rand(3, 12, 12), torch.ones(12, 12))
    assert [layer.heat.shape[1] for layer in engine.layers] == [4, 9, 16]


def test_supervised_sets_every_predictor_learning_rate_to_zero():
    cfg, report = import_file(SUPERVISED)
    assert cfg.name == "seed_small_tracker"  # new_name is empty: the name is kept
    assert cfg.readout.supervised_only and report.mapped["supervised"] == "readout.supervised_only"
    assert cfg.readout.tile_size == [3] * 6
    assert "predict_two_steps" in report.unsupported
    small, _ = import_original(original(SUPERVISED, layer_shapes=["4", "2", "1"],
                                        input_block_size="3", hidden_block_size="3",
                                        readout_block_size="2"))
    engine = PVMEngine(small)
    w1, readout = engine.layers[0].w1.clone(), engine.layers[0].readout.clone()
    for _ in range(3):
        engine.step(torch.rand(3, 12, 12), torch.ones(12, 12))
    assert all(engine.learning_rate(l) == 0 for l in range(3))
    assert torch.equal(engine.layers[0].w1, w1)
    assert not torch.equal(engine.layers[0].readout, readout)


@pytest.mark.parametrize("changes,expect", [
    ({"disable_feedback": "1"}, lambda c: not (c.context.feedback or c.context.top_to_all)),
    ({"disable_lateral": "1"}, lambda c: c.context.lateral_radius == 0 and c.context.exclude_self),
    ({"only_one_channel": "1"}, lambda c: c.input_channels == 1),
    ({"enable_readout": ["0"] * 6}, lambda c: c.readout is None),
    ({"layer_shapes": "[16, 8, 4, 3, 2, 1]"}, lambda c: c.layer_shapes == [16, 8, 4, 3, 2, 1]),
    ({"readout_block_size": "2"}, lambda c: c.readout.tile_size == 2),
    ({"momentum": 0.25}, lambda c: c.momentum == 0.25),
])
def test_switches_and_value_forms(changes, expect):
    cfg, _ = import_original(original(**changes))
    assert expect(cfg)


@pytest.mark.parametrize("changes,report_bin", [
    ({"stereo": "1"}, "unsupported"), ({"bias_free_readout": "1"}, "unsupported"),
    ({"enable_readout": ["1", "0", "0", "0", "0", "0"]}, "unsupported"),
    ({"mystery_knob": "3"}, "unknown"),
])
def test_what_axon_cannot_do_is_reported(changes, report_bin):
    _, report = import_original(original(**changes))
    assert list(changes)[0] in getattr(report, report_bin)


@pytest.mark.parametrize("changes,key", [
    ({"momentum": "fast"}, "momentum"), ({"tau": "-3"}, "tau"),
    ({"layer_shapes": ["16", "eight"]}, "layer_shapes"), ({"layer_shapes": []}, "layer_shapes"),
    ({"hidden_block_size": ["7"]}, "hidden_block_size"), ({"momentum": "1e999"}, "momentum"),
    ({"readout_block_size": ["2", "x"]}, "readout_block_size"),
    ({"readout_block_size": ["2", "2"]}, "tile_size"),
])
def test_bad_values_name_the_key(changes, key):
    with pytest.raises(ConfigError, match=key):
        import_original(original(**changes))
    with pytest.raises(ConfigError, match="layer_shapes"):
        import_original({k: v for k, v in original().items() if k != "layer_shapes"})


def test_bad_files_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"name": "\xff"}')
    with pytest.raises(ConfigError, match="bad.json"):
        import_file(bad)
    bad.write_text("[" * 100_000)
    with pytest.raises(ConfigError, match="bad.json"):
        import_file(bad)


_values = st.one_of(st.text(max_size=12), st.integers(-10**30, 10**30),
                    st.floats(allow_nan=True), st.none(), st.booleans(),
                    st.lists(st.one_of(st.text(max_size=4), st.integers(-5, 40)), max_size=8))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(sorted(original())), _values, max_size=6),
       st.randoms(use_true_random=False))
def test_fuzzed_originals_give_a_model_or_one_clear_error(tmp_path_factory, changes, rnd):
    """Mutated real-shape files: either a valid model or axon's own error naming the file."""
    data = original(SUPERVISED if rnd.random() < 0.5 else EXPERIMENT_1, **changes)
    for key in rnd.sample(sorted(data), rnd.randint(0, 3)):
        del data[key]
    path = tmp_path_factory.mktemp("fuzz") / "model.json"
    text = json.dumps(data)
    if rnd.random() < 0.2:  # byte-level damage too
        at = rnd.randrange(len(text))
        text = text[:at] + rnd.choice(['"', "]", "\xff", "{", "1e999"]) + text[at + 1:]
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        cfg, _ = import_file(path)
    except AxonError as err:
        assert "model.json" in str(err)
        return
    assert cfg.input_size == cfg.layer_shapes[0] * cfg.input_block_size
    assert torch.tensor(cfg.layer_shapes).min() >= 1
