"""Pipeline parallelism = one process on the same micro-batches: float64, GoogLeNet and the
digits CNN in 2 and 4 stages with 4 micro-batches, GPipe and 1F1B, end with the weights and
metrics of one process with gradient accumulation over the same 4 chunks (to 1e-10), over
6 steps of 2 reshuffled epochs with a smaller last batch; 2 pipelines x 2 stages equal one
process with the global batch. A crashed pipeline resumes exactly, and checkpoints move
between pipeline and one-process runs both ways."""

import pipeline_workers as pw
import pytest
import torch

from axon.dist import launch
from axon.train.checkpoint import load_weights

TWO = [("digits", 2, "gpipe"), ("digits", 2, "1f1b"), ("googlenet", 2, "gpipe"), ("googlenet", 2, "1f1b")]
FOUR = [("digits", 4, "gpipe"), ("digits", 4, "1f1b"), ("googlenet", 4, "gpipe"), ("googlenet", 4, "1f1b"),
        ("mlp", 2, "gpipe", 2, "sgd")]

pytestmark = pytest.mark.slow  # two jobs of 2 and 4 processes (most of it start-up)


@pytest.fixture(scope="module")
def references():
    return {"digits": pw.single("digits"), "googlenet": pw.single("googlenet"), "mlp": pw.single("mlp", "sgd")}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A one-process digits run that crashed after step 3 (checkpoint of step 2 kept)."""
    root = tmp_path_factory.mktemp("pipeline")
    with pytest.raises(RuntimeError, match="simulated crash"):
        pw.single("digits", run_dir=root / "single", checkpoint_every_steps=2, callbacks=[pw.CrashAt(3)])
    return root


@pytest.fixture(scope="module")
def two(folders):
    return launch(pw.train_pipelines, (TWO, str(folders), str(folders / "single" / "checkpoints" / "last")),
                  nproc=2, timeout=60)


@pytest.fixture(scope="module")
def four():
    return launch(pw.train_pipelines, (FOUR,), nproc=4, timeout=60)


def assert_same_run(run: tuple, weights: dict, history: list, reference: tuple) -> None:
    ref_weights, ref_history = reference
    start = pw.model(run[0]).state_dict()
    assert sorted(weights) == sorted(ref_weights)
    moved = [not torch.equal(value, start[key]) for key, value in ref_weights.items()]
    assert sum(moved) > 0.8 * len(moved), run  # it trained (a few units of the narrow GoogLeNet are dead)
    for key, value in ref_weights.items():
        assert torch.allclose(weights[key], value, rtol=0, atol=1e-10), (run, key)
    for row, other in zip(ref_history, history, strict=True):
        for metric, tol in (("train_loss", 1e-6), ("train_acc", 0), ("lr", 1e-15), ("val_loss", 1e-6),
                            ("val_acc", 0)):
            assert abs(row[metric] - other[metric]) <= tol, (run, metric)


@pytest.mark.parametrize("run", TWO)
def test_two_stages_match_one_process(two, references, run):
    weights = pw.merged(two, run, [0, 1])
    for rank in (0, 1):
        assert_same_run(run, weights, two[rank][run][1], references[run[0]])


@pytest.mark.parametrize("run", FOUR)
def test_four_processes_match_one_process(four, references, run):
    stages, replicas = run[1], (run[3] if len(run) > 3 else 1)
    for replica in range(replicas):
        ranks = [replica * stages + s for s in range(stages)]
        weights = pw.merged(four, run, ranks)
        for rank in ranks:
            assert_same_run(run, weights, four[rank][run][1], references[run[0]])


def test_each_stage_holds_only_its_layers(four):
    sizes = [sum(t.numel() for t in four[rank][("googlenet", 4, "1f1b")][0].values()) for rank in range(4)]
    total = sum(t.numel() for t in pw.model("googlenet").state_dict().values())
    assert sum(sizes) == total and max(sizes) < total / 2


def test_a_crashed_pipeline_resumes_exactly(two):
    whole, crashed = two[0]["resume"]["whole"], two[0]["resume"]["crashed"]
    for rank in (0, 1):
        for key, value in two[rank]["resume"]["whole"][0].items():
            assert torch.equal(two[rank]["resume"]["crashed"][0][key], value), (rank, key)
    timing = {"seconds", "samples_per_s", "data_wait"}
    for row, other in zip(whole[1], crashed[1], strict=True):  # the history (metrics.csv) too
        assert {k: v for k, v in row.items() if k not in timing} == {k: v for k, v in other.items() if k not in timing}


def test_checkpoints_move_between_pipeline_and_one_process_runs(two, references, folders):
    reference = references["digits"]
    # a pipeline resumed from a one-process checkpoint ends as the one process would
    assert_same_run(("digits",), pw.merged({r: two[r]["resume"] for r in (0, 1)},
                                           "from_single", [0, 1]), two[0]["resume"]["from_single"][1], reference)
    # a one-process run resumed from the pipeline's checkpoint of step 2 ends as the pipeline
    weights, history = pw.single("digits", resume=str(folders / "at-crash"), run_dir=folders / "single-resumed")
    assert_same_run(("digits",), weights, history, reference)
    # the pipeline's final checkpoint holds the whole model, readable by one process
    net = pw.model("digits")
    load_weights(net, folders / "crashed" / "checkpoints" / "last" / "model.safetensors")
    final = pw.merged({r: two[r]["resume"] for r in (0, 1)}, "crashed", [0, 1])
    for key, value in net.state_dict().items():
        assert torch.equal(value, final[key]), key
