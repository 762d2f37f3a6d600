"""Backgammon rules without the doubling cube.

A board is a pair of 26-tuples, one per player (0 and 1), each in that player's own
numbering: ``board[p][i]`` is the number of player p's checkers on p's point i for
i in 1..24 (p moves from 24 towards 1), ``board[p][25]`` the checkers on the bar and
``board[p][0]`` the checkers borne off. Player p's point i is the opponent's point
25 - i. A single checker move is ``(source, destination)`` in the mover's numbering
(source 25 = the bar, destination 0 = borne off).

A play is the whole turn: the moves of one roll and the board they lead to. The rules
enforced are those of the game: checkers on the bar enter before anything else moves,
a point held by two or more opposing checkers is closed, a lone opposing checker (a
blot) is hit and sent to the bar, doubles are played four times, checkers bear off
only when all fifteen are in the home board (points 1..6) and with a die higher than
the highest occupied point only from that point, and as much of the roll as possible
must be used (if only one die can be played, the higher one where either could be).
"""

from __future__ import annotations

from typing import NamedTuple

from axon.errors import AxonError

NUM_CHECKERS = 15
BAR = 25
OFF = 0

Side = tuple[int, ...]  # 26 counts in the owner's numbering
Board = tuple[Side, Side]
Move = tuple[int, int]  # (source, destination) in the mover's numbering


class IllegalMoveError(AxonError):
    """A move or play given to the engine breaks the rules."""


class Play(NamedTuple):
    """One legal turn: the checker moves in order and the board they lead to."""

    moves: tuple[Move, ...]
    board: Board


def initial_board() -> Board:
    """The starting position: 2 on the 24-point, 5 on 13, 3 on 8, 5 on 6, for both players."""
    side = [0] * 26
    side[24], side[13], side[8], side[6] = 2, 5, 3, 5
    return (tuple(side), tuple(side))


def make_board(player0: dict[int, int], player1: dict[int, int]) -> Board:
    """A board from ``{point: count}`` maps in each player's own numbering (25 = bar,
    0 = off); checkers not placed are borne off. Raises IllegalMoveError on a count that
    does not fit (more than 15, negative, both players on one point)."""
    sides = []
    for p, placed in enumerate((player0, player1)):
        side = [0] * 26
        for point, count in placed.items():
            if not 0 <= point <= 25 or count < 0:
                raise IllegalMoveError(
                    f"player {p}: point {point} with {count} checkers; expected a point in "
                    f"0..25 and a count >= 0"
                )
            side[point] = count
        on_board = sum(side[1:])
        if on_board > NUM_CHECKERS:
            raise IllegalMoveError(f"player {p}: {on_board} checkers placed; expected at most 15")
        side[OFF] = NUM_CHECKERS - on_board
        sides.append(tuple(side))
    for i in range(1, 25):
        if sides[0][i] and sides[1][25 - i]:
            raise IllegalMoveError(
                f"point {i} of player 0 (point {25 - i} of player 1) holds checkers of both players"
            )
    return (sides[0], sides[1])


def winner(board: Board) -> int | None:
    """The player who has borne off all fifteen checkers, or None while the game runs."""
    for p in (0, 1):
        if board[p][OFF] == NUM_CHECKERS:
            return p
    return None


def pip_count(board: Board, player: int) -> int:
    """Total pips player still has to move (a checker on point i needs i pips; the bar 25)."""
    return sum(i * n for i, n in enumerate(board[player]))


def _step(me: Side, opp: Side, source: int, die: int) -> tuple[Side, Side] | None:
    """Move one of the mover's checkers from ``source`` by ``die`` pips; None if illegal."""
    if me[source] == 0 or (me[BAR] and source != BAR):
        return None
    dest = source - die
    if dest >= 1:
        target = 25 - dest  # the same point in the opponent's numbering
        opposing = opp[target]
        if opposing >= 2:
            return None
        mine = list(me)
        mine[source] -= 1
        mine[dest] += 1
        if opposing == 1:
            theirs = list(opp)
            theirs[target] = 0
            theirs[BAR] += 1
            return tuple(mine), tuple(theirs)
        return tuple(mine), opp
    if any(me[7:]):  # bearing off needs every checker home
        return None
    if dest < 0 and any(me[source + 1 : 7]):  # a higher die only from the highest point
        return None
    mine = list(me)
    mine[source] -= 1
    mine[OFF] += 1
    return tuple(mine), opp


