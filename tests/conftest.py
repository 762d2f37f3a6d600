import os

from axon.threads import default_threads, sleep_while_waiting

# As the `axon` command does: threads waiting for a descheduled peer sleep instead of
# spinning (set before torch loads OpenMP).
sleep_while_waiting()

import pytest  # noqa: E402
import torch  # noqa: E402

from axon.train.callbacks.base import Callback  # noqa: E402

# The cores this process may use, shared among pytest-xdist's workers: no oversubscription.
torch.set_num_threads(default_threads(processes=int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))))


@pytest.fixture(autouse=True)
def _matplotlib_headless(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")



class CrashAtStep(Callback):
    """Simulates a kill right after step `step` (and its checkpoint, which runs first)."""

    order = 200

    def __init__(self, step):
        self.step = step

    def on_batch_end(self, trainer, result):
        if trainer.global_step == self.step:
            raise KeyboardInterrupt


@pytest.fixture
def crash_at_step():
    """`crash_at_step(k)`: a callback that raises KeyboardInterrupt right after step k."""
    return CrashAtStep
