import json

import pytest

from axon.errors import ConfigError
from axon.pvm.importer import import_file, import_original

ORIGINAL = {
    "layer_shapes": "[16, 8, 4, 3, 2, 1]", "input_block_size": "5", "hidden_block_size": "7",
    "fan_in_square_size": "2", "fan_in_radius": "2", "lateral_radius": "2.0",
    "context_exclude_self": "0", "last_layer_context_to_all": "1",
    "send_context_two_layers_back": "0", "initial_learning_rate": "0.0002",
    "intermediate_learning_rate": "0.0002", "final_learning_rate": "0.00001",
    "delay_each_layer_learning": "100000", "delay_intermediate_learning_rate": "100000",
    "delay_final_learning_rate": "100000", "enable_lateral_at": "700000",
    "enable_feedback_at": "900000", "momentum": "0.5", "tau": "0.98", "steps": "1000000",
    "use_derivative": "1", "use_integral": "1", "use_error": "1", "use_t_minus_2_block": "0",
    "predict_two_steps": "1", "use_global_backprop": "0", "unit_type": "simple",
    "polynomial": "1", "normalize_output": "0", "autoencoder": "0", "bias_free": "0",
    "enable_readout": "1", "readout_block_size": "[2, 2, 2, 2, 2, 2]", "readout_depth": "1",
    "supervised": "1", "supervised_rate": "0.0002", "backpropagate_readout_error": "0",
    "dataset": "green_ball_training", "reverse": "0", "new_name": "exp1",
    "version_major": "1", "version_minor": "0", "mystery_knob": "3",
}


def test_import_maps_and_reports_every_key(tmp_path):
    path = tmp_path / "orig.json"
    path.write_text(json.dumps(ORIGINAL))
    cfg, report = import_file(path)
    assert cfg.input_size == 80 and cfg.layer_shapes == [16, 8, 4, 3, 2, 1]
    assert cfg.activation == "rational" and cfg.schedule.final_learning_rate == 1e-5
    assert cfg.readout is not None and cfg.readout.learning_rate == 2e-4
    assert cfg.name == "exp1"
    seen = set(report.mapped) | set(report.inert) | set(report.unsupported) | set(report.unknown)
    assert seen == set(ORIGINAL)
    assert report.unknown == ["mystery_knob"]
    assert "predict_two_steps" in report.unsupported
    assert "steps" in report.inert and "dataset" in report.inert
    assert any(line.startswith("UNKNOWN mystery_knob") for line in report.lines())


def test_import_bad_values_name_the_key():
    with pytest.raises(ConfigError, match="momentum"):
        import_original({**ORIGINAL, "momentum": "fast"})
    with pytest.raises(ConfigError, match="layer_shapes"):
        import_original({k: v for k, v in ORIGINAL.items() if k != "layer_shapes"})
    with pytest.raises(ConfigError, match="tau"):
        import_original({**ORIGINAL, "tau": "-3"})
