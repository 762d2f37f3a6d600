"""Batches that are not one tensor: several model inputs (a tuple), dict targets and a data
set's own collate function, through Trainer.fit and evaluate, with gradient accumulation
equal to one big batch."""

import torch
from torch import nn
from torch.utils.data import Dataset

import axon
from axon.train.trainable import batch_length, split_batch


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 2), nn.Linear(4, 2)

    def forward(self, x, y):
        return self.a(x) + self.b(y)


class Pairs(Dataset):
    """((x (3,), y (variable length, padded to 4 by collate_fn)), {"value": (2,)})."""

    def __init__(self, n: int = 24):
        g = torch.Generator().manual_seed(0)
        self.x, self.y = torch.randn(n, 3, generator=g), torch.randn(n, 4, generator=g)
        self.lengths = torch.randint(1, 5, (n,), generator=g)
        self.value = torch.randn(n, 2, generator=g)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return (self.x[i], self.y[i, :self.lengths[i]]), {"value": self.value[i]}

    @staticmethod
    def collate_fn(samples):
        x = torch.stack([s[0][0] for s in samples])
        y = torch.zeros(len(samples), 4)
        for k, s in enumerate(samples):
            y[k, :len(s[0][1])] = s[0][1]
        return (x, y), {"value": torch.stack([s[1]["value"] for s in samples])}


def loss(outputs, targets):
    return ((outputs - targets["value"]) ** 2).mean()


def fit(grad_accum: int, batch_size: int):
    torch.manual_seed(0)
    model = TwoInputs()
    trainer = axon.Trainer(model, epochs=2, batch_size=batch_size, grad_accum=grad_accum, lr=0.05,
                           loss=loss, optimizer="sgd", schedule="constant", progress=False, seed=1)
    trainer.fit(Pairs())
    return model, trainer


def test_tuple_inputs_dict_targets_and_collate_fn_train_and_evaluate():
    model, trainer = fit(1, 8)
    metrics = trainer.evaluate(Pairs())
    assert set(metrics) == {"loss"} and metrics["loss"] > 0
    assert len(trainer.history) == 2


def test_gradient_accumulation_splits_structured_batches_exactly():
    one, _ = fit(1, 8)
    split, _ = fit(2, 4)
    for p, q in zip(one.parameters(), split.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_split_and_length_of_structured_parts():
    part = {"a": torch.arange(6), "b": torch.zeros(6, 2)}
    pieces = split_batch(part, 2)
    assert [batch_length(p) for p in pieces] == [3, 3] and torch.equal(pieces[1]["a"], torch.tensor([3, 4, 5]))
    assert [batch_length(p) for p in split_batch((torch.zeros(5), torch.ones(5)), 2)] == [3, 2]
