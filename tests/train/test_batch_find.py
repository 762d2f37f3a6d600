import pytest
import torch
import yaml
from torch import nn

from axon.cli import main
from axon.train.batch_find import batch_find, fastest, format_trials, largest_fitting


def _memory(capacity: int):
    """A fake trial: out of memory above `capacity` samples, else 1000 samples/s."""

    def try_batch(size: int) -> float:
        if size > capacity:
            raise torch.OutOfMemoryError(f"CUDA out of memory. Tried to allocate {size} MiB")
        return 1000.0

    return try_batch


def test_largest_fitting_doubles_then_bisects():
    best, trials = largest_fitting(_memory(300), start=8, limit=100_000)
    assert best == 300
    sizes = [t.batch_size for t in trials]
    assert sizes[:7] == [8, 16, 32, 64, 128, 256, 512] and trials[6].samples_per_s is None
    assert all((t.samples_per_s is None) == (t.batch_size > 300) for t in trials)
    assert len(trials) <= 7 + 8  # bisection of (256, 512) takes at most log2(256) trials
    assert largest_fitting(_memory(10**9), start=8, limit=100)[0] == 100  # capped by the limit
    assert [t.batch_size for t in largest_fitting(_memory(10**9), 8, 100)[1]] == [8, 16, 32, 64, 100]


def test_largest_fitting_errors():
    with pytest.raises(ValueError, match="starting batch of 64 runs out of memory"):
        largest_fitting(_memory(10), start=64, limit=1000)

    def broken(size):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        largest_fitting(broken, 8, 64)  # only out-of-memory errors end a doubling


def test_fastest_stops_after_two_worse_doublings():
    rates = {8: 100.0, 16: 180.0, 32: 250.0, 64: 260.0, 128: 240.0, 256: 200.0, 512: 300.0}
    best, trials = fastest(rates.__getitem__, 8, 1024)
    assert best == 64 and [t.batch_size for t in trials] == [8, 16, 32, 64, 128, 256]
    best, trials = fastest({**rates, 20: 190.0}.__getitem__, 8, 20)  # the limit itself is tried last
    assert best == 20 and [t.batch_size for t in trials] == [8, 16, 20]


def test_batch_find_on_cpu_restores_the_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 3))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    data = (torch.randn(100, 4), torch.arange(100) % 3)
    result = batch_find(model, data, nn.CrossEntropyLoss(), start=4, max_batch=64, steps=2)
    assert result.mode == "throughput" and result.device == "cpu" and result.limit == 64
    assert result.best in [t.batch_size for t in result.trials]
    assert all(t.samples_per_s > 0 for t in result.trials)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    table = format_trials(result)
    assert "<- best" in table and table.count("\n") == len(result.trials) + 1
    with pytest.raises(ValueError, match="1 <= start <= max_batch"):
        batch_find(model, data, nn.CrossEntropyLoss(), start=128, max_batch=64)


def test_cli_prints_the_table(tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"model": {"name": "digits-mlp", "args": {"hidden": 16}}, "device": "cpu"}))
    before = torch.get_num_threads()
    try:
        assert main(["batch-find", str(config), "--start", "8", "--max-batch", "32", "--steps", "1",
                     "--threads", "1"]) == 0
    finally:
        torch.set_num_threads(before)
    out = capsys.readouterr().out
    assert "samples/s" in out and "fastest batch (samples/s): " in out
    assert "digits-mlp on cpu, 1 thread," in out  # measured at the run's thread count
    assert main(["batch-find", str(config), "--start", "64", "--max-batch", "32"]) == 2
    assert "start 64 and max_batch 32" in capsys.readouterr().err
