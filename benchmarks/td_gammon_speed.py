"""TD-Gammon's inner loop, side by side with the plain way of writing it (same process).

- Move choice: all candidate afterstates of a roll scored in one batched forward pass
  (what axon does) against one forward pass per candidate.
- The TD(lambda) step: the closed-form value gradient plus the trace update against
  autograd's backward on the chosen afterstate plus the same trace update.
- Self-play throughput (games per second) of the whole loop, for the record.

    .venv/bin/python benchmarks/td_gammon_speed.py [--hidden 40] [--positions 200] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from axon.bench.timing import time_interleaved
from axon.classic.td.backgammon import (
    TDGammonNet,
    boards_array,
    encode,
    legal_plays,
    play_game,
    random_player,
    self_play_game,
)
from axon.classic.td.backgammon.game import opening_roll, roll
from axon.classic.td.backgammon.rules import initial_board, winner


def sample_positions(count: int, seed: int = 0) -> list[torch.Tensor]:
    """Encoded candidate sets (candidates, 198) of ``count`` rolls from random games."""
    rng = np.random.default_rng(seed)
    sets = []
    while len(sets) < count:
        board = initial_board()
        player, dice = opening_roll(rng)
        while winner(board) is None and len(sets) < count:
            plays = legal_plays(board, player, dice)
            sets.append(encode(boards_array([p.board for p in plays]), player))
            board = plays[int(rng.integers(len(plays)))].board
            player, dice = 1 - player, roll(rng)
    return sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=40)
    parser.add_argument("--positions", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    net = TDGammonNet(args.hidden)
    sets = sample_positions(args.positions)
    mean = np.mean([len(s) for s in sets])
    print(f"{len(sets)} rolls, {mean:.1f} candidate afterstates per roll on average, "
          f"hidden={args.hidden}, threads={args.threads}")

    @torch.no_grad()
    def batched():
        for x in sets:
            torch.argmax(net(x))

    @torch.no_grad()
    def one_by_one():
        for x in sets:
            torch.argmax(torch.stack([net(row.unsqueeze(0))[0] for row in x]))

    times = time_interleaved({"batched": batched, "per candidate": one_by_one}, args.repeats, 1)
    per = {k: v / len(sets) * 1e6 for k, v in times.items()}
    print(f"move choice: batched {per['batched']:.0f} us/roll, per candidate "
          f"{per['per candidate']:.0f} us/roll, speed-up x{per['per candidate'] / per['batched']:.1f}")

    params = list(net.parameters())
    traces = [torch.zeros_like(p) for p in params]
    rows = [x[0] for x in sets]

    @torch.no_grad()
    def closed_form():
        for x in rows:
            h, v = net.hidden_and_value(x.unsqueeze(0))
            for e, g in zip(traces, net.value_gradient(x, h[0], v[0])):
                e.mul_(0.7).add_(g)

    def autograd():
        for x in rows:
            net.zero_grad(set_to_none=True)
            net(x.unsqueeze(0))[0].backward()
            with torch.no_grad():
                for e, p in zip(traces, params):
                    e.mul_(0.7).add_(p.grad)

    times = time_interleaved({"closed form": closed_form, "autograd": autograd}, args.repeats, 1)
    per = {k: v / len(rows) * 1e6 for k, v in times.items()}
    print(f"TD step: closed-form gradient {per['closed form']:.0f} us, autograd "
          f"{per['autograd']:.0f} us, speed-up x{per['autograd'] / per['closed form']:.1f}")

    rng = np.random.default_rng(1)
    start, plies = time.perf_counter(), 0
    for _ in range(10):
        plies += self_play_game(net, 0.1, 0.7, rng)[1]
    seconds = time.perf_counter() - start
    print(f"self-play: {10 / seconds:.1f} games/s, {plies / seconds:.0f} plies/s")
    start = time.perf_counter()
    for _ in range(10):
        play_game((random_player, random_player), rng)
    print(f"rules engine alone (random vs random): "
          f"{10 / (time.perf_counter() - start):.1f} games/s")


if __name__ == "__main__":
    main()
