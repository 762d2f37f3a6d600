"""`axon models`."""

from axon.cli import main


def test_lists_every_model_with_parameter_counts(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert {"digits-cnn", "digits-mlp", "mlp", "googlenet"} <= set(lines)
    assert "67,754" in lines["digits-cnn"]  # 4 convs without bias + 4 batch norms + the linear head
    assert "1,582,671,872" in lines["googlenet"]  # multiply-adds per 224x224 image


def test_shows_one_model_built_with_arguments(capsys):
    assert main(["models", "googlenet", "--set", "image_size=64", "--set", "num_classes=5"]) == 0
    out = capsys.readouterr().out
    assert "inception_5b" in out and "(1024, 2, 2)" in out and "(5,)" in out


def test_bad_arguments_are_one_line_errors(capsys):
    assert main(["models", "googlenet", "--set", "image_size"]) == 2
    assert main(["models", "googlenet", "--set", "colour=1"]) == 2
    assert main(["models", "nope"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "axon models: error: --set: expected key=value, got 'image_size'"
    assert "takes no argument 'colour'" in err[1] and "unknown model 'nope'" in err[2]
