"""`axon classic conditioning|dopamine|random-walk|foraging|td-gammon` end to end, with tiny sizes."""

import pytest

from axon.cli import main


def axon(*argv):
    return main([str(a) for a in argv])


def test_conditioning_prints_and_plots(tmp_path, capsys):
    assert axon("classic", "conditioning", "blocking", "--out", tmp_path) == 0
    out = capsys.readouterr().out
    assert "blocking under RW" in out and "w_s2 = +0.000" in out
    assert (tmp_path / "conditioning_blocking_rw.png").stat().st_size > 1000


def test_dopamine_command(tmp_path, capsys):
    args = ["--trials", 60, "--steps", 30, "--stimulus-time", 5, "--reward-time", 15]
    assert axon("classic", "dopamine", *args, "--out", tmp_path) == 0
    assert "delta peaks at t =   4" in capsys.readouterr().out
    assert (tmp_path / "dopamine.png").exists()


def test_random_walk_commands(tmp_path, capsys):
    assert axon("classic", "random-walk", "--runs", 3, "--episodes", 5, "--out", tmp_path) == 0
    out = capsys.readouterr().out
    assert "TD(0)" in out and "after   1 episodes" in out
    assert axon("classic", "random-walk", "--method", "batch", "--runs", 3, "--episodes", 12,
                "--out", tmp_path) == 0
    assert "batch MC" in capsys.readouterr().out
    assert axon("classic", "random-walk", "--states", 19, "--runs", 2, "--episodes", 2,
                "--out", tmp_path) == 0
    assert "best alpha" in capsys.readouterr().out
    assert axon("classic", "random-walk", "--states", 19, "--method", "lambda-return", "--runs", 2,
                "--episodes", 2, "--out", tmp_path) == 0
    out = capsys.readouterr().out
    assert "offline lambda-return" in out and "online TD(lambda)" in out
    assert axon("classic", "random-walk", "--states", 19, "--method", "n-step", "--runs", 2,
                "--episodes", 2, "--out", tmp_path) == 0
    assert "n=512" in capsys.readouterr().out
    for name in ("5", "5_batch", "19", "19_lambda_return", "19_n_step"):
        assert (tmp_path / f"random_walk_{name}.png").stat().st_size > 1000


def test_td_gammon_train_and_play(tmp_path, capsys):
    assert axon("classic", "td-gammon", "train", "--games", 1, "--eval-games", 1,
                "--checkpoint-every", 1, "--out", tmp_path) == 0
    assert "trained 1 games" in capsys.readouterr().out
    assert (tmp_path / "win_rates.png").exists()
    assert axon("classic", "td-gammon", "play", "--games", 1, "--out", tmp_path) == 0
    out = capsys.readouterr().out
    assert "vs random: " in out and "95% CI" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["conditioning", "operant"], "paradigm: 'operant'"),
        (["conditioning", "pavlovian", "--eps", "0"], "eps: 0.0"),
        (["conditioning", "secondary", "--model", "td", "--gamma", "1.5"], "gamma: 1.5"),
        (["dopamine", "--reward-time", "300"], "reward_time"),
        (["td-gammon", "train", "--lam", "-0.5"], "lambda: -0.5"),
        (["random-walk", "--method", "n-step"], "--method: 'n-step' with --states 5"),
        (["random-walk", "--states", "19", "--method", "batch"], "--method: 'batch' with --states 19"),
        (["random-walk", "--runs", "0"], "runs: 0"),
        (["random-walk", "--episodes", "0"], "episodes: 0; expected an integer >= 1"),
        (["td-gammon", "play", "--checkpoint", "missing.safetensors"], "missing.safetensors"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys, tmp_path):
    assert axon("classic", *argv, "--out", tmp_path) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_foraging_command(tmp_path, capsys):
    args = ["--bees", 200, "--visits", 60, "--swap-at", 30, "--eps-grid", 0.1, 1.0, "--betas", 1]
    assert axon("classic", "foraging", *args, "--out", tmp_path) == 0
    out = capsys.readouterr().out
    assert "contingencies swapped at visit 31" in out and "beta=1" in out
    assert (tmp_path / "foraging.png").stat().st_size > 1000
    assert axon("classic", "foraging", "--swap-at", 500, "--out", tmp_path) == 2


@pytest.mark.parametrize("argv", [["--episodes", 10**9], ["--method", "batch", "--runs", 10**9],
                                  ["--states", 19, "--method", "n-step", "--episodes", 10**8]])
def test_huge_walks_are_one_line_naming_the_bytes_before_sampling(argv, monkeypatch, capsys, tmp_path):
    from axon.classic.td import random_walk

    def never(*args):
        raise AssertionError("sampled")

    monkeypatch.setattr(random_walk, "sample_episodes", never)
    assert axon("classic", "random-walk", *argv, "--out", tmp_path) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "episodes" in err[0] and "runs" in err[0] and "needs about" in err[0]
    assert not list(tmp_path.iterdir())
