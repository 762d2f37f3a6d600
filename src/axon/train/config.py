"""The engine's own settings that a Trainer takes: the optimizer and the schedule.

The run config (`axon.run.config`) holds them as its `optimizer` and `schedule` sections."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Section(BaseModel):
    """A config section: unknown keys are errors; assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, data: Any) -> Any:
        """`epochs: true` is an error, not one epoch (pydantic reads a bool as 0 or 1)."""
        if isinstance(data, dict):
            for key, value in data.items():
                field = cls.model_fields.get(key) if isinstance(key, str) else None
                if isinstance(value, bool) and field is not None:
                    kinds = set(getattr(field.annotation, "__args__", (field.annotation,)))
                    if kinds & {int, float} and bool not in kinds:
                        raise ValueError(f"{key}: expected a number, got {value!r}")
        return data


class ParamGroupConfig(Section):
    match: list[str] = Field(min_length=1)
    """Parameter-name patterns (fnmatch, e.g. "logits.*"); the first group that matches wins."""
    lr: float | None = Field(None, gt=0)
    weight_decay: float | None = Field(None, ge=0)


class OptimizerConfig(Section):
    name: Literal["adamw", "sgd", "lbfgs"] = "adamw"
    lr: float = Field(3e-3, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    """SGD momentum; for AdamW the first beta."""
    nesterov: bool = False
    beta2: float = Field(0.999, gt=0, lt=1)
    decay_bias_and_norm: bool = False
    """Apply weight decay to biases and norm-layer weights too (off by default)."""
    groups: list[ParamGroupConfig] = Field(default_factory=list)
    """Per-group learning rates and weight decay, by parameter-name pattern."""
    history_size: int = Field(10, ge=1)
    """LBFGS: curvature pairs kept (across iterations and epochs)."""
    max_iter: int = Field(20, ge=1)
    """LBFGS: iterations per full-batch step (one step per epoch), strong-Wolfe line search."""


class ScheduleConfig(Section):
    name: Literal["onecycle", "constant", "step", "plateau"] = "onecycle"
    warmup_fraction: float = Field(0.3, gt=0, lt=1)
    """One Cycle: fraction of the steps spent raising the learning rate."""
    div_factor: float = Field(25.0, gt=0)
    """One Cycle: initial lr = lr / div_factor."""
    final_div_factor: float = Field(1e4, gt=0)
    """One Cycle: final lr = initial lr / final_div_factor."""
    cycle_momentum: bool = True
    """One Cycle: cycle momentum (SGD) or beta1 (AdamW) inversely to the lr."""
    base_momentum: float = Field(0.85, ge=0, lt=1)
    max_momentum: float = Field(0.95, ge=0, lt=1)
    milestones: list[int] = Field(default_factory=list)
    """Step: epochs at which the learning rate is multiplied by gamma."""
    gamma: float = Field(0.1, gt=0)
    """Step and plateau: the factor applied to the learning rate."""
    monitor: str = "val_loss"
    """Plateau: the metric watched (mode min)."""
    patience: int = Field(3, ge=0)
    """Plateau: epochs without improvement before the drop."""
