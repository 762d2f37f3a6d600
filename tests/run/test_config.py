import pytest

from axon.errors import ConfigError
from axon.run.config import RunConfig, apply_overrides, dump_config, load_config, validate_config


def write(tmp_path, text, name="run.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_and_round_trip(tmp_path):
    config = load_config(write(tmp_path, "epochs: 3\noptimizer:\n  lr: 0.01\n"))
    assert config.epochs == 3 and config.optimizer.lr == 0.01
    assert config.model.name == "digits-cnn" and config.batch_size == 64
    assert load_config(write(tmp_path, dump_config(config), "again.yaml")) == config


def test_empty_file_means_defaults(tmp_path):
    assert load_config(write(tmp_path, "")) == RunConfig()


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.yaml: config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_yaml_syntax_error_names_file_line_column(tmp_path):
    path = write(tmp_path, "epochs: 3\nmodel:\n  name: [digits-cnn\n  args: {}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message and "YAML syntax error" in message
    assert "line 4, column" in message


@pytest.mark.parametrize(
    "text, key, suggestion",
    [("epoch: 3\n", "epoch", "epochs"), ("optimizer:\n  lrr: 0.1\n", "optimizer.lrr", "lr"),
     ("schedul: {}\n", "schedul", "schedule")],
)
def test_unknown_key_names_key_and_closest(tmp_path, text, key, suggestion):
    with pytest.raises(ConfigError, match=rf"unknown key '{key}' \(did you mean '{suggestion}'\?\)"):
        load_config(write(tmp_path, text))


@pytest.mark.parametrize(
    "text, field",
    [("epochs: 0\n", "epochs"), ("epochs: -2\n", "epochs"), ("batch_size: 0\n", "batch_size"),
     ("batch_size: -8\n", "batch_size"), ("epochs: many\n", "epochs"), ("optimizer: {lr: -1}\n", "optimizer.lr"),
     ("optimizer: {name: adam}\n", "optimizer.name"), ("name: a/b\n", "name"), ("device: gpu\n", "device")],
)
def test_wrong_type_or_range_names_field(tmp_path, text, field):
    with pytest.raises(ConfigError, match=rf"run\.yaml: {field}: "):
        load_config(write(tmp_path, text))


def test_top_level_must_be_a_mapping(tmp_path):
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(write(tmp_path, "- 1\n- 2\n"))


def test_overrides_are_validated():
    config = apply_overrides(RunConfig(), epochs=5, lr=0.1, batch_size=None)
    assert (config.epochs, config.optimizer.lr, config.batch_size) == (5, 0.1, 64)
    with pytest.raises(ConfigError, match="command line: epochs: Input should be greater than 0"):
        apply_overrides(RunConfig(), epochs=0)
    with pytest.raises(ConfigError, match="batch_size"):
        validate_config({"batch_size": -1})


def test_sharded_training_refuses_lbfgs(tmp_path):
    path = write(tmp_path, "optimizer: {name: lbfgs, weight_decay: 0}\ndistributed: {strategy: fsdp}\n")
    with pytest.raises(ConfigError, match=r"run\.yaml: distributed\.strategy: fsdp cannot run the lbfgs optimizer"):
        load_config(path)
