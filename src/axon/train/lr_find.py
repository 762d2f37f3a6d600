"""The learning-rate range test (Smith 2015, "Cyclical learning rates"; the fast.ai LR
finder): train for a few hundred steps while the learning rate grows exponentially from
`min_lr` to `max_lr`, record the smoothed loss against the learning rate, stop once the
loss diverges, and suggest a maximum learning rate for One Cycle.

Suggestion rules (both are computed and reported; `rule` picks the suggestion):
- "min/10": the learning rate at the minimum of the smoothed loss, divided by 10. At
  the minimum the loss is about to blow up; a tenth of it is the classic choice for
  One Cycle's peak learning rate.
- "steepest": the learning rate where the smoothed loss falls fastest against
  log(lr) (before the minimum); usually lower, a safe constant learning rate.

The model's weights and buffers, the optimizer's state (when an optimizer object is
passed) and torch's global random state are restored afterwards: the test leaves no
trace."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from axon.train.config import OptimizerConfig
from axon.train.optim import build_optimizer
from axon.train.trainable import LossFn, Trainable

RULES = ("min/10", "steepest")


@dataclass
class LRFindResult:
    """The sweep: `lrs[k]` was used for step k, whose batch loss was `raw_losses[k]`;
    `losses[k]` is the bias-corrected exponential moving average up to step k."""

    lrs: list[float]
    raw_losses: list[float]
    losses: list[float]
    min_loss_lr: float
    steepest_lr: float
    suggestion: float
    rule: str
    stop_reason: str


def lr_schedule(min_lr: float, max_lr: float, steps: int) -> np.ndarray:
    """`steps` learning rates growing geometrically from min_lr to max_lr (both included)."""
    return np.geomspace(min_lr, max_lr, steps)


def smooth(losses: list[float], beta: float) -> list[float]:
    """Bias-corrected exponential moving average: s_k = m_k / (1 - beta^(k+1)),
    m_k = beta m_(k-1) + (1 - beta) loss_k."""
    average, out = 0.0, []
    for k, loss in enumerate(losses):
        average = beta * average + (1 - beta) * loss
        out.append(average / (1 - beta ** (k + 1)))
    return out


def suggest(lrs: list[float], losses: list[float]) -> tuple[float, float]:
    """(lr at the minimum smoothed loss, lr of the steepest descent before it). The
    first tenth of the sweep, where the moving average has seen few batches and is
    still noisy, is skipped by both."""
    skip = len(losses) // 10
    best = skip + int(np.argmin(losses[skip:]))
    if best - skip < 2:
        return lrs[best], lrs[best]
    log_lrs = np.log(np.asarray(lrs[skip: best + 1]))
    slopes = np.gradient(np.asarray(losses[skip: best + 1]), log_lrs)
    return lrs[best], lrs[skip + int(np.argmin(slopes))]


def _check(min_lr: float, max_lr: float, steps: int, beta: float, diverge: float, rule: str) -> None:
    if not 0 < min_lr < max_lr or not math.isfinite(max_lr):
        raise ValueError(f"lr-find: expected 0 < min_lr < max_lr, got min_lr {min_lr} and max_lr {max_lr}")
    if steps < 5:
        raise ValueError(f"lr-find steps: expected at least 5 steps, got {steps}")
    if not 0 <= beta < 1:
        raise ValueError(f"lr-find smoothing: expected a factor in [0, 1), got {beta}")
    if not diverge > 1:
        raise ValueError(f"lr-find diverge: expected a factor > 1, got {diverge}")
    if rule not in RULES:
        raise ValueError(f"lr-find rule: expected one of {', '.join(RULES)}, got {rule!r}")


def _batches(data: Dataset | tuple, batch_size: int, seed: int):
    """Shuffled mini-batches of `data`, epoch after epoch, without end."""
    if isinstance(data, tuple):
        data = TensorDataset(*data)
    loader = DataLoader(data, batch_size=batch_size, shuffle=True, drop_last=len(data) > batch_size,
                        generator=torch.Generator().manual_seed(seed))
    while True:
        yield from loader


def lr_range_test(
    model: nn.Module,
    data: Dataset | tuple,
    loss_fn: LossFn,
    optimizer: OptimizerConfig | torch.optim.Optimizer | None = None,
    *,
    min_lr: float = 1e-7,
    max_lr: float = 10.0,
    steps: int = 100,
    batch_size: int = 64,
    smoothing: float = 0.9,
    diverge: float = 4.0,
    rule: str = "min/10",
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> LRFindResult:
    """Run the range test on `model` over `data` (a Dataset of (input, target) or a tuple
    (X, y)) and return the sweep with the suggested maximum learning rate.

    `optimizer` is an OptimizerConfig (its lr is ignored; default AdamW) or an optimizer
    over the model's parameters, whose state is restored afterwards. The sweep stops
    early when the smoothed loss exceeds `diverge` times its minimum or a loss is not
    finite."""
    _check(min_lr, max_lr, steps, smoothing, diverge, rule)
    device = torch.device(device)
    model.to(device)
    saved_model = copy.deepcopy(model.state_dict())
    saved_rng = torch.get_rng_state()
    if isinstance(optimizer, torch.optim.Optimizer):
        saved_optimizer = copy.deepcopy(optimizer.state_dict())
    else:
        saved_optimizer = None
        config = optimizer or OptimizerConfig()
        if config.name == "lbfgs":
            raise ValueError("lr-find optimizer: the range test steps a first-order optimizer once per batch "
                             "(sgd or adamw), got lbfgs, whose line search picks its own step size")
        optimizer = build_optimizer(model, config)
    was_training = model.training
    model.train()
    trainable = Trainable(model, loss_fn, _batches(data, batch_size, seed), device)
    lrs, raw = [], []
    average, best = 0.0, math.inf
    stop_reason = f"reached max_lr {max_lr:g}"
    try:
        for lr, batch in zip(lr_schedule(min_lr, max_lr, steps), trainable):
            for group in optimizer.param_groups:
                group["lr"] = float(lr)
            optimizer.zero_grad(set_to_none=True)
            loss = float(trainable.step(batch).loss)
            lrs.append(float(lr))
            raw.append(loss)
            if not math.isfinite(loss):
                stop_reason = f"loss became {loss} at lr {lr:.3g}"
                break
            optimizer.step()
            average = smoothing * average + (1 - smoothing) * loss
            smoothed = average / (1 - smoothing ** len(raw))
            best = min(best, smoothed)
            if smoothed > diverge * best:
                stop_reason = f"diverged at lr {lr:.3g} (smoothed loss above {diverge:g}x its minimum)"
                break
    finally:
        model.load_state_dict(saved_model)
        model.train(was_training)
        torch.set_rng_state(saved_rng)
        if saved_optimizer is not None:
            optimizer.load_state_dict(saved_optimizer)
    finite = [k for k, loss in enumerate(raw) if math.isfinite(loss)]
    if len(finite) < 2:
        raise ValueError(f"lr-find: the loss was not finite from the first steps (min_lr {min_lr:g}); "
                         "lower min_lr or check the data")
    lrs, raw = [lrs[k] for k in finite], [raw[k] for k in finite]
    losses = smooth(raw, smoothing)
    min_loss_lr, steepest_lr = suggest(lrs, losses)
    suggestion = min_loss_lr / 10 if rule == "min/10" else steepest_lr
    return LRFindResult(lrs, raw, losses, min_loss_lr, steepest_lr, suggestion, rule, stop_reason)
