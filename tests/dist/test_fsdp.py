"""`distributed.strategy: fsdp`: parameters sharded across 2 processes train to the weights
of 1 process with the global batch (float64, SGD and AdamW); checkpoints hold the full
weights, and a crashed sharded run resumes from one to the weights of an uninterrupted run."""

import dist_workers
import pytest
import torch

from axon.dist import launch

GLOBAL_BATCH, SAMPLES = 16, 48


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("fsdp")
    return launch(dist_workers.train_sharded, (GLOBAL_BATCH, SAMPLES, str(run_dir)), nproc=2, timeout=120)


def test_each_process_holds_half_of_each_parameter(results):
    total = dist_workers.model()[0].weight.numel()
    assert [results[rank]["shard_numel"] for rank in (0, 1)] == [total // 2, total // 2]


@pytest.mark.parametrize("name", ["sgd", "adamw"])
def test_two_sharded_processes_match_one_with_the_global_batch(results, name):
    dist_workers.assert_matches_single(results, name, GLOBAL_BATCH, SAMPLES)


def test_a_crashed_sharded_run_resumes_to_the_weights_of_an_uninterrupted_run(results):
    whole, resumed, saved = results[0]["whole"], results[0]["resumed"], results[0]["checkpoint"]
    assert whole.keys() == resumed.keys() == saved.keys()
    for key in whole:
        assert torch.equal(whole[key], resumed[key]), key
        assert torch.equal(saved[key], resumed[key]), key  # the checkpoint holds the full weights
    assert results[1]["whole"] == {}  # gathered on rank 0 only
