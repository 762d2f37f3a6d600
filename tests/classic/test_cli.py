import pytest

from axon.classic.io import load_tensors, save_tensors
from axon.cli import main

pytestmark = pytest.mark.usefixtures("single_thread")


def run(capsys, *argv):
    code = main(["classic", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def is_png(path):
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gates_print_truth_tables(capsys):
    code, out, _ = run(capsys, "gates")
    assert code == 0
    for name in ("AND", "OR", "NOT", "(NOT a) AND (NOT b)", "XNOR"):
        assert name in out
    assert "g(-30) ≈ 0" in out and "a_2^(2)" in out


def test_perceptron_and_xor(capsys):
    code, out, _ = run(capsys, "perceptron", "--max-iter", "5")
    assert code == 0 and "XOR: did not converge" in out and "digits: multi-class perceptron" in out
    code, out, _ = run(capsys, "xor", "--epochs", "300")
    assert code == 0 and "accuracy 1.00" in out


def test_voting_then_weights(capsys, tmp_path):
    code, out, _ = run(capsys, "voting", "--max-iter", "3", "--out", str(tmp_path))
    assert code == 0 and "test accuracy" in out
    assert load_tensors(tmp_path / "voting.safetensors", ("coef",))["coef"].shape == (10, 64)
    (tmp_path / "voting_weights.png").unlink()
    code, out, _ = run(capsys, "weights", "--out", str(tmp_path))
    assert code == 0 and is_png(tmp_path / "voting_weights.png")


def test_weights_rejects_bad_files(capsys, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_text("not tensors")
    code, _, err = run(capsys, "weights", "--weights", str(bad), "--out", str(tmp_path))
    assert code == 2 and "not a safetensors file" in err
    import torch

    save_tensors(tmp_path / "w.safetensors", {"coef": torch.zeros(10, 63)})
    code, _, err = run(capsys, "weights", "--weights", str(tmp_path / "w.safetensors"), "--out", str(tmp_path))
    assert code == 2 and "expected 'coef' of shape (n_classes, 64)" in err
    code, _, err = run(capsys, "weights", "--weights", str(tmp_path / "missing.safetensors"))
    assert code == 2 and "no such weights file" in err


def test_hopfield_experiments(capsys, tmp_path):
    code, out, _ = run(capsys, "hopfield", "--neurons", "100", "--patterns", "4", "--out", str(tmp_path))
    assert code == 0 and "async recall:overlap 1.0000" in out and "recall drawn: overlap 0.40 -> 1.00" in out
    assert is_png(tmp_path / "hopfield_recall.png")
    code, out, _ = run(capsys, "hopfield-rules", "--neurons", "40", "--alphas", "0.1", "0.5", "--trials", "1",
                       "--cues", "2", "--out", str(tmp_path))
    assert code == 0 and "pseudo-inverse" in out and is_png(tmp_path / "hopfield_rules.png")
    code, out, _ = run(capsys, "hopfield-states", "--neurons", "60", "--temperatures", "0.2", "1.5",
                       "--census-patterns", "1", "3", "--starts", "4", "--out", str(tmp_path))
    assert code == 0 and "mixture" in out and is_png(tmp_path / "hopfield_states.png")
    code, out, _ = run(capsys, "capacity", "--sizes", "50", "--alphas", "0.05", "0.3", "--trials", "1",
                       "--out", str(tmp_path))
    assert code == 0 and "theory" in out and is_png(tmp_path / "hopfield_capacity.png")
    code, out, _ = run(capsys, "modern-hopfield", "--dim", "16", "--patterns", "8", "64", "--betas", "0.1", "2",
                       "--queries", "10", "--out", str(tmp_path))
    assert code == 0 and is_png(tmp_path / "modern_hopfield.png")
    code, _, err = run(capsys, "hopfield", "--flip", "1.5", "--out", str(tmp_path))
    assert code == 2 and "flip_fraction: expected a number in [0, 1], got 1.5" in err


def test_boltzmann_rbm_dbn(capsys, tmp_path):
    code, out, _ = run(capsys, "boltzmann", "--iters", "20", "--hidden", "2", "--out", str(tmp_path))
    assert code == 0 and "KL(data || model)" in out and is_png(tmp_path / "boltzmann_kl.png")
    code, out, _ = run(capsys, "rbm", "--epochs", "2", "--components", "16", "--out", str(tmp_path))
    assert code == 0 and "pseudo-likelihood" in out and is_png(tmp_path / "rbm_filters_bernoulli.png")
    code, out, _ = run(capsys, "rbm", "--visible", "gaussian", "--epochs", "1", "--components", "8",
                       "--out", str(tmp_path))
    assert code == 0 and is_png(tmp_path / "rbm_filters_gaussian.png")
    code, out, _ = run(capsys, "dbn", "--hidden", "16", "--rbm-epochs", "1", "--epochs", "2", "--quiet")
    assert code == 0 and out.count("test accuracy") == 2 and len(out.splitlines()) == 2
    code, _, err = run(capsys, "boltzmann", "--hidden", "20")
    assert code == 2 and "exact enumeration needs at most 20 units" in err


def test_outputs_get_ordinary_permissions(capsys, tmp_path):
    import os

    code, _, _ = run(capsys, "voting", "--max-iter", "1", "--out", str(tmp_path))
    assert code == 0
    mask = os.umask(0)
    os.umask(mask)
    for name in ("voting.safetensors", "voting_weights.png"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~mask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["voting.safetensors", "voting_weights.png"]  # no temp files left
