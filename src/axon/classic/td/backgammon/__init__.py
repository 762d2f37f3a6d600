"""TD-Gammon: a backgammon rules engine, Tesauro's 198-unit encoding, a sigmoid value
network trained by TD(lambda) self-play, and players to measure it against."""

from axon.classic.td.backgammon.encoding import NUM_INPUTS, boards_array, encode
from axon.classic.td.backgammon.game import (
    MatchResult,
    opening_roll,
    play_game,
    play_match,
    roll,
    wilson_interval,
)
from axon.classic.td.backgammon.network import TDGammonNet, load_net, save_net
from axon.classic.td.backgammon.players import (
    NetPlayer,
    heuristic_player,
    heuristic_score,
    random_player,
)
from axon.classic.td.backgammon.rules import (
    IllegalMoveError,
    Play,
    apply_play,
    initial_board,
    legal_plays,
    make_board,
    pip_count,
    winner,
)
from axon.classic.td.backgammon.selfplay import self_play_game, train_self_play

__all__ = [
    "NUM_INPUTS", "boards_array", "encode", "MatchResult", "opening_roll", "play_game",
    "play_match", "roll", "wilson_interval", "TDGammonNet", "load_net", "save_net",
    "NetPlayer", "heuristic_player", "heuristic_score", "random_player", "IllegalMoveError",
    "Play", "apply_play", "initial_board", "legal_plays", "make_board", "pip_count", "winner",
    "self_play_game", "train_self_play",
]
