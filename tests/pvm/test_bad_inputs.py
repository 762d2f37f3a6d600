"""PVM inputs a user may get wrong or a crash may damage: each is one axon error naming
the file, and a resumed run continues its metrics exactly."""

import csv
import json
import zlib
import struct

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from axon.data.video import FolderSource, NumpySource, PanningCamera
from axon.errors import CheckpointError, ConfigError
from axon.pvm.config import load_model, parse_model
from axon.pvm.engine import PVMEngine
from axon.pvm.importer import import_file
from axon.pvm.runner import PVMRunner
from axon.pvm.snapshot import load_snapshot

from .helpers import TINY, tiny


def runner(tmp_path, name, metrics_every=20, **kw):
    return PVMRunner(tiny(), PanningCamera((12, 12), length=50), tmp_path / name, progress=False,
                     metrics_every=metrics_every, **kw)


def test_metrics_after_resuming_off_a_metrics_boundary_are_exact(tmp_path):
    straight = runner(tmp_path, "a", snapshot_every=50)
    straight.run(60, log=lambda line: None)
    resumed = runner(tmp_path, "b")
    resumed.resume(tmp_path / "a" / "snapshots" / "step_00000050.safetensors")
    resumed.run(60, log=lambda line: None)
    row = lambda name: list(csv.DictReader(open(tmp_path / name / "metrics.csv")))[-1]  # noqa: E731
    a, b = row("a"), row("b")
    assert a["step"] == b["step"] == "60"
    for key in a:
        if key != "steps_per_s":
            assert a[key] == b[key], key


def test_interrupted_snapshot_writes_are_cleaned_on_resume(tmp_path):
    first = runner(tmp_path, "a", snapshot_every=5)
    first.run(5, log=lambda line: None)
    leftover = tmp_path / "a" / "snapshots" / ".step_00000010.safetensors.tmp-12345"
    leftover.write_bytes(b"\0" * 1000)
    again = runner(tmp_path, "a")
    again.resume(tmp_path / "a" / "snapshots" / "step_00000005.safetensors")
    again.run(6, log=lambda line: None)
    assert not leftover.exists()


def test_model_files_that_are_not_utf8_json_or_finite(tmp_path):
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\xff\xfe{\x00\x81")
    with pytest.raises(ConfigError, match="garbage.json: not UTF-8"):
        load_model(garbage)
    with pytest.raises(ConfigError, match="garbage.json: not UTF-8"):
        import_file(garbage)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ConfigError, match="deep.json"):
        load_model(deep)
    original = tmp_path / "original.json"
    for key, value in [("tau", "inf"), ("hidden_block_size", "inf"), ("momentum", "nan"),
                       ("layer_shapes", "[]"), ("hidden_block_size", "1e400")]:
        original.write_text(json.dumps({"layer_shapes": "[4, 2, 1]", key: value}))
        with pytest.raises(ConfigError, match=key if key != "layer_shapes" else "layer_shapes"):
            import_file(original)
    infinite = tmp_path / "infinite.json"
    infinite.write_text(json.dumps({**TINY, "tau": 1.0}).replace("1.0", "Infinity"))
    with pytest.raises(ConfigError, match="infinite.json: tau"):
        load_model(infinite)


@pytest.mark.parametrize("name", ["../../../escaped_pvm", "/abs", "a/b", "a\\b", "..", ".hidden", "nul\0", "", " x", "x" * 101])
def test_a_name_that_is_not_a_plain_folder_name_is_refused(name):
    with pytest.raises(ConfigError, match="name: expected a plain name"):
        parse_model({**TINY, "name": name})


def test_a_model_too_large_for_memory_is_refused_before_allocating():
    huge = tiny(input_size=3 * 4000, layer_shapes=[4000, 2000, 1000], hidden_block_size=30)
    with pytest.raises(ConfigError, match=r"PVM model 'tiny'.*needs about [0-9.]+ TiB of memory"):
        PVMEngine(huge)


def _corrupt_state(path, edit):
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    tensors = load_file(str(path))
    save_file(tensors, str(path), metadata={"axon_pvm": edit(meta["axon_pvm"])})


@pytest.mark.parametrize("edit, message", [
    (lambda text: text[:-5], "not JSON"),
    (lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "switches"}), "switches"),
    (lambda text: json.dumps({**json.loads(text), "step": -3}), "step"),
    (lambda text: json.dumps({**json.loads(text), "model": {**json.loads(text)["model"], "tau": "x"}}), "tau"),
    (lambda text: text.replace('"frozen": false', '"frozen": "no"'), "switches.frozen"),
])
def test_damaged_snapshot_metadata_is_one_error(tmp_path, edit, message):
    r = runner(tmp_path, "a")
    r.run(2, log=lambda line: None)
    snap = tmp_path / "a" / "snapshots" / "step_00000002.safetensors"
    _corrupt_state(snap, edit)
    with pytest.raises(CheckpointError, match=f"step_00000002.safetensors.*{message}"):
        runner(tmp_path, "b").resume(snap)


def _png(width, height, rows=b"") -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def test_bad_png_frames(tmp_path):
    from PIL import Image

    good = tmp_path / "good"
    good.mkdir()
    noise = np.random.default_rng(0).integers(0, 256, (12, 12, 3), dtype=np.uint8)
    Image.fromarray(noise).save(good / "a.png")
    (good / "b.png").write_bytes((good / "a.png").read_bytes()[:200])  # truncated in its image data
    source = FolderSource(good, (12, 12))
    with pytest.raises(ConfigError, match="b.png: cannot decode"):
        source.frame(1)
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "a.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(ConfigError, match="a.png: not a readable PNG"):
        FolderSource(junk, (12, 12))
    bomb = tmp_path / "bomb"
    bomb.mkdir()
    (bomb / "a.png").write_bytes(_png(9000, 9000))  # 81 million pixels (below PIL's own limits) in 60 bytes
    with pytest.raises(ConfigError, match="a.png: frames of 9000x9000 pixels"):
        FolderSource(bomb, (12, 12))


@pytest.mark.parametrize("array, message", [
    (np.array([[["a"]]]), "dtype <U1"),
    (np.zeros((3, 0, 0), np.uint8), "0x0 pixels"),
    (np.zeros((3, 4, 4, 7), np.uint8), "7 channels"),
])
def test_bad_npy_frames(tmp_path, array, message):
    np.save(tmp_path / "frames.npy", array)
    with pytest.raises(ConfigError, match=f"frames.npy: .*{message}"):
        NumpySource(tmp_path / "frames.npy", (12, 12))
