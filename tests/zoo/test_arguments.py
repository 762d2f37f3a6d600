"""Bad `model.args`: one ConfigError naming model.args.<key>, before any weight exists."""

import pytest
import torch

from axon import zoo
from axon.errors import ConfigError
from axon.zoo.registry import _BUILDERS


@pytest.mark.parametrize("name", zoo.names())
def test_every_model_builds_on_the_meta_device(name):
    """zoo.create measures a model on the meta device before building it."""
    with torch.device("meta"):
        model = _BUILDERS[name]()
    assert all(p.device.type == "meta" for p in model.parameters())


@pytest.mark.parametrize("args, message", [
    ({"width": "wide"}, "model.args.width: 'wide' is not a valid int for 'digits-cnn'"),
    ({"width": 2.5}, "model.args.width: 2.5 is not a valid int"),
    ({"width": True}, "model.args.width: True is not a valid int"),
    ({"dropout": "nope"}, "model.args.dropout: 'nope' is not a valid float"),
    ({"width": -3}, "model 'digits-cnn' with model.args.width -3: Conv 'conv1': out_bands must be an integer >= 1"),
    ({"dropout": 7}, "model.args.dropout 7: Dropout 'dropout': p must be a probability in [0, 1)"),
    ({"width": 10**9}, "model 'digits-cnn' with model.args.width 1000000000: "),
    ({"width": 10**30}, "model 'digits-cnn' with model.args.width 1000000000000000000000000000000: "),
    ({"width": 10**6}, "model 'digits-cnn' with model.args.width 1000000: its weights: needs about"),
])
def test_bad_arguments_are_one_config_error(args, message):
    with pytest.raises(ConfigError) as err:
        zoo.create("digits-cnn", **args)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_model_too_large_for_the_memory_is_refused_naming_its_arguments():
    with pytest.raises(ConfigError, match=r"model 'pointpillars' with model.args.num_filters \[64, 128, 100000\]: "
                                          r"its weights: needs about 1.6 TiB of memory, but only .* is free"):
        zoo.create("pointpillars", num_filters=[64, 128, 100_000])
