import json
from pathlib import Path

import pytest

from axon.cli import main

from .helpers import TINY, tiny

EXAMPLES = Path(__file__).parents[2] / "examples" / "pvm"


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(tiny(readout={"tile_size": 2, "learning_rate": 0.2}).to_json())
    return path


def run_cli(*args):
    return main([str(a) for a in args])


def test_run_resume_and_experiments(model, tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli("pvm", "run", model, "--steps", 8, "--source", "shapes", "--out", out,
                   "--metrics-every", 4, "--display-every", 8, "--snapshot-every", 4) == 0
    text = capsys.readouterr().out
    assert "steps/s" in text and "L3" in text
    assert (out / "display" / "step_00000008.png").is_file()
    snap = out / "snapshots" / "step_00000004.safetensors"
    assert run_cli("pvm", "run", model, "--steps", 10, "--source", "shapes", "--out", out,
                   "--resume", snap, "--metrics-every", 5) == 0
    assert "(step 10)" in capsys.readouterr().out
    last = out / "snapshots" / "step_00000010.safetensors"
    assert run_cli("pvm", "dream", last, "--steps", 4, "--warmup", 2) == 0
    assert (out / "snapshots" / "dream" / "dream.png").is_file()
    assert run_cli("pvm", "fill", last, "--steps", 4, "--warmup", 2) == 0
    assert "left blank" in capsys.readouterr().out
    assert run_cli("pvm", "track", last, "--steps", 6, "--out", tmp_path / "trk") == 0
    assert "tracking: accuracy" in capsys.readouterr().out
    assert (tmp_path / "trk" / "track.png").is_file()
    assert run_cli("pvm", "plot", out) == 0 and (out / "errors.png").is_file()


def test_bad_input_exits_2_with_one_line(model, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**TINY, "input_size": 13}))
    assert run_cli("pvm", "run", bad, "--steps", 1, "--out", tmp_path / "x") == 2
    assert "input_size=13" in capsys.readouterr().err
    assert run_cli("pvm", "run", model, "--source", tmp_path / "nope", "--out", tmp_path / "x") == 2
    assert "no such file or folder" in capsys.readouterr().err
    frames = tmp_path / "frames"
    frames.mkdir()
    from PIL import Image
    Image.new("RGB", (12, 12)).save(frames / "a.png")
    Image.new("RGB", (10, 12)).save(frames / "b.png")
    assert run_cli("pvm", "run", model, "--source", frames, "--out", tmp_path / "x") == 2
    assert "b.png is 10x12" in capsys.readouterr().err


def test_resume_from_a_different_model_overwrites_nothing(model, tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli("pvm", "run", model, "--steps", 3, "--source", "shapes", "--out", out) == 0
    other = tmp_path / "other.json"
    other.write_text(tiny(momentum=0.1).to_json())
    before = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    snap = out / "snapshots" / "step_00000003.safetensors"
    assert run_cli("pvm", "run", other, "--steps", 5, "--source", "shapes", "--out", out,
                   "--resume", snap) == 2
    assert "different model" in capsys.readouterr().err
    after = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before


def test_import_and_info(tmp_path, capsys):
    orig = tmp_path / "orig.json"
    orig.write_text(json.dumps({"layer_shapes": "[4, 2, 1]", "input_block_size": "5",
                                "hidden_block_size": "3", "tau": "0.9", "frobnicate": "1"}))
    out = tmp_path / "m.json"
    assert run_cli("pvm", "import", orig, "--out", out) == 0
    text = capsys.readouterr().out
    assert "UNKNOWN frobnicate" in text and "mapped  tau -> tau" in text
    assert run_cli("pvm", "info", out) == 0
    text = capsys.readouterr().out
    assert "21 units" in text and "predicts the signal, signal inputs as they are" in text
    assert run_cli("pvm", "info", EXAMPLES / "seed-small-axon.json") == 0
    assert "predicts the change, signal inputs standardised (decay 0.9999," in capsys.readouterr().out


def test_scale_two_models(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(tiny(name="small").to_json())
    b.write_text(tiny(name="big", input_size=18, layer_shapes=[6, 4, 2, 1]).to_json())
    assert run_cli("pvm", "scale", a, b, "--steps", 6, "--metrics-every", 3, "--source",
                   "shapes", "--out", tmp_path / "sc") == 0
    assert (tmp_path / "sc" / "scaling.png").is_file()
    assert '"big"' in capsys.readouterr().out


def test_display_and_dream_video(model, tmp_path):
    pytest.importorskip("av")
    from axon.data.video import VideoFileSource

    out = tmp_path / "run"
    assert run_cli("pvm", "run", model, "--steps", 4, "--source", "shapes", "--out", out,
                   "--display-every", 2, "--video", out / "display.mp4") == 0
    assert len(VideoFileSource(out / "display.mp4", (32, 32))) == 2
    snap = out / "snapshots" / "step_00000004.safetensors"
    assert run_cli("pvm", "dream", snap, "--steps", 3, "--warmup", 1, "--source", "shapes",
                   "--video", tmp_path / "dream.mp4") == 0
    assert len(VideoFileSource(tmp_path / "dream.mp4", (12, 24))) == 3


def test_merge_layers_flag_reaches_the_engine_and_changes_no_result(tmp_path, capsys,
                                                                    monkeypatch):
    import torch

    import axon.pvm.runner as runner_module
    from axon.pvm.snapshot import load_snapshot

    engines = []

    class Recording(runner_module.PVMEngine):
        def __init__(self, *args, **kw):
            super().__init__(*args, **kw)
            engines.append(self)

    monkeypatch.setattr(runner_module, "PVMEngine", Recording)
    model = tmp_path / "piped.json"
    model.write_text(tiny(step="pipelined").to_json())
    tensors = {}
    for flag, batches in (("on", [[0], [1, 2, 3]]), ("off", [[0], [1], [2], [3]]),
                          ("auto", [[0], [1], [2], [3]])):  # auto: merged on GPU only
        out = tmp_path / flag
        assert run_cli("pvm", "run", model, "--steps", 7, "--source", "shapes", "--out", out,
                       "--merge-layers", flag) == 0
        assert [b.ids for b in engines[-1].batches] == batches
        tensors[flag] = load_snapshot(out / "snapshots" / "step_00000007.safetensors")[2]
    assert tensors["on"].keys() == tensors["off"].keys()
    assert all(torch.equal(tensors["on"][k], tensors["off"][k]) for k in tensors["on"])
    capsys.readouterr()
    bottom_up = tmp_path / "bottom_up.json"
    bottom_up.write_text(tiny().to_json())
    assert run_cli("pvm", "run", bottom_up, "--steps", 2, "--out", tmp_path / "x",
                   "--merge-layers", "on") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "merge_layers on" in err and "'bottom_up'" in err and "pipelined" in err
    assert not (tmp_path / "x").exists()
    with pytest.raises(SystemExit) as exit_:
        run_cli("pvm", "run", model, "--merge-layers", "yes", "--out", tmp_path / "y")
    assert exit_.value.code == 2 and "invalid choice: 'yes'" in capsys.readouterr().err
