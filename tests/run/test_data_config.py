"""The run config's data section: a data set by name with its reader's arguments."""

import pytest

from axon.errors import ConfigError
from axon.run.config import RunConfig, dump_config, validate_config


def test_default_data_section_has_the_digits_reader_defaults():
    data = RunConfig().data
    assert data.name == "digits"
    assert data.reader_arguments() == {"test_fraction": 0.2, "val_fraction": 0.1, "split_seed": 0}
    assert "test_fraction: 0.2" in dump_config(RunConfig())


def test_reader_arguments_are_passed_and_kept():
    config = validate_config({"data": {"name": "shapes", "image_size": 16, "num_workers": 1}})
    assert config.data.reader_arguments()["image_size"] == 16
    assert config.data.num_workers == 1
    assert "imbalance" in config.data.reader_arguments()


@pytest.mark.parametrize("data, message", [
    ({"name": "imagefolder"}, "data.name: unknown data set 'imagefolder'"),
    ({"name": "digits", "path": "x"}, "data.path: unknown key"),
    ({"name": "shapes", "image_sise": 16}, "did you mean 'image_size'?"),
    ({"name": "digits", "test_fraction": 0.2, "nm_workers": 2}, "did you mean 'num_workers'?"),
])
def test_bad_data_section_names_the_key(data, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("?", r"\?")):
        validate_config({"data": data})
