"""The TD-Gammon experiments behind `axon classic td-gammon train|play`: self-play
training with progress, periodic evaluation and checkpoints, and evaluation matches."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from axon.classic.td.backgammon.game import MatchResult, play_match
from axon.classic.td.backgammon.network import TDGammonNet, load_net, save_net
from axon.classic.td.backgammon.players import NetPlayer, heuristic_player, random_player
from axon.classic.td.backgammon.selfplay import check_rates, train_self_play
from axon.classic.td.params import check_count

CHECKPOINT = "td_gammon.safetensors"
HISTORY = "history.json"
OPPONENTS = {"random": random_player, "heuristic": heuristic_player}


def evaluate(net: TDGammonNet, games: int, seed: int = 0) -> dict[str, MatchResult]:
    """The network's matches against the random and the heuristic player."""
    player = NetPlayer(net)
    return {
        name: play_match(player, opponent, games, seed=seed) for name, opponent in OPPONENTS.items()
    }


def _write_json(path: Path, data) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


class _Progress:
    """A rich progress bar on a terminal; a plain line every ``every`` games otherwise."""

    def __init__(self, total: int, start: int, every: int):
        self.total, self.start, self.every = total, start, every
        self.bar = None
        if sys.stdout.isatty():
            from rich.progress import Progress

            self.bar = Progress(*Progress.get_default_columns(), "{task.fields[note]}")
            self.task = self.bar.add_task("self-play", total=total, completed=start, note="")
            self.bar.start()

    def update(self, done: int, note: str) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done, note=note)
        elif done % self.every == 0 or done == self.total:
            print(f"game {done}/{self.total} {note}", flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def train(
    out: str | Path,
    games: int,
    hidden: int = 40,
    alpha: float = 0.1,
    lam: float = 0.7,
    seed: int = 0,
    checkpoint_every: int = 1000,
    eval_games: int = 200,
    resume: bool = False,
) -> dict:
    """Self-play ``games`` more games, writing ``out/td_gammon.safetensors`` and the
    evaluation history ``out/history.json`` every ``checkpoint_every`` games and at
    the end. With ``resume`` the run continues from the checkpoint in ``out``.
    Returns the final info (games trained, seconds, last evaluation)."""
    check_rates(alpha, lam)
    check_count("games", games)
    check_count("checkpoint_every", checkpoint_every)
    check_count("eval_games", eval_games, minimum=0)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if resume:
        net, info = load_net(out / CHECKPOINT)
        history = json.loads((out / HISTORY).read_text()) if (out / HISTORY).exists() else []
    else:
        net, info, history = TDGammonNet(hidden, seed=seed), {"games": 0, "seconds": 0.0}, []
    info.update(alpha=alpha, lam=lam, hidden=net.hidden)
    start = info["games"]
    total = start + games
    progress = _Progress(total, start, every=max(1, min(checkpoint_every, 100)))
    clock = time.perf_counter()
    plies = []

    def after_game(index: int, winner: int, length: int) -> None:
        nonlocal clock
        done = start + index + 1
        plies.append(length)
        note = f"{np.mean(plies[-100:]):.0f} plies/game"
        if done % checkpoint_every == 0 or done == total:
            info["games"] = done
            info["seconds"] += time.perf_counter() - clock
            if eval_games:
                results = evaluate(net, eval_games, seed=done)
                row = {"games": done, "seconds": round(info["seconds"], 1)}
                for name, result in results.items():
                    low, high = result.interval
                    row[name] = {"wins": result.wins, "games": result.games,
                                 "rate": result.rate, "ci95": [low, high]}
                history.append(row)
                _write_json(out / HISTORY, history)
                info["last_eval"] = row
                note += " | " + " ".join(f"vs {n} {r.rate:.1%}" for n, r in results.items())
            save_net(net, out / CHECKPOINT, info)
            clock = time.perf_counter()  # evaluation and saving are not training time
        progress.update(done, note)

    try:
        train_self_play(net, games, alpha, lam, seed=[seed, start], on_game=after_game)
    finally:
        progress.close()
    return info


def play(checkpoint: str | Path, games: int, seed: int = 0) -> dict[str, MatchResult]:
    """Load a trained network and play it against the random and heuristic players."""
    check_count("games", games)
    net, _ = load_net(checkpoint)
    return evaluate(net, games, seed=seed)
