"""The conditioning paradigms as sequences of training stages, run under Rescorla-Wagner
(trial level) or TD (time within each trial, tapped-delay-line stimuli).

Each paradigm (the seed's five plus overshadowing) is a list of stages; a stage repeats
its trial types in turn for a number of trials. A trial type lists the stimuli shown,
shown together or one after another, and the reward; ``reward_prob`` < 1 makes the
reward stochastic.

Under RW a trial is one step: u has a 1 for each stimulus shown. Under TD a trial has
``TRIAL_STEPS`` steps; the stimuli appear as one-step pulses at ``ONSET`` (serial
ones end there, each ``GAP`` steps after the one before, so in secondary conditioning
s2 precedes s1), the reward comes at ``REWARD_TIME``, and each stimulus feeds a tapped
delay line long enough to span the trial. A stimulus's association is then the weight
of its first tap: the value predicted at its onset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from axon.classic.td.paradigms import GAP, MODELS, ONSET, PARADIGMS, REWARD_TIME, TRIAL_STEPS, Stage
from axon.classic.td.params import check_count, check_fraction
from axon.classic.td.rescorla_wagner import RescorlaWagner
from axon.classic.td.temporal import TemporalDifference, delay_line
from axon.errors import ConfigError

@dataclass
class ConditioningResult:
    """What a paradigm taught: ``history`` (trials + 1, stimuli) the associations before
    each trial and after the last; ``stage_ends`` the trial count at each stage's end."""

    paradigm: str
    model: str
    stimuli: list[str]
    stages: tuple[Stage, ...]
    history: np.ndarray
    stage_ends: list[int]

    def associations(self, stage: int = -1) -> dict[str, float]:
        """The association of each stimulus at the end of a stage (default the last)."""
        row = self.history[self.stage_ends[stage]]
        return {name: float(w) for name, w in zip(self.stimuli, row)}

    def report(self) -> str:
        lines = [f"{self.paradigm} under {self.model.upper()}:"]
        for k, stage in enumerate(self.stages):
            learned = ", ".join(f"w_{n} = {w:+.3f}" for n, w in self.associations(k).items())
            lines.append(f"  stage {k + 1} ({stage}; {stage.trials} trials): {learned}")
        return "\n".join(lines)


def trial_sequence(stages, rng: np.random.Generator, reward_prob: float = 1.0):
    """The trial types of all stages in order, and the rewards actually given (trials,)."""
    types = [stage.types[k % len(stage.types)] for stage in stages for k in range(stage.trials)]
    given = rng.random(len(types)) < reward_prob
    rewards = np.array([t.reward for t in types]) * given
    return types, rewards


def _stimuli(stages) -> list[str]:
    names: list[str] = []
    for stage in stages:
        for trial_type in stage.types:
            names.extend(n for n in trial_type.stimuli if n not in names)
    return sorted(names)


def rw_inputs(types, rewards, stimuli) -> tuple[torch.Tensor, torch.Tensor]:
    """u (trials, stimuli) indicators and r (trials,) for Rescorla-Wagner."""
    u = torch.tensor([[float(n in t.stimuli) for n in stimuli] for t in types])
    return u, torch.as_tensor(rewards, dtype=torch.float64)


def td_inputs(types, rewards, stimuli) -> tuple[torch.Tensor, torch.Tensor]:
    """x (trials, TRIAL_STEPS, stimuli * TRIAL_STEPS) delay-line features and
    r (trials, TRIAL_STEPS) for TD."""
    u = torch.zeros(len(types), TRIAL_STEPS, len(stimuli), dtype=torch.float64)
    for k, trial_type in enumerate(types):
        last = len(trial_type.stimuli) - 1
        for order, name in enumerate(trial_type.stimuli):
            onset = ONSET - GAP * (last - order) if trial_type.serial else ONSET
            u[k, onset, stimuli.index(name)] = 1.0
    r = torch.zeros(len(types), TRIAL_STEPS, dtype=torch.float64)
    r[:, REWARD_TIME] = torch.as_tensor(rewards, dtype=torch.float64)
    return delay_line(u, TRIAL_STEPS), r


def simulate(
    paradigm: str,
    model: str = "rw",
    eps: float = 0.2,
    gamma: float = 1.0,
    lam: float = 0.0,
    trace: str = "accumulating",
    reward_prob: float = 1.0,
    trials: int | None = None,
    seed: int = 0,
) -> ConditioningResult:
    """Train ``model`` ("rw" or "td") through the stages of ``paradigm``.

    ``trials`` overrides every stage's trial count; ``reward_prob`` gives each reward
    with that probability. gamma, lam and trace apply to TD only."""
    if paradigm not in PARADIGMS:
        raise ConfigError(f"paradigm: {paradigm!r}; expected one of {', '.join(PARADIGMS)}")
    if model not in MODELS:
        raise ConfigError(f"model: {model!r}; expected one of {', '.join(MODELS)}")
    check_fraction("reward_prob", reward_prob)
    stages = PARADIGMS[paradigm]
    if trials is not None:
        check_count("trials", trials)
        stages = tuple(Stage(trials, s.types) for s in stages)
    stimuli = _stimuli(stages)
    types, rewards = trial_sequence(stages, np.random.default_rng(seed), reward_prob)
    if model == "rw":
        learner = RescorlaWagner(eps).fit(*rw_inputs(types, rewards, stimuli))
        history = learner.history_
    else:
        learner = TemporalDifference(eps, gamma, lam, trace).fit(*td_inputs(types, rewards, stimuli))
        history = learner.history_.reshape(-1, len(stimuli), TRIAL_STEPS)[:, :, 0]
    ends = list(np.cumsum([s.trials for s in stages]))
    return ConditioningResult(paradigm, model, stimuli, stages, history.numpy(), ends)
