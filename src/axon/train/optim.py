"""Optimizers and learning-rate schedules from their configs. PyTorch's own classes are
used as they are."""

from __future__ import annotations

from typing import Iterable

import torch
from torch.optim.lr_scheduler import LRScheduler

from axon.train.config import OptimizerConfig, ScheduleConfig


def build_optimizer(params: Iterable[torch.nn.Parameter], config: OptimizerConfig) -> torch.optim.Optimizer:
    """SGD (momentum, Nesterov, weight decay) or AdamW."""
    if config.name == "sgd":
        return torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum,
            nesterov=config.nesterov, weight_decay=config.weight_decay,
        )
    return torch.optim.AdamW(
        params, lr=config.lr, betas=(config.momentum, config.beta2), weight_decay=config.weight_decay
    )


class Schedule:
    """A PyTorch LR scheduler plus when it steps: after every batch or every epoch."""

    def __init__(self, scheduler: LRScheduler | None, per_batch: bool):
        self.scheduler = scheduler
        self.per_batch = per_batch

    def after_batch(self) -> None:
        if self.scheduler is not None and self.per_batch:
            self.scheduler.step()

    def after_epoch(self) -> None:
        if self.scheduler is not None and not self.per_batch:
            self.scheduler.step()

    def state_dict(self) -> dict:
        return self.scheduler.state_dict() if self.scheduler is not None else {}

    def load_state_dict(self, state: dict) -> None:
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state)


def build_schedule(
    optimizer: torch.optim.Optimizer, config: ScheduleConfig, epochs: int, steps_per_epoch: int
) -> Schedule:
    """One Cycle (per batch, cosine, momentum cycling), step drops at epochs, or constant."""
    if config.name == "onecycle":
        max_lr = [group["lr"] for group in optimizer.param_groups]
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=max_lr, total_steps=epochs * steps_per_epoch,
            pct_start=config.warmup_fraction, div_factor=config.div_factor,
            final_div_factor=config.final_div_factor,
        )
        return Schedule(scheduler, per_batch=True)
    if config.name == "step":
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, config.milestones, gamma=config.gamma)
        return Schedule(scheduler, per_batch=False)
    return Schedule(None, per_batch=False)
