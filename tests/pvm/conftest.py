import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """PVM tests step tiny models whose ops are far too small to share between threads;
    OpenMP synchronisation on a busy 2-core machine makes them 10x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
