"""Fuzzing of every parser of user files that this module's owners wrote (run config,
network spec, PVM model, original-PVM importer, PVM snapshots, training checkpoints):
damaged copies of valid files raise axon's own error naming the file, or load."""

import json
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from axon.errors import AxonError

def mutated(original: bytes):
    """Strategy of `original` with up to 8 bytes replaced, then possibly cut short."""
    size = len(original)
    edits = st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, 255)), max_size=8)
    cut = st.one_of(st.none(), st.integers(0, size))

    def apply(changes, end):
        data = bytearray(original)
        for index, value in changes:
            data[index] = value
        return bytes(data[:end] if end is not None else data)

    return st.builds(apply, edits, cut)


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WORK = Path(tempfile.mkdtemp(prefix="axon-fuzz-"))


def _only_axon_errors(path: Path, data: bytes, read) -> None:
    path.write_bytes(data)
    try:
        read(path)
    except AxonError as err:
        assert path.name in str(err) or str(path) in str(err), str(err)


CONFIG = b"""name: fuzz
epochs: 3
batch_size: 16
seed: 4
model: {name: digits-cnn, args: {}}
data: {name: digits, test_fraction: 0.2, num_workers: 0}
optimizer: {name: sgd, lr: 0.1, momentum: 0.9}
schedule: {name: onecycle}
checkpoint: {every_steps: 5, monitor: val_acc, mode: max}
early_stopping: {monitor: val_loss, patience: 3}
"""


@pytest.mark.slow
@FUZZ
@given(mutated(CONFIG))
def test_run_config(data):
    from axon.run.config import load_config

    _only_axon_errors(WORK / "config.yaml", data, load_config)


def _spec() -> bytes:
    from axon.nn import Input
    from axon.nn.activation import Activation
    from axon.nn.conv import Conv
    from axon.nn.dense import Dense, Flatten
    from axon.nn.model import Model

    x = Input((1, 8, 8), name="image")
    h = Activation("relu", name="relu")(Conv(1, 4, 3, name="conv")(x))
    out = Dense(4 * 8 * 8, 10, name="logits")(Flatten(name="flat")(h))
    return json.dumps(Model([x], [out]).to_spec()).encode()


@pytest.mark.slow
@FUZZ
@given(mutated(_spec()))
def test_network_spec(data):
    from axon.nn.spec import model_from_spec, read_spec

    def read(path):
        try:
            model_from_spec(read_spec(path))
        except AxonError as err:
            raise type(err)(f"{path}: {err}") from None

    _only_axon_errors(WORK / "network.json", data, read)


MODEL = json.dumps({"name": "tiny", "input_size": 12, "input_block_size": 3, "hidden_block_size": 3,
                    "layer_shapes": [4, 3, 2, 1], "schedule": {"delay_each_layer": 2}}).encode()


@pytest.mark.slow
@FUZZ
@given(mutated(MODEL))
def test_pvm_model(data):
    from axon.pvm.config import load_model

    _only_axon_errors(WORK / "model.json", data, load_model)


ORIGINAL = json.dumps({"layer_shapes": "[4, 3, 2, 1]", "input_block_size": "3", "hidden_block_size": "3",
                       "initial_learning_rate": "0.0002", "tau": "0.98", "use_derivative": "1",
                       "lateral_radius": "2.0", "enable_readout": "0", "new_name": "fuzz"}).encode()


@pytest.mark.slow
@FUZZ
@given(mutated(ORIGINAL))
def test_original_pvm_importer(data):
    from axon.pvm.importer import import_file

    _only_axon_errors(WORK / "original.json", data, import_file)


def _snapshot() -> bytes:
    from axon.data.video import PanningCamera
    from axon.pvm.config import parse_model
    from axon.pvm.runner import PVMRunner

    runner = PVMRunner(parse_model(json.loads(MODEL)), PanningCamera((12, 12), length=5), WORK / "pvm",
                       metrics_every=0, progress=False)
    runner.run(2, log=lambda line: None)
    return (WORK / "pvm" / "snapshots" / "step_00000002.safetensors").read_bytes()


@pytest.mark.slow
@FUZZ
@given(mutated(_snapshot()))
def test_pvm_snapshot(data):
    from axon.pvm.snapshot import load_snapshot

    _only_axon_errors(WORK / "snapshot.safetensors", data, load_snapshot)


def _checkpoint() -> tuple[bytes, bytes]:
    from axon.train.checkpoint import write_checkpoint

    model = torch.nn.Linear(4, 3)
    optimizer = torch.optim.AdamW(model.parameters())
    model(torch.randn(2, 4)).sum().backward()
    optimizer.step()
    write_checkpoint(WORK / "ckpt", model, {"epoch": 1, "optimizer": optimizer.state_dict(), "history": [{"a": 1.0}]})
    return (WORK / "ckpt" / "model.safetensors").read_bytes(), (WORK / "ckpt" / "trainer.safetensors").read_bytes()


WEIGHTS, STATE = _checkpoint()


@pytest.mark.slow
@FUZZ
@given(mutated(WEIGHTS), mutated(STATE))
def test_checkpoint(weights, state):
    from axon.train.checkpoint import read_checkpoint

    folder = WORK / "ckpt"
    (folder / "model.safetensors").write_bytes(weights)
    (folder / "trainer.safetensors").write_bytes(state)
    model = torch.nn.Linear(4, 3)
    try:
        read_checkpoint(folder, model)
    except AxonError as err:
        assert "ckpt" in str(err), str(err)


TRAINER_RECORD = json.dumps({
    "written_by": "axon.Trainer.fit",
    "model": {"name": "digits-mlp", "args": {"input_shape": [1, 8, 8], "hidden": [128], "num_classes": 10}},
    "data": {"source": {"name": "digits", "test_fraction": 0.2, "val_fraction": 0.1, "split_seed": 0},
             "classes": [str(d) for d in range(10)], "input_shape": [1, 8, 8],
             "preprocessing": {"kind": "array", "shape": [1, 8, 8], "divisor": 16.0}},
    "settings": {"epochs": 2, "batch_size": 64, "seed": 0, "device": "auto", "loss": "cross_entropy",
                 "optimizer": {"name": "adamw", "lr": 0.003}, "schedule": {"name": "onecycle"},
                 "num_workers": 0, "checkpoint": {"monitor": "val_loss", "mode": "min", "every": 1}},
    "unrecorded": {},
}).encode()


@pytest.mark.slow
@FUZZ
@given(mutated(TRAINER_RECORD))
def test_trainer_record(data):
    """trainer.json, the run record a Trainer(run_dir=...) writes from Python."""
    from axon.run.folder import read_run_config, read_task_record

    def read(path):
        read_run_config(path.parent)
        read_task_record(path.parent)

    (WORK / "python-run").mkdir(exist_ok=True)
    _only_axon_errors(WORK / "python-run" / "trainer.json", data, read)
