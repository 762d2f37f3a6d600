"""`--resume` of a run whose config.yaml was edited: an edit that changes what the run
computes is one ConfigError naming config.yaml and the key, before anything is built;
an edit of how it computes (threads, workers) or of epochs under a schedule that does
not depend on them is resumed."""

import shutil

import pytest
import yaml

from axon.errors import ConfigError
from axon.run import RunConfig, resume_run, start_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two finished one-epoch runs of the digits MLP: One Cycle and a constant schedule."""
    out = tmp_path_factory.mktemp("runs")
    for name, schedule in (("cycle", "onecycle"), ("flat", "constant")):
        start_run(RunConfig(model={"name": "digits-mlp"}, epochs=1, out=str(out), name=name,
                            schedule={"name": schedule}), progress=False)
    return out


def edited(runs, tmp_path, name, edit):
    run = tmp_path / name
    shutil.copytree(runs / name, run)
    config = yaml.safe_load((run / "config.yaml").read_text())
    edit(config)
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    return run


@pytest.mark.parametrize("edit, change", [
    (lambda c: c.update(epochs=2), "(epochs 1 -> 2): the One Cycle schedule spans the epochs the run began with"),
    (lambda c: c["model"].update(name="digits-cnn"), "(model.name 'digits-mlp' -> 'digits-cnn')"),
    (lambda c: c["model"]["args"].update(hidden=7), "model.args.hidden"),
    (lambda c: c.update(batch_size=17), "(batch_size 64 -> 17)"),
    (lambda c: c["optimizer"].update(lr=0.5), "(optimizer.lr 0.003 -> 0.5)"),
    (lambda c: c["data"].update(val_fraction=0.3), "(data.val_fraction 0.1 -> 0.3)"),
    (lambda c: c.update(grad_accum=2, seed=4), "(seed 0 -> 4; grad_accum 1 -> 2)"),
])
def test_an_edit_of_what_the_run_computes_is_one_line(runs, tmp_path, edit, change):
    run = edited(runs, tmp_path, "cycle", edit)
    with pytest.raises(ConfigError) as err:
        resume_run(run, progress=False)
    message = str(err.value)
    assert message.startswith(f"{run / 'config.yaml'}: edited since {run / 'checkpoints' / 'last'} was written ")
    assert change in message and "\n" not in message


def test_more_epochs_under_a_constant_schedule_and_other_threads_resume(runs, tmp_path):
    run = edited(runs, tmp_path, "flat", lambda c: c.update(epochs=2, threads=1))
    summary = resume_run(run, progress=False)
    assert summary.epochs_done == 2
