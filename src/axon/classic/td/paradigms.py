"""The conditioning paradigms' names and stages, and the TD trial's timing (plain data,
no torch: the `axon` command lists them in its help without loading torch). Simulated by
axon.classic.td.conditioning."""

from __future__ import annotations

from dataclasses import dataclass

TRIAL_STEPS = 20
ONSET = 8
GAP = 3
REWARD_TIME = 14
MODELS = ("rw", "td")


@dataclass(frozen=True)
class TrialType:
    """Stimuli shown and the reward that follows; ``serial`` stimuli come one after
    another in the order given, the others together."""

    stimuli: tuple[str, ...]
    reward: float
    serial: bool = False

    def __str__(self) -> str:
        shown = (" -> " if self.serial else " + ").join(self.stimuli)
        return f"{shown} -> {'r' if self.reward else 'x'}"


@dataclass(frozen=True)
class Stage:
    """``trials`` trials cycling through ``types`` in order."""

    trials: int
    types: tuple[TrialType, ...]

    def __str__(self) -> str:
        return ", ".join(str(t) for t in self.types)


def _t(*stimuli: str, reward: float = 1.0, serial: bool = False) -> TrialType:
    return TrialType(tuple(stimuli), reward, serial)


PARADIGMS: dict[str, tuple[Stage, ...]] = {
    "pavlovian": (Stage(100, (_t("s"),)),),
    "extinction": (Stage(100, (_t("s"),)), Stage(100, (_t("s", reward=0.0),))),
    "blocking": (Stage(100, (_t("s1"),)), Stage(100, (_t("s1", "s2"),))),
    "inhibitory": (Stage(400, (_t("s1", "s2", reward=0.0), _t("s1"))),),
    "secondary": (Stage(100, (_t("s1"),)), Stage(30, (_t("s2", "s1", reward=0.0, serial=True),))),
    "overshadowing": (Stage(100, (_t("s1", "s2"),)),),
}
