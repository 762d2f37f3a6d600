import json

import numpy as np
import pytest
import torch

from axon.classic.td.backgammon import (
    NetPlayer,
    TDGammonNet,
    boards_array,
    encode,
    heuristic_player,
    initial_board,
    legal_plays,
    load_net,
    make_board,
    play_match,
    random_player,
    save_net,
    self_play_game,
    wilson_interval,
)
from axon.classic.td.backgammon import run
from axon.errors import CheckpointError, ConfigError


def test_encoding_of_the_initial_position():
    x = encode(boards_array([initial_board()]), own=0)[0]
    assert x.shape == (198,)
    # own 6-point holds 5: units 1, 1, 1, (5 - 3) / 2
    torch.testing.assert_close(x[5 * 4 : 6 * 4], torch.tensor([1.0, 1.0, 1.0, 1.0]))
    # the opponent's 24-point is own point 1: 2 checkers
    torch.testing.assert_close(x[96:100], torch.tensor([1.0, 1.0, 0.0, 0.0]))
    assert x[192:196].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert x[196:].tolist() == [0.0, 1.0]
    assert x[:96].sum() == x[96:192].sum()  # symmetric start


def test_encoding_of_bar_and_off():
    board = make_board({25: 2, 1: 3}, {6: 1})
    x = encode(boards_array([board]), own=1)[0]
    assert x[192] == 0.0 and x[193] == 1.0  # own (player 1) bar empty, opponent 2 / 2
    assert x[194] == pytest.approx(14 / 15) and x[195] == pytest.approx(10 / 15)


def test_value_gradient_matches_autograd():
    net = TDGammonNet(hidden=7, seed=3)
    x = encode(boards_array([p.board for p in legal_plays(initial_board(), 0, (6, 1))]), 0)
    h, v = net.hidden_and_value(x)
    grads = net.value_gradient(x[2], h[2], v[2])
    net.zero_grad()
    net(x[2:3])[0].backward()
    for param, grad in zip(net.parameters(), grads):
        torch.testing.assert_close(grad, param.grad)


def test_self_play_learns_and_checkpoints_round_trip(tmp_path):
    net = TDGammonNet(hidden=40, seed=0)
    before = [p.clone() for p in net.parameters()]
    winner, plies = self_play_game(net, 0.1, 0.7, np.random.default_rng(0))
    assert winner in (0, 1) and plies > 10
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))
    path = save_net(net, tmp_path / "net.safetensors", {"games": 1})
    loaded, info = load_net(path)
    assert info == {"games": 1}
    for a, b in zip(net.parameters(), loaded.parameters()):
        torch.testing.assert_close(a, b)
    (tmp_path / "bad.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="bad.safetensors"):
        load_net(tmp_path / "bad.safetensors")


def test_players_choose_legal_plays_and_heuristic_beats_random():
    plays = legal_plays(initial_board(), 0, (4, 2))
    rng = np.random.default_rng(0)
    for player in (random_player, heuristic_player, NetPlayer(TDGammonNet(hidden=4))):
        assert 0 <= player(plays, 0, rng) < len(plays)
    result = play_match(heuristic_player, random_player, games=20, seed=1)
    assert result.wins >= 15


def test_wilson_interval():
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)
    assert wilson_interval(0, 20)[0] == 0.0


def test_train_resume_and_play(tmp_path):
    info = run.train(tmp_path, games=2, hidden=40, checkpoint_every=1, eval_games=1)
    assert info["games"] == 2
    history = json.loads((tmp_path / run.HISTORY).read_text())
    assert [row["games"] for row in history] == [1, 2]
    info = run.train(tmp_path, games=1, checkpoint_every=1, eval_games=0, resume=True)
    assert info["games"] == 3 and info["hidden"] == 40
    results = run.play(tmp_path / run.CHECKPOINT, games=1)
    assert set(results) == {"random", "heuristic"}
    with pytest.raises(ConfigError, match="alpha: 0"):
        run.train(tmp_path, games=1, alpha=0)
    with pytest.raises(ConfigError, match="lambda: 1.5"):
        run.train(tmp_path, games=1, lam=1.5)


def test_the_committed_network_beats_the_random_player():
    from pathlib import Path

    path = Path(__file__).parents[3] / "examples" / "td_gammon" / "td_gammon_h40.safetensors"
    net, info = load_net(path)
    assert info["games"] == 45000 and net.hidden == 40
    result = play_match(NetPlayer(net), random_player, games=20, seed=7)
    assert result.wins >= 18
