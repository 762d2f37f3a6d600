"""Every zoo model is exportable: torch.jit.script, torch.export (.pt2) and both ONNX
exporters, with a dynamic batch; the exports compute what the model computes."""

import numpy as np
import pytest
import torch

from axon import zoo
from axon.run.export import export_module, run_exported

TINY = {"googlenet": {"image_size": 64, "num_classes": 5}, "digits-cnn": {"width": 4}, "shapes-cnn": {"width": 4}}


def _model_and_input(name):
    torch.manual_seed(0)
    model = zoo.create(name, **TINY.get(name, {})).eval()
    shape = model.shapes[model.input_names[0]] if hasattr(model, "shapes") else None
    return model, torch.randn(5, *shape)


# The image and vector classifiers; pointpillars (3D detection) takes pillar tensors, not
# one image batch, and is exported by its own task's tests.
CLASSIFIERS = [name for name in zoo.names() if name != "pointpillars"]


@pytest.mark.slow
@pytest.mark.parametrize("name", CLASSIFIERS)
@pytest.mark.parametrize("fmt, exporter", [("torchscript", None), ("pt2", None), ("onnx", "torchscript")])
def test_every_zoo_model_exports(tmp_path, name, fmt, exporter):
    model, x = _model_and_input(name)
    path = tmp_path / f"model.{fmt}"
    export_module(model, x[:2], path, fmt, exporter or "dynamo")
    with torch.no_grad():
        expected = model(x)
    got = run_exported(path, fmt, x)  # a batch of 5 from an export traced with 2
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-4, rtol=1e-4)


def test_script_and_graph_module_are_the_model():
    model, x = _model_and_input("digits-cnn")
    scripted = torch.jit.script(model)
    torch.testing.assert_close(scripted(x), model(x))
    assert "def forward(self, image)" in model.graph_module().code


@pytest.mark.slow
def test_dynamo_onnx_exporter(tmp_path):
    model, x = _model_and_input("digits-cnn")
    export_module(model, x[:2], tmp_path / "m.onnx", "onnx", "dynamo")
    np.testing.assert_allclose(run_exported(tmp_path / "m.onnx", "onnx", x), model(x).detach().numpy(), atol=1e-5)
