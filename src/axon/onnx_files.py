"""What both ONNX exports (a run's model, PointPillars' two graphs) share: the exporter
names, a quiet export and an onnxruntime session for the check."""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from pathlib import Path

from axon.errors import ConfigError, ExportError

ONNX_EXPORTERS = ("dynamo", "torchscript")
"""PyTorch's two ONNX exporters: torch.export-based (the default) and TorchScript-based."""

REGISTRY_LOGGER = "torch.onnx._internal.exporter._registration"
"""Logs a warning per torchvision op when torchvision is missing (axon uses none of them)."""


def check_exporter(name: str) -> None:
    if name not in ONNX_EXPORTERS:
        raise ConfigError(f"--onnx-exporter: expected {' or '.join(ONNX_EXPORTERS)}, got {name!r}")


@contextmanager
def quiet_export():
    """Silence the exporters' warnings about tracing internals and missing torchvision."""
    logger = logging.getLogger(REGISTRY_LOGGER)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def onnx_session(path: Path):
    """An onnxruntime CPU session of the ONNX file at `path`; ExportError without onnxruntime."""
    try:
        import onnxruntime
    except ImportError:
        raise ExportError("checking an ONNX export needs onnxruntime: pip install 'axon[export]'") from None
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
