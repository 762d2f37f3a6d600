"""The speed-up toolbox inside the engine: optimizers, schedules, init, losses,
transfer, precision, accumulation, clipping, compile fallback, data-wait timing."""

import math

import pytest
import torch
from safetensors.torch import save_model

from axon import Trainer
from axon.train.callbacks import Callback
from axon.errors import ConfigError
from axon.run.config import validate_config
from axon.train.config import OptimizerConfig, ScheduleConfig
from axon.nn.init import init_weights, set_prior_bias
from axon.train.losses import FocalLoss
from axon.train.optim import build_optimizer, build_schedule, param_groups
from axon.train.transfer import Unfreeze, load_matching, set_trainable


def net():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 3)
    )


def test_no_weight_decay_on_biases_and_norms_and_per_group_lr():
    model = net()
    config = OptimizerConfig(lr=0.1, weight_decay=0.05, groups=[{"match": ["3.*"], "lr": 0.01}])
    groups = param_groups(model, config)
    by_param = {id(p): g for g in groups for p in g["params"]}
    named = dict(model.named_parameters())
    assert by_param[id(named["0.weight"])]["weight_decay"] == 0.05
    assert by_param[id(named["0.bias"])]["weight_decay"] == 0.0
    assert by_param[id(named["1.weight"])]["weight_decay"] == 0.0  # batch-norm scale
    assert by_param[id(named["3.weight"])]["lr"] == 0.01 and by_param[id(named["0.weight"])]["lr"] == 0.1
    assert sum(len(g["params"]) for g in groups) == len(named)
    with pytest.raises(ConfigError, match=r"groups\[0\]\.match: pattern 'head\.\*' matches no parameter"):
        param_groups(model, OptimizerConfig(groups=[{"match": ["head.*"]}]))


def test_sgd_nesterov_and_adamw_built_from_config():
    sgd = build_optimizer(net(), OptimizerConfig(name="sgd", lr=0.1, momentum=0.9, nesterov=True))
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["nesterov"]
    adamw = build_optimizer(net(), OptimizerConfig(name="adamw", momentum=0.8, beta2=0.99))
    assert isinstance(adamw, torch.optim.AdamW) and adamw.defaults["betas"] == (0.8, 0.99)


def test_lbfgs_full_batch_solves_least_squares_and_keeps_history():
    torch.manual_seed(0)
    x = torch.randn(200, 5, dtype=torch.float64)
    w_true = torch.randn(5, 1, dtype=torch.float64)
    y = x @ w_true
    model = torch.nn.Linear(5, 1, bias=False).double()
    trainer = Trainer(model, epochs=3, batch_size=32, loss="mse", schedule="constant", progress=False,
                      optimizer=OptimizerConfig(name="lbfgs", lr=1.0, weight_decay=0.0, max_iter=20), device="cpu")
    history = trainer.fit((x, y))
    assert trainer.steps_per_epoch == 1 and len(history) == 3
    assert history[-1]["train_loss"] < 1e-9
    assert torch.allclose(model.weight.detach().T, w_true, atol=1e-4)
    state = trainer.optimizer.state[trainer.optimizer.param_groups[0]["params"][0]]
    assert len(state["old_dirs"]) > 1  # curvature pairs carried across iterations


def test_onecycle_warms_up_anneals_and_cycles_momentum():
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0, momentum=0.9)
    schedule = build_schedule(optimizer, ScheduleConfig(name="onecycle", warmup_fraction=0.25), epochs=4, steps_per_epoch=25)
    lrs, momenta = [], []
    for _ in range(100):
        lrs.append(optimizer.param_groups[0]["lr"])
        momenta.append(optimizer.param_groups[0]["momentum"])
        optimizer.step()
        schedule.after_batch()
    assert lrs[0] == pytest.approx(1.0 / 25) and max(lrs) == pytest.approx(1.0, rel=1e-3)
    assert lrs.index(max(lrs)) == 25 - 1 or lrs.index(max(lrs)) == 25
    assert lrs[-1] < 1e-4
    assert momenta[0] == pytest.approx(0.95) and min(momenta) == pytest.approx(0.85, abs=1e-3)


