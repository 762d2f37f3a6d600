import pytest
import torch
from threadpoolctl import threadpool_limits


@pytest.fixture
def single_thread():
    """Run a test on one torch and one BLAS thread: the classic models' small matrices
    gain nothing from threads and lose a lot when the CPU is shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(before)
