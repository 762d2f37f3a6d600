import csv

import pytest
import torch
from safetensors.torch import load_file

from axon.data.video import MovingShapes, PanningCamera
from axon.errors import CheckpointError, ConfigError
from axon.pvm.runner import PVMRunner
from axon.pvm.snapshot import load_snapshot, read_snapshot_state

from .helpers import tiny


def runner(tmp_path, name="run", cfg=None, **kw):
    cfg = cfg or tiny()
    kw.setdefault("metrics_every", 5)
    return PVMRunner(cfg, PanningCamera((12, 12), length=50), tmp_path / name,
                     progress=False, **kw)


def test_metrics_csv_has_per_layer_errors(tmp_path):
    r = runner(tmp_path)
    r.run(20, log=lambda line: None)
    rows = list(csv.DictReader(open(tmp_path / "run" / "metrics.csv")))
    assert [int(row["step"]) for row in rows] == [5, 10, 15, 20]
    for l in range(4):
        assert all(0 < float(row[f"mse_{l}"]) < 1 for row in rows)
        assert all(float(row[f"mae_{l}"]) ** 2 <= float(row[f"mse_{l}"]) + 1e-12 for row in rows)
    assert float(rows[-1]["copy_mse_0"]) > 0 and float(rows[-1]["steps_per_s"]) > 0


@pytest.mark.parametrize("variant", [{}, {"prediction": "change"},
                                     {"prediction": "change", "input_norm": {"decay": 0.8}}],
                         ids=["signal", "change", "change-norm"])
def test_snapshot_resume_is_exact(tmp_path, variant):
    cfg = tiny(**variant)
    a = runner(tmp_path, "a", cfg=cfg, snapshot_every=4)
    a.run(10, log=lambda line: None)
    b = runner(tmp_path, "b", cfg=cfg)
    b.resume(tmp_path / "a" / "snapshots" / "step_00000004.safetensors")
    assert b.step_count == 4
    b.run(10, log=lambda line: None)
    ta = load_file(str(tmp_path / "a" / "snapshots" / "step_00000010.safetensors"))
    tb = load_file(str(tmp_path / "b" / "snapshots" / "step_00000010.safetensors"))
    assert ta.keys() == tb.keys()
    assert ("layer0.out" in ta) == ("prediction" in variant)
    assert ("layer0.norm_mean" in ta) == ("input_norm" in variant)
    for k in ta:
        assert torch.equal(ta[k], tb[k]), k
    # resuming into the first run's folder keeps its metrics up to the snapshot only
    c = runner(tmp_path, "a", cfg=cfg)
    c.resume(tmp_path / "a" / "snapshots" / "step_00000004.safetensors")
    c.run(6, log=lambda line: None)
    steps = [int(r["step"]) for r in csv.DictReader(open(tmp_path / "a" / "metrics.csv"))]
    assert steps == [5]
    fresh = runner(tmp_path, "a", cfg=cfg)
    fresh.run(0, log=lambda line: None)
    assert not (tmp_path / "a" / "metrics.csv").exists()
    state = read_snapshot_state(tmp_path / "b" / "snapshots" / "step_00000010.safetensors")
    assert state["step"] == 10 and state["model"]["name"] == "tiny"


def test_snapshot_of_a_different_model_is_refused(tmp_path):
    a = runner(tmp_path, "a")
    a.run(3, log=lambda line: None)
    snap = tmp_path / "a" / "snapshots" / "step_00000003.safetensors"
    before = snap.read_bytes()
    b = runner(tmp_path, "b", cfg=tiny(tau=0.5))
    w = b.engine.layers[0].w1.clone()
    with pytest.raises(CheckpointError, match="tau"):
        b.resume(snap)
    assert torch.equal(b.engine.layers[0].w1, w) and b.step_count == 0
    assert snap.read_bytes() == before
    with pytest.raises(CheckpointError, match="prediction"):
        runner(tmp_path, "c", cfg=tiny(prediction="change")).resume(snap)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_snapshot(tmp_path / "nope.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a snapshot")
    with pytest.raises(CheckpointError, match="junk"):
        load_snapshot(tmp_path / "junk.safetensors")


def test_source_of_the_wrong_size_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="needs 3x12x12"):
        PVMRunner(tiny(), PanningCamera((16, 16)), tmp_path)
    with pytest.raises(ConfigError, match="display_every"):
        PVMRunner(tiny(), PanningCamera((12, 12)), tmp_path, display_every=-1)


def test_input_modes(tmp_path):
    r = runner(tmp_path)
    r.run(3, log=lambda line: None)
    r.blindspot = True
    f = r.input_frame()
    y0, y1, x0, x1 = r.blindspot_box()
    assert (f.image[:, y0:y1, x0:x1] == 0.5).all() and (y1 - y0) == 4
    r.blindspot, r.dream = False, True
    assert torch.equal(r.input_frame().image, r.prediction_image())
    r.dream, r.noise = False, True
    clean = r.source.frame(r.step_count).image
    noisy = r.input_frame().image
    assert not torch.equal(noisy, clean) and torch.equal(noisy, r.input_frame().image)


def test_display_png_and_readout(tmp_path):
    cfg = tiny(readout={"tile_size": 2, "learning_rate": 0.1})
    r = PVMRunner(cfg, MovingShapes((12, 12)), tmp_path, display_every=4, progress=False)
    r.run(4, log=lambda line: None)
    png = tmp_path / "display" / "step_00000004.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    panels = r.display_panels()
    assert [c["rows"]["readout"].shape for c in panels["columns"]] == [(8, 8), (6, 6), (4, 4), (2, 2)]
    assert panels["columns"][1]["rows"]["signal"].shape == (18, 18)
