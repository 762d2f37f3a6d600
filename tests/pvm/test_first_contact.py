"""What a new user meets with `axon pvm`: an earlier run's output folder is never
overwritten, and a typo in --set gets a "did you mean"."""

import pytest

from axon.cli import main
from axon.errors import ConfigError
from axon.pvm.config import apply_overrides

from .helpers import tiny


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(tiny().to_json())
    return path


def run_cli(*args):
    return main([str(a) for a in args])


def test_run_refuses_an_earlier_runs_folder_and_keeps_it(model, tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli("pvm", "run", model, "--steps", 4, "--source", "shapes", "--out", out,
                   "--metrics-every", 2, "--display-every", 4) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert run_cli("pvm", "run", model, "--steps", 2, "--source", "shapes", "--out", out) == 2
    err = capsys.readouterr().err
    assert f"--out {out}: folder exists and holds an earlier run's output" in err
    assert f"--resume {out / 'snapshots' / 'step_00000004.safetensors'}" in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    # continuing the run in its own folder is what --resume is for
    assert run_cli("pvm", "run", model, "--steps", 6, "--source", "shapes", "--out", out,
                   "--resume", out / "snapshots" / "step_00000004.safetensors") == 0
    # an empty folder is fine
    (tmp_path / "empty").mkdir()
    assert run_cli("pvm", "run", model, "--steps", 1, "--source", "shapes", "--out", tmp_path / "empty") == 0


def test_scale_refuses_an_earlier_output_folder(model, tmp_path, capsys):
    out = tmp_path / "scaling"
    out.mkdir()
    (out / "scaling.png").write_bytes(b"earlier")
    assert run_cli("pvm", "scale", model, "--steps", 2, "--out", out) == 2
    assert "holds an earlier run's output" in capsys.readouterr().err
    assert (out / "scaling.png").read_bytes() == b"earlier"


def test_scale_with_fewer_steps_than_metrics_is_one_line_before_training(model, tmp_path, capsys):
    out = tmp_path / "scaling"
    assert run_cli("pvm", "scale", model, "--steps", 2, "--out", out) == 2  # metrics every 100 steps
    err = capsys.readouterr().err
    assert "--steps 2 is fewer than --metrics-every 100" in err and "Traceback" not in err
    assert not out.exists() or not any(out.rglob("*"))


@pytest.mark.parametrize("override, message", [
    ("shedule.delay_each_layer=3", "unknown key 'shedule'; did you mean 'schedule'?"),
    ("schedule.delay_each_layr=3", "unknown key 'delay_each_layr' in section 'schedule'; did you mean 'delay_each_layer'?"),
    ("tua=0.9", "unknown key 'tua'; did you mean 'tau'?"),
    ("zzzzzz=1", "unknown key 'zzzzzz'; valid keys: name, "),
])
def test_set_typo_gets_did_you_mean(override, message):
    with pytest.raises(ConfigError) as err:
        apply_overrides(tiny(), [override])
    assert str(err.value).startswith(f"--set {override.split('=')[0]}: {message}")