def test_plateau_drops_the_lr():
    optimizer = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=1.0)
    schedule = build_schedule(optimizer, ScheduleConfig(name="plateau", patience=1, gamma=0.5), 10, 5)
    for loss in [1.0, 0.9, 0.9, 0.9]:
        schedule.after_epoch({"val_loss": loss})
    assert optimizer.param_groups[0]["lr"] == 0.5


def test_kaiming_and_xavier_statistics():
    layer = torch.nn.Linear(1000, 1000)
    init_weights(layer, "kaiming", "fan_in", "relu")
    assert layer.weight.std().item() == pytest.approx(math.sqrt(2 / 1000), rel=0.02)
    assert layer.bias.abs().max().item() == 0
    init_weights(layer, "xavier", nonlinearity="linear")
    assert layer.weight.std().item() == pytest.approx(math.sqrt(2 / 2000), rel=0.02)


def test_focal_prior_bias_on_the_head():
    model = net()
    assert set_prior_bias(model, 0.01) == "3"
    assert torch.allclose(torch.sigmoid(model[3].bias), torch.full((3,), 0.01))


def test_focal_loss_is_cross_entropy_at_gamma_0_and_down_weights_easy_examples():
    torch.manual_seed(0)
    logits, targets = torch.randn(16, 5), torch.randint(0, 5, (16,))
    ce = torch.nn.functional.cross_entropy(logits, targets)
    assert FocalLoss(gamma=0)(logits, targets).item() == pytest.approx(ce.item(), rel=1e-6)
    smoothed = torch.nn.functional.cross_entropy(logits, targets, label_smoothing=0.1)
    assert FocalLoss(gamma=0, label_smoothing=0.1)(logits, targets).item() == pytest.approx(smoothed.item(), rel=1e-5)
    easy = torch.tensor([[10.0, 0.0]])
    assert FocalLoss(2.0)(easy, torch.tensor([0])) < 1e-3 * torch.nn.functional.cross_entropy(easy, torch.tensor([0]))
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda z: FocalLoss(2.0)(z, torch.tensor([0, 1, 2, 1])), (x,))


def test_load_matching_reports_and_copies(tmp_path):
    source = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 5))
    save_model(source, str(tmp_path / "w.safetensors"))
    target = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3), torch.nn.Linear(3, 3))
    report = load_matching(target, tmp_path / "w.safetensors")
    assert report.matched == ["0.weight", "0.bias"]
    assert report.missing == ["3.weight", "3.bias"]
    assert [m.split(":")[0] for m in report.mismatched] == ["2.weight", "2.bias"]
    assert torch.equal(target[0].weight, source[0].weight)
    other = load_matching(torch.nn.Conv2d(1, 1, 3), tmp_path / "w.safetensors")
    assert other.matched == [] and "nothing matched" in str(other)
    with pytest.raises(ConfigError, match="init_from: .* neither a .safetensors file nor a run folder"):
        load_matching(target, tmp_path / "nowhere")


def test_freeze_then_unfreeze(blobs):
    model = net()
    frozen = set_trainable(model, ["0.*"], False)
    assert frozen == ["0.bias", "0.weight"]
    before = model[0].weight.detach().clone()
    trainer = Trainer(model, epochs=3, progress=False, callbacks=[Unfreeze(["0.*"], epoch=2)], device="cpu")
    seen = []

    class Spy(Callback):
        def on_epoch_end(self, trainer, metrics):
            seen.append(model[0].weight.requires_grad)

    trainer.callbacks.append(Spy())
    trainer.fit(*blobs)
    assert seen == [False, False, True]
    assert not torch.equal(model[0].weight, before)
    with pytest.raises(ConfigError, match="pattern 'nope' matches no parameter"):
        set_trainable(model, ["nope"], False)


