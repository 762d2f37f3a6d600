"""Errors of data-parallel runs."""

from axon.errors import AxonError


class DistributedError(AxonError):
    """A data-parallel job failed: a worker raised or died, a collective or the start-up
    rendezvous timed out, or the launch options do not fit the machine. The message names
    the rank (or address) and what went wrong."""
