import itertools

import numpy as np
import pytest

from axon.classic.td.backgammon import (
    IllegalMoveError,
    apply_play,
    initial_board,
    legal_plays,
    make_board,
    pip_count,
    play_game,
    random_player,
    winner,
)
from axon.classic.td.backgammon.rules import _step


def moves_of(board, player, dice):
    return {play.moves for play in legal_plays(board, player, dice)}


def boards_of(board, player, dice):
    return {play.board for play in legal_plays(board, player, dice)}


def test_initial_board_and_pips():
    board = initial_board()
    assert sum(board[0][1:]) == 15 and board[0][0] == 0
    assert pip_count(board, 0) == pip_count(board, 1) == 167
    assert winner(board) is None


def test_opening_31_makes_the_five_point():
    plays = legal_plays(initial_board(), 0, (3, 1))
    five_point = make_board({24: 2, 13: 5, 6: 4, 5: 2, 8: 2}, {24: 2, 13: 5, 8: 3, 6: 5})
    assert five_point in {p.board for p in plays}
    # 24/21 24/23 (and the same point reached twice) appear once: plays are distinct boards
    assert len(plays) == len({p.board for p in plays})


def test_bar_entry_blocked_means_no_play():
    # player 1 holds its points 1..6 except 3: player 0 enters only with a 3
    board = make_board({25: 1, 6: 14}, {1: 2, 2: 2, 4: 2, 5: 2, 6: 2})
    assert moves_of(board, 0, (6, 5)) == {()}
    assert boards_of(board, 0, (6, 5)) == {board}


def test_bar_entry_then_the_other_die():
    board = make_board({25: 1, 6: 14}, {1: 2, 2: 2, 4: 2, 5: 2, 6: 2})
    plays = legal_plays(board, 0, (3, 5))
    assert all(p.moves[0] == (25, 22) for p in plays)
    assert {p.moves[1] for p in plays} == {(22, 17), (6, 1)}


def test_two_on_the_bar_one_enters_nothing_else_moves():
    board = make_board({25: 2, 6: 13}, {1: 2, 2: 2, 4: 2, 5: 2, 6: 2})
    assert moves_of(board, 0, (3, 5)) == {((25, 22),)}


def test_only_one_die_playable_either_way_plays_the_higher():
    # lone checker on 13: 13/7 and 13/8 open, but 2 (reached by both) is closed
    board = make_board({13: 1}, {23: 2})
    assert moves_of(board, 0, (6, 5)) == {((13, 7),)}


def test_only_the_lower_die_playable():
    board = make_board({13: 1}, {18: 2, 23: 2})  # 7 and 2 closed
    assert moves_of(board, 0, (6, 5)) == {((13, 8),)}


def test_both_dice_must_be_used_when_possible():
    board = make_board({13: 1}, {18: 2})  # 13/7 closed but 13/8/2 works
    assert boards_of(board, 0, (6, 5)) == {make_board({2: 1}, {18: 2})}


def test_doubles_play_four_times_or_as_many_as_possible():
    board = make_board({24: 1}, {})
    assert moves_of(board, 0, (2, 2)) == {((24, 22), (22, 20), (20, 18), (18, 16))}
    blocked = make_board({24: 1}, {5: 2})  # player 0's point 20 is closed
    assert moves_of(blocked, 0, (2, 2)) == {((24, 22),)}


def test_bearing_off_with_a_higher_die_only_from_the_highest_point():
    board = make_board({3: 1, 2: 1}, {13: 15})
    assert boards_of(board, 0, (6, 1)) == {make_board({1: 1}, {13: 15}), make_board({2: 1}, {13: 15})}
    finished = boards_of(board, 0, (6, 5))
    assert len(finished) == 1 and winner(next(iter(finished))) == 0


def test_no_bearing_off_with_a_checker_outside_home():
    board = make_board({7: 1, 2: 1}, {13: 15})
    plays = boards_of(board, 0, (2, 1))
    assert all(after[0][7] == 0 for after in plays if after[0][0] > 0)
    assert make_board({6: 1}, {13: 15}) in plays  # 7/6 first, then 2/off
    assert make_board({7: 1, 1: 1}, {13: 15}) not in plays  # the 1 alone is not enough


def test_hitting_sends_the_blot_to_the_bar():
    board = make_board({13: 1}, {20: 1, 1: 14})  # player 1's blot sits on player 0's point 5
    plays = {p.moves: p.board for p in legal_plays(board, 0, (6, 2))}
    after = plays[((13, 7), (7, 5))]
    assert after[1][25] == 1 and after[1][20] == 0 and after[0][5] == 1


def test_player_one_moves_in_its_own_numbering():
    board = initial_board()
    after = apply_play(board, 1, (6, 5), [(24, 18), (18, 13)])
    assert after[1][24] == 1 and after[1][13] == 6 and after[0] == board[0]


def test_apply_play_rejects_illegal_moves():
    board = make_board({13: 1}, {18: 2})
    with pytest.raises(IllegalMoveError, match="13/7"):
        apply_play(board, 0, (6, 5), [(13, 7)])  # point 7 is closed
    with pytest.raises(IllegalMoveError, match="as much of the roll"):
        apply_play(board, 0, (6, 5), [(13, 8)])  # the 6 can still be played from 8
    assert apply_play(board, 0, (6, 5), [(13, 8), (8, 2)]) == make_board({2: 1}, {18: 2})
    with pytest.raises(IllegalMoveError, match="8/14"):
        apply_play(board, 0, (6, 5), [(8, 14)])  # backwards
    with pytest.raises(IllegalMoveError, match="dice"):
        legal_plays(board, 0, (7, 1))
    with pytest.raises(IllegalMoveError, match="both players"):
        make_board({5: 1}, {20: 1})


def _reference_plays(board, player, dice):
    """Brute force: every ordering of the dice, every checker, no deduplication."""
    high, low = max(dice), min(dice)
    orders = {(high,) * 4} if high == low else {(high, low), (low, high)}
    found = []  # (dice used, first die, board)

    def walk(me, opp, order, used):
        extended = False
        if used < len(order) and me[0] < 15:
            for source in range(1, 26):
                after = _step(me, opp, source, order[used])
                if after is not None:
                    extended = True
                    walk(*after, order, used + 1)
        if not extended:
            found.append((used if me[0] < 15 else len(order), order[0], (me, opp)))

    for order in orders:
        walk(board[player], board[1 - player], order, 0)
    most = max(u for u, _, _ in found)
    best = [(f, b) for u, f, b in found if u == most]
    if most == 1 and high != low and any(f == high for f, _ in best):
        best = [(f, b) for f, b in best if f == high]
    return {b if player == 0 else (b[1], b[0]) for _, b in best}


def test_move_generation_matches_brute_force_on_game_positions():
    rng = np.random.default_rng(3)
    board, player, checked = initial_board(), 0, 0
    while checked < 150:
        dice = (int(rng.integers(1, 7)), int(rng.integers(1, 7)))
        assert boards_of(board, player, dice) == _reference_plays(board, player, dice)
        plays = legal_plays(board, player, dice)
        board = plays[int(rng.integers(len(plays)))].board
        checked += 1
        if winner(board) is not None:
            board = initial_board()
        player = 1 - player


def test_random_games_keep_the_checkers_and_end():
    rng = np.random.default_rng(0)
    for _ in range(5):
        won = play_game((random_player, random_player), rng)
        assert won in (0, 1)
    for dice in itertools.product(range(1, 7), repeat=2):
        for play in legal_plays(initial_board(), 0, dice):
            assert sum(play.board[0]) == sum(play.board[1]) == 15
