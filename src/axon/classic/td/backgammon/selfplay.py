"""TD(lambda) self-play training of the value network, as TD-Gammon did.

The network values afterstates from the point of view of the player who just moved.
Seen from player 0, the value of the position after play t is f_t = V(x_t) when
player 0 moved and 1 - V(x_t) when player 1 did, so one set of eligibility traces
covers both sides: e_t = lambda e_{t-1} + grad f_t, and after each play
w <- w + alpha (f_{t+1} - f_t) e_t, with f at the end equal to the outcome (1 if
player 0 won). Both sides play greedily with the current network.
"""

from __future__ import annotations

import numpy as np
import torch

from axon.classic.td.backgammon.encoding import boards_array, encode
from axon.classic.td.backgammon.game import opening_roll, roll
from axon.classic.td.backgammon.network import TDGammonNet
from axon.classic.td.backgammon.rules import NUM_CHECKERS, OFF, initial_board, legal_plays
from axon.classic.td.params import check_count, check_fraction, check_rate


def check_rates(alpha: float, lam: float) -> None:
    """alpha in (0, 1] and lambda in [0, 1], or a ConfigError naming the value."""
    check_rate("alpha", alpha)
    check_fraction("lambda", lam)


@torch.no_grad()
def self_play_game(
    net: TDGammonNet, alpha: float, lam: float, rng: np.random.Generator
) -> tuple[int, int]:
    """Play one game of the network against itself, learning after every play.

    Returns (winner, number of plays)."""
    params = list(net.parameters())
    traces = [torch.zeros_like(p) for p in params]
    board = initial_board()
    player, dice = opening_roll(rng)
    previous = None  # f of the last afterstate, seen from player 0
    plies = 0
    while True:
        plies += 1
        plays = legal_plays(board, player, dice)
        finished = [p for p in plays if p.board[player][OFF] == NUM_CHECKERS]
        if finished:
            outcome = 1.0 if player == 0 else 0.0
            for p, e in zip(params, traces):
                p.add_(e, alpha=alpha * (outcome - previous))
            return player, plies
        x = encode(boards_array([p.board for p in plays]), player)
        h, v = net.hidden_and_value(x)
        best = int(torch.argmax(v))
        value = float(v[best])
        current = value if player == 0 else 1.0 - value
        if previous is not None:
            for p, e in zip(params, traces):
                p.add_(e, alpha=alpha * (current - previous))
        sign = 1.0 if player == 0 else -1.0
        for e, g in zip(traces, net.value_gradient(x[best], h[best], v[best])):
            e.mul_(lam).add_(g, alpha=sign)
        previous = current
        board = plays[best].board
        player, dice = 1 - player, roll(rng)


def train_self_play(
    net: TDGammonNet,
    games: int,
    alpha: float = 0.1,
    lam: float = 0.7,
    seed=0,
    on_game=None,
) -> None:
    """Train ``net`` in place over ``games`` self-play games; ``seed`` is anything
    numpy's default_rng takes. ``on_game(index, winner, plies)`` is called after each
    game (progress, checkpoints, evaluation)."""
    check_rates(alpha, lam)
    check_count("games", games)
    rng = np.random.default_rng(seed)
    for index in range(games):
        won, plies = self_play_game(net, alpha, lam, rng)
        if on_game is not None:
            on_game(index, won, plies)
