import math

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from axon.data.sampling import CurriculumSampler, RepeatFactorSampler, repeat_factors, task_stages

# 8 samples of class 0 (frequency 0.8), 2 of class 1 (frequency 0.2).
LABELS = [0, 0, 1, 0, 0, 0, 1, 0, 0, 0]


def test_repeat_factor_formula_by_hand():
    # t = 0.5: class 0 -> max(1, sqrt(0.5 / 0.8)) = 1; class 1 -> sqrt(0.5 / 0.2) = sqrt(2.5)
    factors = repeat_factors(LABELS, 0.5)
    expected = torch.tensor([1.0, 1, math.sqrt(2.5), 1, 1, 1, math.sqrt(2.5), 1, 1, 1], dtype=torch.float64)
    torch.testing.assert_close(factors, expected)
    # a threshold below every frequency repeats nothing
    assert torch.equal(repeat_factors(LABELS, 0.1), torch.ones(10, dtype=torch.float64))


def test_epoch_length_and_stochastic_rounding():
    sampler = RepeatFactorSampler(LABELS, 0.5, seed=3)
    assert len(sampler) == round(8 + 2 * math.sqrt(2.5)) == 11
    scaled = sampler.factors * 11 / float(sampler.factors.sum())
    for epoch in range(5):
        sampler.set_epoch(epoch)
        order = torch.tensor(list(sampler))
        counts = torch.bincount(order, minlength=10)
        assert len(order) == 11
        # each count is the floor or the ceiling of the sample's scaled factor
        assert torch.all((counts == scaled.floor()) | (counts == scaled.ceil()))
    epochs = 1000
    draws = torch.stack([sampler.epoch_counts(torch.Generator().manual_seed(e)) for e in range(epochs)])
    assert torch.all(draws.sum(1) == 11)
    # the mean count over epochs is the scaled factor (std error <= 0.5 / sqrt(1000) = 0.016)
    torch.testing.assert_close(draws.double().mean(0), scaled, atol=0.065, rtol=0)
    assert abs(float(scaled[2]) - math.sqrt(2.5)) < 0.5 / 10 * math.sqrt(2.5)


def test_rare_class_is_seen_more_often():
    labels = torch.tensor([0] * 90 + [1] * 10)
    sampler = RepeatFactorSampler(labels, threshold=0.5)
    counts = torch.bincount(labels[torch.tensor(list(sampler))], minlength=2)
    assert counts[0] == 90 and counts[1] in (22, 23)  # 10 * sqrt(0.5 / 0.1) = 22.4


@pytest.mark.parametrize("make", [
    lambda seed, **kw: RepeatFactorSampler(LABELS * 3, 0.5, seed=seed, **kw),
    lambda seed, **kw: CurriculumSampler(torch.arange(30.0).flip(0), {0: 0.4, 2: 1.0}, seed=seed, **kw),
])
def test_order_is_a_function_of_seed_and_epoch_and_resumes(make):
    a, b = make(seed=7), make(seed=7)
    a.set_epoch(1)
    b.set_epoch(1)
    order = list(a)
    assert order == list(b) and order == list(a)  # same (seed, epoch) -> same order, repeatable
    b.set_epoch(2)
    assert list(b) != order
    other = make(seed=8)
    other.set_epoch(1)
    assert list(other) != order
    for start in (0, 5, len(order) - 1):
        resumed = make(seed=7)
        resumed.set_epoch(1, start=start)
        assert list(resumed) == order[start:]
    # two processes split the epoch: rank r takes every 2nd index from position r
    ranks = [make(seed=7, rank=r, world_size=2) for r in (0, 1)]
    for sampler in ranks:
        sampler.set_epoch(1)
    padded = order + order[: len(order) % 2]
    assert list(ranks[0]) == padded[0::2] and list(ranks[1]) == padded[1::2]
    assert len(ranks[0]) == len(ranks[1]) == math.ceil(len(order) / 2)


def test_works_as_a_dataloader_sampler():
    data = TensorDataset(torch.arange(10.0), torch.tensor(LABELS))
    sampler = RepeatFactorSampler(LABELS, 0.5)
    loader = DataLoader(data, batch_size=4, sampler=sampler)
    assert len(loader) == 3
    assert sum(len(y) for _, y in loader) == 11


def test_curriculum_stages_take_the_easiest_fraction():
    difficulty = torch.tensor([0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 1.0])
    sampler = CurriculumSampler(difficulty, {0: 0.3, 2: 0.6, 4: 1.0}, seed=1)
    assert len(sampler) == 10
    easiest = {1: {1, 5, 3}, 2: {1, 5, 3, 7, 2, 8}}
    for epoch, fraction in ((0, 0.3), (1, 0.3), (2, 0.6), (3, 0.6)):
        sampler.set_epoch(epoch)
        order = list(sampler)
        assert sampler.fraction(epoch) == fraction and len(order) == 10
        assert set(order) == easiest[1 if fraction == 0.3 else 2]
    sampler.set_epoch(4)
    assert sorted(sampler) == list(range(10))  # the last stage is a plain shuffle of everything
    # an early stage revisits its subset evenly: 10 draws from 3 samples -> 4, 3, 3
    sampler.set_epoch(0)
    assert sorted(torch.bincount(torch.tensor(list(sampler)))[[1, 3, 5]].tolist()) == [3, 3, 4]


def test_task_stages_add_one_task_at_a_time():
    tasks = torch.tensor([2, 0, 1, 1, 0, 2, 2, 1])
    stages = task_stages(tasks, [0, 3, 5])
    assert stages == {0: 2 / 8, 3: 5 / 8, 5: 1.0}
    sampler = CurriculumSampler(tasks, stages)
    for epoch, allowed in ((0, {0}), (3, {0, 1}), (5, {0, 1, 2})):
        sampler.set_epoch(epoch)
        assert {int(tasks[i]) for i in sampler} == allowed
    with pytest.raises(ValueError, match="one start epoch per task"):
        task_stages(tasks, [0, 3])


@pytest.mark.parametrize("stages, message", [
    ({1: 0.5, 3: 1.0}, "must start at epoch 0"),
    ({0: 0.5, 3: 0.2}, "below the previous stage"),
    ({0: 1.5}, r"fraction in \(0, 1\]"),
    ({}, "got none"),
])
def test_bad_curriculum_stages(stages, message):
    with pytest.raises(ValueError, match=message):
        CurriculumSampler(torch.arange(5.0), stages)


def test_bad_repeat_factor_input():
    with pytest.raises(ValueError, match="threshold"):
        repeat_factors(LABELS, 0.0)
    with pytest.raises(ValueError, match="integer class labels"):
        repeat_factors([0.5, 1.5], 0.1)
    with pytest.raises(ValueError, match="non-empty"):
        RepeatFactorSampler([], 0.1)
    with pytest.raises(ValueError, match="finite"):
        CurriculumSampler([0.1, float("nan")], {0: 1.0})