def _expand(states: dict, die: int) -> dict:
    """All positions reachable from ``states`` ({(me, opp): moves}) by one more checker
    moved ``die`` pips. A finished position (all off) carries over unchanged."""
    out: dict = {}
    for (me, opp), moves in states.items():
        if me[OFF] == NUM_CHECKERS:
            out.setdefault((me, opp), moves)
            continue
        sources = (BAR,) if me[BAR] else [i for i in range(24, 0, -1) if me[i]]
        for source in sources:
            after = _step(me, opp, source, die)
            if after is not None and after not in out:
                out[after] = moves + ((source, max(source - die, OFF)),)
    return out


def _check_dice(dice: tuple[int, int]) -> None:
    if len(dice) != 2 or any(not isinstance(d, int) or not 1 <= d <= 6 for d in dice):
        raise IllegalMoveError(f"dice {dice!r}; expected two integers in 1..6")


def legal_plays(board: Board, player: int, dice: tuple[int, int]) -> list[Play]:
    """Every distinct legal play of ``dice`` for ``player`` (one per resulting board).

    When no die can be played the single play is the empty one (the board unchanged).
    """
    _check_dice(dice)
    if player not in (0, 1):
        raise IllegalMoveError(f"player {player!r}; expected 0 or 1")
    start = {(board[player], board[1 - player]): ()}
    high, low = max(dice), min(dice)
    orders = [(high,) * 4] if high == low else [(high, low), (low, high)]
    reached = []  # (dice used, first die, positions)
    for order in orders:
        level = start
        for used, die in enumerate(order, start=1):
            level = _expand(level, die)
            if not level:
                break
            reached.append((used, order[0], level))
    if not reached:
        return [Play((), board)]
    most = max(used for used, _, _ in reached)
    best = [(first, level) for used, first, level in reached if used == most]
    if most == 1 and high != low and any(first == high for first, _ in best):
        best = [(first, level) for first, level in best if first == high]
    plays: dict = {}
    for _, level in best:
        for (me, opp), moves in level.items():
            after = (me, opp) if player == 0 else (opp, me)
            plays.setdefault(after, moves)
    return [Play(moves, after) for after, moves in plays.items()]


def apply_play(board: Board, player: int, dice: tuple[int, int], moves) -> Board:
    """The board after ``player`` plays ``moves`` (a sequence of (source, destination))
    with ``dice``. Raises IllegalMoveError naming the offending move when a move is
    illegal, or when the play leaves part of the roll unused that could be played."""
    _check_dice(dice)
    me, opp = board[player], board[1 - player]
    remaining = [dice[0]] * 4 if dice[0] == dice[1] else list(dice)
    for move in moves:
        try:
            source, dest = (int(v) for v in move)
        except (TypeError, ValueError):
            raise IllegalMoveError(f"move {move!r}; expected a (source, destination) pair") from None
        pips = source - dest
        if dest == OFF:
            die = next((d for d in sorted(remaining) if d >= pips), None)
        else:
            die = pips if pips in remaining else None
        legal_points = 1 <= source <= 25 and 0 <= dest < source
        after = _step(me, opp, source, die) if die is not None and legal_points else None
        if after is None:
            raise IllegalMoveError(
                f"move {source}/{dest} for player {player} with dice {dice} is illegal here"
            )
        remaining.remove(die)
        me, opp = after
    result = (me, opp) if player == 0 else (opp, me)
    if result not in {play.board for play in legal_plays(board, player, dice)}:
        raise IllegalMoveError(
            f"play {list(moves)} for player {player} with dice {dice} does not use as much of "
            f"the roll as the rules require"
        )
    return result
