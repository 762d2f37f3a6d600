import pytest
import torch


@pytest.fixture
def blobs():
    """A small 3-class problem: (X (300, 4), y (300,)) train and (X, y) validation."""
    generator = torch.Generator().manual_seed(0)
    centres = torch.tensor([[2.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 2.0, 0]])
    y = torch.arange(3).repeat(120)
    x = centres[y] + 0.5 * torch.randn(360, 4, generator=generator)
    return (x[:300], y[:300]), (x[300:], y[300:])


def _small_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Dropout(0.1), torch.nn.Linear(16, 3))


@pytest.fixture
def small_model():
    """Factory of a seeded 4 -> 16 -> 3 MLP with dropout."""
    return _small_model
