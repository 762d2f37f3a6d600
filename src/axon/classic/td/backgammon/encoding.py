"""Tesauro's 198-unit input encoding of backgammon positions, vectorised over boards.

For each of the 24 points and each player, four units encode that player's checkers n
there: n >= 1, n >= 2, n >= 3, and (n - 3) / 2 when n > 3 (4 x 24 x 2 = 192 units).
Then the checkers on the bar (n / 2) and borne off (n / 15) of each player (4 units)
and two units for whose turn it is. Positions are encoded from the point of view of a
chosen player ("own" first, points in that player's numbering); the turn units say
that the other player moves next, as in an afterstate of the own player's play.
"""

from __future__ import annotations

import numpy as np
import torch

from axon.classic.td.backgammon.rules import BAR, OFF, Board

NUM_INPUTS = 198


def boards_array(boards: list[Board]) -> np.ndarray:
    """Stack boards into an int array of shape (n, 2, 26)."""
    return np.asarray(boards, dtype=np.int64).reshape(len(boards), 2, 26)


def _point_units(counts: np.ndarray) -> np.ndarray:
    """(n, 24) checker counts -> (n, 96) units: four per point."""
    units = np.stack(
        [counts >= 1, counts >= 2, counts >= 3, np.maximum(counts - 3, 0) / 2.0], axis=-1
    )
    return units.reshape(len(counts), 96)


def encode(boards: np.ndarray, own: int) -> torch.Tensor:
    """Encode boards (n, 2, 26) seen by player ``own`` into float32 inputs (n, 198).

    Own points are taken in own's numbering 1..24; the opponent's are mapped onto the
    same physical points (opponent point 25 - i), so unit blocks line up point by point.
    """
    mine = boards[:, own]
    theirs = boards[:, 1 - own]
    n = len(boards)
    out = np.empty((n, NUM_INPUTS), dtype=np.float32)
    out[:, 0:96] = _point_units(mine[:, 1:25])
    out[:, 96:192] = _point_units(theirs[:, 24:0:-1])
    out[:, 192] = mine[:, BAR] / 2.0
    out[:, 193] = theirs[:, BAR] / 2.0
    out[:, 194] = mine[:, OFF] / 15.0
    out[:, 195] = theirs[:, OFF] / 15.0
    out[:, 196] = 0.0  # own player is not to move: this is the position after own's play
    out[:, 197] = 1.0
    return torch.from_numpy(out)
