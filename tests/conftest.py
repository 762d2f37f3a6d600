import os

import pytest
import torch

# Tests run on 2 CPU cores; keep torch from oversubscribing them.
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def _matplotlib_headless(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
