"""Every layer and zoo model passes the conformance battery; and the battery catches broken layers."""

import re

import pytest
import torch

from axon import nn as ann
from axon.bench import conformance as conf
from axon.cli import main


@pytest.mark.parametrize("check", list(conf.CHECKS))
@pytest.mark.parametrize("case", conf.CASES, ids=[c.name for c in conf.CASES])
def test_battery(case, check):
    result = conf.run_check(case, check)
    if result.status == "skip":
        pytest.skip(result.detail)
    assert result.status == "pass", result.detail


def test_every_layer_type_and_zoo_model_has_a_case():
    names = " ".join(c.name for c in conf.CASES)
    for layer_type in ann.LAYER_TYPES:
        assert layer_type in names
    from axon import zoo

    for model in zoo.names():
        assert f"zoo {model}" in names or model in conf.NOT_IN_BATTERY


# ---- the battery can fail ------------------------------------------------------------
class _WrongGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * x

    @staticmethod
    def backward(ctx, grad):  # wrong: the true gradient is 2 * x * grad
        return grad


class Square(ann.Layer):
    def infer_shape(self, shape):
        return shape

    def forward(self, x):
        return _WrongGradient.apply(x)


class BatchCentred(ann.Layer):
    """Subtracts the batch mean even in eval mode: outputs depend on the other samples."""

    def infer_shape(self, shape):
        return shape

    def forward(self, x):
        return x - x.mean(0, keepdim=True)


class Noisy(ann.Layer):
    """Adds fresh noise from a generator the battery does not reseed."""

    def __init__(self, name=None):
        super().__init__(name)
        self.gen = torch.Generator().manual_seed(0)

    def infer_shape(self, shape):
        return shape

    def forward(self, x):
        return x + torch.rand(x.shape, generator=self.gen, dtype=x.dtype)


class WrongShape(ann.Layer):
    def infer_shape(self, shape):
        return (shape[0] + 1,)

    def forward(self, x):
        return x


def _case(layer_cls):
    return conf.Case(layer_cls.__name__, conf._layer_model(lambda: layer_cls(name="layer"), (4,)))


@pytest.mark.parametrize("layer_cls, check, message", [
    (Square, "gradients", "Jacobian mismatch"),
    (BatchCentred, "batch_invariance", "differs from samples run alone"),
    (Noisy, "determinism", "two passes differ"),
    (WrongShape, "shapes", r"inferred \(5,\), ran \(4,\)"),
])
def test_battery_catches_broken_layers(layer_cls, check, message):
    result = conf.run_check(_case(layer_cls), check)
    assert result.status == "fail"
    assert re.search(message, result.detail), result.detail


def test_directional_gradient_check_catches_wrong_gradients():
    square = Square()
    x = torch.randn(2, 50, dtype=torch.float64, requires_grad=True)
    with pytest.raises(conf.CheckFailed, match="inputs: directional derivative"):
        conf._check_directional(lambda t: square(t), (x,), ())


def test_reference_check_catches_a_wrong_reference():
    case = conf.Case("Conv off by one", conf._layer_model(lambda: ann.Conv(2, 2, 3, name="layer"), (2, 4, 4)),
                     reference=lambda m, xs: (m(*xs), m(*xs) + 1))
    result = conf.run_check(case, "reference")
    assert result.status == "fail" and "differs from the PyTorch reference" in result.detail


def test_cli_prints_the_table(capsys):
    code = main(["bench", "conformance", "--case", "Dense", "--case", "Softmax"])
    out = capsys.readouterr().out
    assert code == 0
    assert "case" in out and "gradients" in out and "spec_round_trip" in out
    assert any(line.startswith("Dense ") and " ok " in line for line in out.splitlines())
    assert "passed, 0 failed" in out


def test_cli_rejects_unknown_case_and_check(capsys):
    assert main(["bench", "conformance", "--case", "no-such-layer"]) == 2
    assert main(["bench", "conformance", "--check", "speed"]) == 2
    err = capsys.readouterr().err
    assert "--case: no case matches" in err and "--check: unknown check 'speed'" in err


def test_a_model_that_is_not_a_graph_fails_clearly():
    case = conf.Case("plain torch", lambda: torch.nn.Linear(2, 2))
    result = conf.run_check(case, "shapes")
    assert result.status == "fail" and "not an axon.nn.Model" in result.detail
