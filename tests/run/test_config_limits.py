"""Run-config values that used to end in a traceback, or to run silently wrong, or to
exhaust the machine: each is one ConfigError naming the file and the field."""

import pytest

from axon.errors import ConfigError
from axon.run.config import load_config
from axon.train.trainer import resolve_device

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))


@pytest.mark.parametrize("text, message", [
    ("epochs: true\n", "epochs: expected a number, got True"),
    ("seed: 1180591620717411303424\n", "seed: Input should be less than"),
    ('name: "run\\0x"\n', "name: must be a plain folder name"),
    ("name: .hidden\n", "name: must be a plain folder name"),
    ("device: cudaXYZ\n", "device: expected auto, cpu, cuda, cuda:N or mps"),
    ("data: {prefetch_factor: 2, num_workers: 0}\n", "prefetch_factor: 2 needs loader workers"),
    ("optimizer: {lr: .inf}\n", "optimizer.lr"),
    ("model: {args: " + "{a: " * 80 + "1" + "}" * 80 + "}\n", "nested deeper than 50 levels"),
    (BOMB, "aliases \\(\\*name\\) are not allowed"),
])
def test_bad_config_values_are_one_error(tmp_path, text, message):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=f"config.yaml: .*{message}"):
        load_config(path)


def test_a_config_that_is_not_utf8(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes(b"epochs: 3\nname: \xff\xfe\n")
    with pytest.raises(ConfigError, match="config.yaml: cannot read YAML"):
        load_config(path)


@pytest.mark.parametrize("device, message", [("cudaXYZ", "'cudaXYZ' is not a device"),
                                             ("cuda:99", "cuda:99 is not on this machine")])
def test_devices_that_do_not_exist(device, message):
    with pytest.raises(ConfigError, match=message):
        resolve_device(device)
