"""Playing games: dice, the opening roll, a whole game between two players, and
matches with win rates and Wilson confidence intervals."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from axon.classic.td.backgammon.rules import initial_board, legal_plays, winner


def roll(rng: np.random.Generator) -> tuple[int, int]:
    """Two dice."""
    a, b = rng.integers(1, 7, size=2)
    return int(a), int(b)


def opening_roll(rng: np.random.Generator) -> tuple[int, tuple[int, int]]:
    """Each player throws one die (again on a tie); the higher starts and plays both."""
    while True:
        a, b = roll(rng)
        if a != b:
            return (0 if a > b else 1), (a, b)


def play_game(players, rng: np.random.Generator, max_plies: int = 10_000) -> int:
    """Play one game between ``players[0]`` and ``players[1]``; returns the winner."""
    board = initial_board()
    player, dice = opening_roll(rng)
    for _ in range(max_plies):
        plays = legal_plays(board, player, dice)
        board = plays[players[player](plays, player, rng)].board
        won = winner(board)
        if won is not None:
            return won
        player, dice = 1 - player, roll(rng)
    raise RuntimeError(f"game did not end within {max_plies} plies")


@dataclass(frozen=True)
class MatchResult:
    """Wins of the first player over ``games`` games, with a 95% Wilson interval."""

    wins: int
    games: int

    @property
    def rate(self) -> float:
        return self.wins / self.games

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.wins, self.games)

    def __str__(self) -> str:
        low, high = self.interval
        return f"{self.wins}/{self.games} = {self.rate:.1%} (95% CI {low:.1%}-{high:.1%})"


def wilson_interval(wins: int, games: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion (95% for the default z)."""
    if games <= 0:
        raise ValueError(f"games: {games}; expected a positive count")
    p = wins / games
    denom = 1 + z * z / games
    centre = (p + z * z / (2 * games)) / denom
    half = z * math.sqrt(p * (1 - p) / games + z * z / (4 * games * games)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def play_match(first, second, games: int, seed: int = 0) -> MatchResult:
    """``games`` games of ``first`` against ``second``, swapping seats every game so
    each side plays both colours; returns the first player's wins."""
    if not isinstance(games, int) or games < 1:
        raise ValueError(f"games: {games!r}; expected a positive integer")
    rng = np.random.default_rng(seed)
    wins = 0
    for g in range(games):
        seat = g % 2
        players = (first, second) if seat == 0 else (second, first)
        wins += play_game(players, rng) == seat
    return MatchResult(wins, games)
