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


def test_two_processes_match_one_with_the_global_batch(results):
    assert sorted(results) == [0, 1]
    for name in ("sgd", "adamw"):
        weights, history = dist_workers.single(name, GLOBAL_BATCH, SAMPLES)
        start = dist_workers.model().state_dict()
        for rank in (0, 1):
            dist_weights, dist_history = results[rank][name]
            for key, value in weights.items():
                assert not torch.equal(value, start[key])  # it trained
                assert torch.allclose(dist_weights[key], value, rtol=0, atol=1e-10), (name, rank, key)
            for row, dist_row in zip(history, dist_history, strict=True):
                # the engine reports losses in float32
                for metric, tol in (("train_loss", 1e-6), ("train_acc", 0), ("lr", 1e-15),
                                    ("val_loss", 1e-6), ("val_acc", 0)):
                    assert abs(row[metric] - dist_row[metric]) <= tol, (name, rank, metric)


def test_every_process_ends_with_the_same_model_and_batch_norm_statistics(results):
    state0, state1 = results[0]["batchnorm"], results[1]["batchnorm"]
    assert state0["1.running_mean"].abs().sum() > 0  # the statistics moved
    for key in state0:
        assert torch.equal(state0[key], state1[key]), key
