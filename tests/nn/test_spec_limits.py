"""Network specs a user may get wrong, or that would exhaust the machine: each is one
ConfigError naming the file or node, and building a spec is linear in its size."""

import time

import pytest

from axon.errors import ConfigError
from axon.nn.spec import model_from_spec, read_spec


def _conv(out_bands):
    return {"version": 1, "inputs": ["x"], "outputs": ["c"], "nodes": [
        {"name": "x", "type": "Input", "args": {"shape": [3, 8, 8]}, "inputs": []},
        {"name": "c", "type": "Conv", "args": {"in_bands": 3, "out_bands": out_bands, "kernel_size": 3},
         "inputs": ["x"]}]}


def _chain(length):
    nodes = [{"name": "x", "type": "Input", "args": {"shape": [4]}, "inputs": []}]
    for i in range(length):
        nodes.append({"name": f"a{i}", "type": "Activation", "args": {"kind": "relu"},
                      "inputs": [nodes[-1]["name"]]})
    return {"version": 1, "inputs": ["x"], "outputs": [nodes[-1]["name"]], "nodes": nodes}


def test_a_layer_too_large_for_memory_is_refused_before_allocating():
    with pytest.raises(ConfigError, match=r"largest: node 'c', [0-9.]+ GiB\): needs about [0-9.]+ GiB of memory"):
        model_from_spec(_conv(10**9))


@pytest.mark.parametrize("size", [10**30, 2**62])
def test_sizes_torch_cannot_make_are_one_line(size):
    with pytest.raises(ConfigError, match="node 'c': bad arguments for Conv") as info:
        model_from_spec(_conv(size))
    assert "\n" not in str(info.value)


def test_spec_files_that_are_not_utf8_or_too_deep(tmp_path):
    bad = tmp_path / "network.json"
    bad.write_bytes(b'{"version": 1, "nodes": "\xff\xfe"}')
    with pytest.raises(ConfigError, match="network.json: not UTF-8"):
        read_spec(bad)
    bad.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ConfigError, match="network.json: JSON nested too deeply"):
        read_spec(bad)


def test_building_a_spec_is_linear_in_its_nodes():
    def cpu_seconds(length):
        spec = _chain(length)
        start = time.process_time()
        model_from_spec(spec)
        return time.process_time() - start

    # the best of several builds, so other processes' cache pressure and the collector's
    # pauses fall out; 8x the nodes: linear gives about 8x, quadratic 64x (a loaded CI run
    # measured 12x for 4x the nodes, too close to quadratic's 16x to tell them apart)
    small = min(cpu_seconds(1000) for _ in range(3))
    large = min(cpu_seconds(8000) for _ in range(3))
    assert large < 24 * small