def test_gradient_accumulation_equals_the_big_batch():
    torch.manual_seed(0)
    x, y = torch.randn(64, 4, dtype=torch.float64), torch.randint(0, 3, (64,))
    weights = []
    for batch, accum in ((32, 1), (8, 4)):
        torch.manual_seed(1)
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
        trainer = Trainer(model, epochs=2, batch_size=batch, grad_accum=accum, optimizer="sgd", lr=0.1,
                          schedule="constant", progress=False, device="cpu")
        trainer.fit((x, y))
        assert trainer.steps_per_epoch == 2
        weights.append(torch.cat([p.flatten() for p in model.parameters()]))
    assert torch.allclose(weights[0], weights[1], atol=1e-12)


def test_clipping_bounds_the_update():
    model = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(model.weight)
    x, y = torch.full((4, 1), 1e3), torch.full((4, 1), 1e3)
    Trainer(model, epochs=1, batch_size=4, optimizer="sgd", lr=1.0, schedule="constant", loss="mse",
            clip_grad_norm=0.5, progress=False, device="cpu").fit((x, y))
    assert model.weight.abs().item() == pytest.approx(0.5)


def test_bf16_on_cpu_trains(blobs):
    trainer = Trainer(net(), epochs=4, precision="bf16", progress=False, device="cpu", lr=0.05)
    history = trainer.fit(*blobs)
    assert history[-1]["val_acc"] > 0.8 and all(p.dtype == torch.float32 for p in trainer.model.parameters())


def test_fp16_on_cpu_is_a_clear_error():
    with pytest.raises(ConfigError, match="precision: fp16 needs a CUDA device .* use bf16 on CPU"):
        Trainer(net(), precision="fp16", device="cpu")


def test_channels_last_gives_the_same_training():
    torch.manual_seed(0)
    x, y = torch.randn(32, 2, 6, 6), torch.randint(0, 3, (32,))
    results = []
    for channels_last in (False, True):
        torch.manual_seed(1)
        model = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                                    torch.nn.Linear(144, 3))
        Trainer(model, epochs=2, batch_size=8, channels_last=channels_last, progress=False, device="cpu").fit((x, y))
        results.append(torch.cat([p.flatten() for p in model.parameters()]))
    assert torch.allclose(results[0], results[1], atol=1e-5)


def test_compile_falls_back_with_a_warning(blobs, monkeypatch):
    def broken(model, **kwargs):
        raise RuntimeError("no C++ compiler here")

    monkeypatch.setattr(torch, "compile", broken)
    with pytest.warns(UserWarning, match="compile: torch.compile failed \\(no C\\+\\+ compiler here\\)"):
        history = Trainer(net(), epochs=1, compile=True, progress=False, device="cpu").fit(*blobs)
    assert len(history) == 1


def test_data_wait_is_measured_and_warned(blobs, capsys):
    import time

    from torch.utils.data import Dataset

    class Slow(Dataset):
        def __init__(self, data):
            self.x, self.y = data

        def __len__(self):
            return 48

        def __getitem__(self, i):
            time.sleep(0.02)  # about 1 s of waiting per epoch
            return self.x[i], self.y[i]

    history = Trainer(net(), epochs=1, batch_size=16, progress=False, device="cpu").fit(Slow(blobs[0]))
    assert 0.2 < history[0]["data_wait"] <= 1.0
    assert "waiting for data" in capsys.readouterr().err


@pytest.mark.parametrize(
    "data, message",
    [({"optimizer": {"lr": 0}}, "optimizer.lr: Input should be greater than 0"),
     ({"optimizer": {"lr": -0.1}}, "optimizer.lr: Input should be greater than 0"),
     ({"optimizer": {"name": "adam"}}, "optimizer.name: unknown value 'adam' (expected adamw, sgd, lbfgs); did you mean 'adamw'?"),
     ({"schedule": {"name": "one_cycle"}}, "did you mean 'onecycle'?"),
     ({"precision": "fp8"}, "precision: unknown value 'fp8'")],
)
def test_bad_speedup_config(data, message):
    with pytest.raises(ConfigError) as err:
        validate_config(data)
    assert message in str(err.value)
