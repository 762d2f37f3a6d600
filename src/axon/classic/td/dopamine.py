"""Dayan & Abbott figure 9.2: the TD error moving from the reward to the stimulus.

A stimulus pulse at ``stimulus_time`` and a reward at ``reward_time`` in a trial of
``steps`` steps; the stimulus feeds a tapped delay line (the complete serial compound)
spanning the rest of the trial. Over trials the prediction error delta(t), the model's
dopamine signal, moves from the reward time to the stimulus onset; once trained,
omitting the reward leaves a negative delta at the reward time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from axon.classic.td.params import check_count
from axon.classic.td.temporal import TemporalDifference, delay_line
from axon.errors import ConfigError


@dataclass
class DopamineResult:
    """deltas and values (trials, steps) seen in each training trial; omitted (steps,)
    the deltas of one more trial with the reward left out."""

    deltas: np.ndarray
    values: np.ndarray
    omitted: np.ndarray
    stimulus_time: int
    reward_time: int

    def peak_times(self) -> np.ndarray:
        """For each trial, the step with the largest delta."""
        return self.deltas.argmax(axis=1)

    def report(self) -> str:
        peaks = self.peak_times()
        trials = len(peaks)
        marks = sorted({0, trials // 4, trials // 2, 3 * trials // 4, trials - 1})
        lines = [f"stimulus at t = {self.stimulus_time}, reward at t = {self.reward_time}"]
        for k in marks:
            lines.append(
                f"  trial {k + 1:4d}: delta peaks at t = {peaks[k]:3d} "
                f"(delta = {self.deltas[k, peaks[k]]:.3f})"
            )
        low = int(self.omitted.argmin())
        lines.append(
            f"  reward omitted after training: delta peaks at t = {int(self.omitted.argmax())}, "
            f"dips to {self.omitted[low]:.3f} at t = {low}"
        )
        return "\n".join(lines)


def dopamine_experiment(
    trials: int = 300,
    eps: float = 0.5,
    gamma: float = 1.0,
    steps: int = 250,
    stimulus_time: int = 100,
    reward_time: int = 200,
    reward: float = 1.0,
) -> DopamineResult:
    """Train TD(0) on ``trials`` stimulus-reward pairings, then run one without reward."""
    check_count("trials", trials)
    check_count("steps", steps, minimum=2)
    if not 0 <= stimulus_time < reward_time < steps:
        raise ConfigError(
            f"stimulus_time, reward_time: {stimulus_time}, {reward_time}; expected "
            f"0 <= stimulus_time < reward_time < steps = {steps}"
        )
    u = torch.zeros(steps, 1, dtype=torch.float64)
    u[stimulus_time, 0] = 1.0
    x = delay_line(u, steps - stimulus_time)
    r = torch.zeros(steps, dtype=torch.float64)
    r[reward_time] = reward
    model = TemporalDifference(eps=eps, gamma=gamma, online=False)
    model.fit(x.expand(trials, *x.shape), r.expand(trials, steps))
    _, omitted, _ = model.trial(model.w_, x, torch.zeros_like(r))
    return DopamineResult(
        model.deltas_.numpy(), model.values_.numpy(), omitted.numpy(), stimulus_time, reward_time
    )
