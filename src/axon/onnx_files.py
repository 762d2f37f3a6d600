"""What both ONNX exports (a run's model, PointPillars' two graphs) share: the exporter
names, a quiet export and an onnxruntime session for the check."""

from __future__ import annotations

import importlib.util
import logging
import warnings
from contextlib import contextmanager
from pathlib import Path

from axon.errors import ConfigError, ExportError

ONNX_EXPORTERS = ("dynamo", "torchscript")
"""PyTorch's two ONNX exporters: torch.export-based (the default) and TorchScript-based."""

REGISTRY_LOGGER = "torch.onnx._internal.exporter._registration"
"""Logs a warning per torchvision op when torchvision is missing (axon uses none of them)."""


NEEDED = {"dynamo": ("onnx", "onnxscript", "onnxruntime"), "torchscript": ("onnx", "onnxruntime")}
"""The packages an ONNX export with each exporter needs, its onnxruntime check included (the export extra)."""


def check_exporter(name: str) -> None:
    """A known exporter whose packages are installed, checked before any export work."""
    if name not in ONNX_EXPORTERS:
        raise ConfigError(f"--onnx-exporter: expected {' or '.join(ONNX_EXPORTERS)}, got {name!r}")
    missing = [package for package in NEEDED[name] if importlib.util.find_spec(package) is None]
    if missing:
        raise ExportError(f"ONNX export needs {', '.join(NEEDED[name])} ({', '.join(missing)} not installed): "
                          f"pip install 'axon[export]' (in a clone: pip install -e '.[export]')")


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
    """An onnxruntime CPU session of the ONNX file at `path` (after `check_exporter`)."""
    import onnxruntime

    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
