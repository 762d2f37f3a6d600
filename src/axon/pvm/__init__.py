"""Predictive Vision Model: the model schema, the batched engine, the runner (one or
many processes), debug shell, dreaming, blind-spot filling, readout and tracking."""

from axon.pvm.config import PVMConfig, apply_overrides, load_model, parse_model
from axon.pvm.engine import PVMEngine
from axon.pvm.importer import ImportReport, import_file, import_original

__all__ = [
    "ImportReport", "PVMConfig", "PVMEngine", "apply_overrides", "import_file",
    "import_original", "load_model", "parse_model",
]
