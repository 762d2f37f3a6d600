import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from axon.cli import main
from axon.train.config import OptimizerConfig
from axon.train.lr_find import lr_range_test, lr_schedule, smooth, suggest

PLAIN_GD = OptimizerConfig(name="sgd", momentum=0, weight_decay=0)


def _quadratic():
    """Least squares y = X w: the MSE's Hessian is 2 X^T X / N, and full-batch gradient
    descent is stable exactly for lr < 2 / (largest Hessian eigenvalue)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 4, generator=g, dtype=torch.float64) * torch.tensor([3.0, 1.0, 0.5, 0.2], dtype=torch.float64)
    y = x @ torch.randn(4, 1, generator=g, dtype=torch.float64)
    stable_below = 2 / torch.linalg.eigvalsh(2 * x.T @ x / len(x)).max().item()
    return (x, y), stable_below


def test_schedule_and_smoothing():
    lrs = lr_schedule(1e-4, 1.0, 5)
    np.testing.assert_allclose(lrs, [1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    # bias-corrected EMA: the first value is the first loss, a constant stays constant
    assert smooth([2.0, 2.0, 2.0], 0.9) == pytest.approx([2.0, 2.0, 2.0])
    assert smooth([1.0, 3.0], 0.5) == pytest.approx([1.0, (0.25 + 1.5) / 0.75])
    # min at index 3; the steepest fall (against log lr) is between indices 1 and 2
    assert suggest([1e-3, 1e-2, 1e-1, 1.0, 10.0], [1.0, 0.99, 0.5, 0.4, 3.0]) == (1.0, 1e-1)
    # the first tenth of the sweep (a noisy start) is skipped by both rules
    lrs = list(np.geomspace(1e-6, 1.0, 20))
    losses = [5.0, 0.1] + [2.0] * 10 + [1.5, 1.0, 0.8, 0.7, 0.9, 2.0, 4.0, 8.0]
    assert suggest(lrs, losses) == (lrs[15], lrs[12])


def test_quadratic_divergence_point():
    data, stable_below = _quadratic()
    model = nn.Linear(4, 1, bias=False).double()
    result = lr_range_test(model, data, nn.MSELoss(), PLAIN_GD, min_lr=1e-4, max_lr=10, steps=100,
                           batch_size=256, smoothing=0.9)
    ratio = result.lrs[1] / result.lrs[0]
    assert all(math.isclose(b / a, ratio) for a, b in zip(result.lrs, result.lrs[1:]))
    assert result.lrs[0] == pytest.approx(1e-4)
    # gradient descent cannot diverge below 2 / lambda_max; it stopped early, above it
    assert "diverged" in result.stop_reason and stable_below < result.lrs[-1] < 10
    assert all(b <= a * (1 + 1e-12) for a, b, lr in zip(result.raw_losses, result.raw_losses[1:], result.lrs)
               if lr < stable_below)
    # the suggested max lr is a stable one, not far below the limit
    assert stable_below / 10 < result.suggestion < stable_below
    assert result.suggestion == pytest.approx(result.min_loss_lr / 10)


def test_leaves_no_trace():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x, y = torch.randn(64, 4), torch.arange(64) % 3
    model(x).sum().backward()
    optimizer.step()  # some optimizer state to keep
    before = {k: v.clone() for k, v in model.state_dict().items()}
    state_before = {k: v.clone() for k, v in optimizer.state_dict()["state"][0].items()}
    rng = torch.get_rng_state()
    model.eval()
    result = lr_range_test(model, (x, y), nn.CrossEntropyLoss(), optimizer, steps=30, batch_size=16, max_lr=1.0)
    assert len(result.lrs) >= 5
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key  # weights and BatchNorm statistics
    for key, value in optimizer.state_dict()["state"][0].items():
        assert torch.equal(value, state_before[key])
    assert optimizer.param_groups[0]["lr"] == 1e-3
    assert torch.equal(torch.get_rng_state(), rng) and not model.training


@pytest.mark.parametrize("kwargs, message", [
    ({"min_lr": 0.0}, "0 < min_lr < max_lr"),
    ({"min_lr": 1.0, "max_lr": 0.1}, "0 < min_lr < max_lr"),
    ({"steps": 2}, "at least 5 steps"),
    ({"rule": "valley"}, "expected one of min/10, steepest"),
    ({"optimizer": OptimizerConfig(name="lbfgs", weight_decay=0)}, "got lbfgs"),
])
def test_bad_arguments(kwargs, message):
    model = nn.Linear(4, 3)
    with pytest.raises(ValueError, match=message):
        lr_range_test(model, (torch.randn(8, 4), torch.arange(8) % 3), nn.CrossEntropyLoss(), **kwargs)


def test_cli_writes_plot_and_suggests(tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"model": {"name": "digits-mlp", "args": {"hidden": 32}}, "batch_size": 32,
                                      "device": "cpu"}))
    png = tmp_path / "lr.png"
    assert main(["lr-find", str(config), "--steps", "40", "--min-lr", "1e-5", "--max-lr", "10",
                 "--out", str(png)]) == 0
    out = capsys.readouterr().out
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    suggested = float(out.split("suggested max learning rate (min/10): ")[1].split()[0])
    assert 1e-5 < suggested < 10
    # without --out the plot goes into the config's runs folder, never the current folder
    config.write_text(yaml.safe_dump({"model": {"name": "digits-mlp", "args": {"hidden": 32}}, "batch_size": 32,
                                      "device": "cpu", "out": str(tmp_path / "runs")}))
    assert main(["lr-find", str(config), "--steps", "10"]) == 0
    plot = Path(capsys.readouterr().out.split("plot: ")[1].strip())
    assert plot.parent == tmp_path / "runs" and plot.name.startswith("lr_find-") and plot.is_file()
    assert main(["lr-find", str(config), "--steps", "3"]) == 2
    assert "at least 5 steps" in capsys.readouterr().err
