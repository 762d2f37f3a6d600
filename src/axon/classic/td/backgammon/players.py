"""Players: each picks one of the legal plays of a roll.

A player is any callable ``(plays, player, rng) -> index`` over the list of legal
``Play``s (all distinct boards) for ``player``; ``rng`` is a numpy Generator.
"""

from __future__ import annotations

import numpy as np
import torch

from axon.classic.td.backgammon.encoding import boards_array, encode
from axon.classic.td.backgammon.network import TDGammonNet
from axon.classic.td.backgammon.rules import BAR, NUM_CHECKERS, OFF, Board, Play


def random_player(plays: list[Play], player: int, rng: np.random.Generator) -> int:
    """Uniformly one of the distinct legal plays."""
    return int(rng.integers(len(plays)))


def heuristic_score(board: Board, player: int) -> float:
    """A hand-made evaluation of ``board`` for ``player``: the pip-count lead (hits add
    the opponent's lost pips), plus 2 per point made (two or more checkers), minus 2
    per blot (a lone checker) and 1.5 per opponent checker on the bar."""
    mine, theirs = board[player], board[1 - player]
    pips = sum(i * n for i, n in enumerate(theirs)) - sum(i * n for i, n in enumerate(mine))
    made = sum(1 for n in mine[1:25] if n >= 2)
    blots = sum(1 for n in mine[1:25] if n == 1)
    return pips + 2.0 * made - 2.0 * blots + 1.5 * theirs[BAR]


def heuristic_player(plays: list[Play], player: int, rng: np.random.Generator) -> int:
    """The play with the best ``heuristic_score`` (a win when one is available)."""
    scores = [
        np.inf if play.board[player][OFF] == NUM_CHECKERS else heuristic_score(play.board, player)
        for play in plays
    ]
    return int(np.argmax(scores))


class NetPlayer:
    """Greedy one-ply player: the play whose afterstate the network values highest."""

    def __init__(self, net: TDGammonNet):
        self.net = net

    @torch.no_grad()
    def __call__(self, plays: list[Play], player: int, rng: np.random.Generator) -> int:
        for i, play in enumerate(plays):
            if play.board[player][OFF] == NUM_CHECKERS:
                return i
        values = self.net(encode(boards_array([p.board for p in plays]), player))
        return int(torch.argmax(values))
