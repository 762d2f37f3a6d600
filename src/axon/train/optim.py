"""Optimizers, parameter groups and learning-rate schedules from their configs.
PyTorch's own classes are used as they are."""

from __future__ import annotations

from fnmatch import fnmatchcase

import torch
from torch import nn
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from axon.errors import ConfigError
from axon.train.config import OptimizerConfig, ScheduleConfig


def param_groups(model: nn.Module, config: OptimizerConfig) -> list[dict]:
    """Parameter groups: the config's `groups` by name pattern (own lr / weight decay),
    and, unless `decay_bias_and_norm`, no weight decay on biases and norm-layer weights
    (every parameter with at most one dimension). Frozen parameters are included, so
    unfreezing later needs no new optimizer."""
    for index, group in enumerate(config.groups):
        for pattern in group.match:
            if not any(fnmatchcase(name, pattern) for name, _ in model.named_parameters()):
                raise ConfigError(f"optimizer.groups[{index}].match: pattern {pattern!r} matches no parameter")
    buckets: dict[tuple, list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        index = next((i for i, g in enumerate(config.groups) if any(fnmatchcase(name, p) for p in g.match)), None)
        group = config.groups[index] if index is not None else None
        lr = group.lr if group is not None and group.lr is not None else config.lr
        decay = group.weight_decay if group is not None and group.weight_decay is not None else config.weight_decay
        if param.ndim <= 1 and not config.decay_bias_and_norm:
            decay = 0.0
        buckets.setdefault((index, lr, decay), []).append(param)
    return [{"params": params, "lr": lr, "weight_decay": decay} for (_, lr, decay), params in buckets.items()]


def build_optimizer(model: nn.Module, config: OptimizerConfig, groups: list[dict] | None = None) -> torch.optim.Optimizer:
    """SGD (momentum, Nesterov, weight decay), AdamW, or LBFGS with a strong-Wolfe line search;
    `groups` (as `param_groups` makes them) replaces the model's own groups."""
    if config.name == "lbfgs":
        if config.groups or config.weight_decay:
            raise ConfigError("optimizer: lbfgs takes no parameter groups or weight_decay (set weight_decay: 0)")
        return torch.optim.LBFGS(model.parameters(), lr=config.lr, max_iter=config.max_iter,
                                 history_size=config.history_size, line_search_fn="strong_wolfe")
    groups = param_groups(model, config) if groups is None else groups
    if config.name == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov)
    return torch.optim.AdamW(groups, lr=config.lr, betas=(config.momentum, config.beta2))


class Schedule:
    """A PyTorch LR scheduler plus when it steps: after every batch, every epoch, or
    every epoch on a monitored metric (plateau)."""

    def __init__(self, scheduler: LRScheduler | ReduceLROnPlateau | None, per_batch: bool, monitor: str | None = None):
        self.scheduler = scheduler
        self.per_batch = per_batch
        self.monitor = monitor

    def after_batch(self) -> None:
        if self.scheduler is not None and self.per_batch:
            self.scheduler.step()

    def after_epoch(self, metrics: dict[str, float]) -> None:
        if self.scheduler is None or self.per_batch:
            return
        if self.monitor is None:
            self.scheduler.step()
        elif self.monitor not in metrics:
            raise ConfigError(f"schedule.monitor: metric {self.monitor!r} is not logged (available: {', '.join(metrics)})")
        else:
            self.scheduler.step(metrics[self.monitor])

    def state_dict(self) -> dict:
        return self.scheduler.state_dict() if self.scheduler is not None else {}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state of a schedule of the same length (One Cycle's total steps)."""
        if self.scheduler is None:
            return
        mine = self.scheduler.state_dict().get("total_steps")
        if mine is not None and state.get("total_steps") != mine:
            raise ValueError(f"the schedule runs {state.get('total_steps')} steps in the checkpoint but {mine} in "
                             f"this run (epochs, batch_size or grad_accum changed)")
        self.scheduler.load_state_dict(state)


def build_schedule(
    optimizer: torch.optim.Optimizer, config: ScheduleConfig, epochs: int, steps_per_epoch: int
) -> Schedule:
    """One Cycle (per batch: warm-up, cosine annealing, momentum cycling), step drops at
    epochs, drop on plateau of a metric, or constant."""
    if config.name == "onecycle":
        max_lr = [group["lr"] for group in optimizer.param_groups]
        cycle_momentum = config.cycle_momentum and not isinstance(optimizer, torch.optim.LBFGS)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=max_lr, total_steps=epochs * steps_per_epoch,
            pct_start=config.warmup_fraction, div_factor=config.div_factor,
            final_div_factor=config.final_div_factor, cycle_momentum=cycle_momentum,
            base_momentum=config.base_momentum, max_momentum=config.max_momentum,
        )
        return Schedule(scheduler, per_batch=True)
    if config.name == "step":
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, config.milestones, gamma=config.gamma)
        return Schedule(scheduler, per_batch=False)
    if config.name == "plateau":
        scheduler = ReduceLROnPlateau(optimizer, mode="min", factor=config.gamma, patience=config.patience)
        return Schedule(scheduler, per_batch=False, monitor=config.monitor)
    return Schedule(None, per_batch=False)
