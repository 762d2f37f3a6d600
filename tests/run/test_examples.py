"""Every run config in examples/ is a valid config (keys, values, task-specific blocks), so the
commands the docs show with them cannot fail on the config itself."""

from pathlib import Path

import pytest
import yaml

from axon.run.config import validate_config

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").rglob("*.yaml"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_config_validates(path):
    validate_config(yaml.safe_load(path.read_text()))
