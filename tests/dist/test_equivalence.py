"""Data parallel = one process with the global batch: float64, 2 processes with batch B/2
give the weights (and metrics) of 1 process with batch B, for SGD and AdamW."""

import dist_workers
import pytest
import torch

from axon.dist import launch

GLOBAL_BATCH, SAMPLES = 16, 48  # 3 steps per epoch, 2 epochs, reshuffled each epoch


@pytest.fixture(scope="module")
def results():
    """{rank: runs} of one 2-process job (each process: SGD, AdamW, a batch-norm model)."""
    return launch(dist_workers.train_both, (GLOBAL_BATCH, SAMPLES), nproc=2, timeout=60)


@pytest.mark.slow
def test_two_processes_match_one_with_the_global_batch(results):
    assert sorted(results) == [0, 1]
    for name in ("sgd", "adamw"):
        dist_workers.assert_matches_single(results, name, GLOBAL_BATCH, SAMPLES)


def test_every_process_ends_with_the_same_model_and_batch_norm_statistics(results):
    state0, state1 = results[0]["batchnorm"], results[1]["batchnorm"]
    assert state0["1.running_mean"].abs().sum() > 0  # the statistics moved
    for key in state0:
        assert torch.equal(state0[key], state1[key]), key
