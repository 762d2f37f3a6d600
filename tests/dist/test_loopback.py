"""A job of several processes on one node keeps its rendezvous on the loopback interface."""

import sys

import pytest

import dist_workers
from axon.dist.launch import launch


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/net/tcp")
def test_one_node_rendezvous_listens_on_loopback_only():
    addresses = launch(dist_workers.listening_addresses, nproc=2, timeout=60)
    assert addresses[0] and addresses[0] == addresses[1]
    assert set(addresses[0]) == {"0100007F"}  # 127.0.0.1, not 0.0.0.0 or ::
