"""Exporting a trained run's model: ONNX (PyTorch's dynamo exporter, or its TorchScript-
based one), TorchScript (torch.jit.script) or a torch.export program (.pt2), with a dynamic
batch size. Every export is checked at once: the exported file is loaded back
(onnxruntime for ONNX) and run on a batch of the run's test set, and the largest
absolute difference from the PyTorch model is reported."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from axon.errors import ConfigError, ExportError
from axon.onnx_files import check_exporter, onnx_session, quiet_export
from axon.run.load import LoadedRun, load_run

FORMATS = {"onnx": ".onnx", "torchscript": ".pt", "pt2": ".pt2"}


@dataclass
class ExportResult:
    path: Path
    format: str
    batch: int
    """Samples the export was checked on."""
    max_abs_diff: float
    """Largest |exported - PyTorch| over the check batch's outputs."""
    checked_with: str
    inputs: str = "test inputs"
    """What they were: the run's test inputs, or seeded random inputs for a run trained from
    Python on in-memory arrays (no test set to read)."""


def exportable(model: nn.Module) -> nn.Module:
    """The module to export: an axon graph Model's generated code (named inputs, no varargs),
    any other module as it is; in eval mode on the CPU."""
    model = model.cpu().eval()
    return model.graph_module().eval() if hasattr(model, "graph_module") else model


def _first_output(outputs) -> torch.Tensor:
    return outputs[0] if isinstance(outputs, (tuple, list)) else outputs


def _batch_dims(count: int) -> tuple:
    return tuple({0: torch.export.Dim.DYNAMIC} for _ in range(count))


def export_module(model: nn.Module, example: torch.Tensor, path: Path, fmt: str,
                  onnx_exporter: str = "dynamo") -> None:
    """Write `model` (called on one input like `example`, batch dimension dynamic) to `path`."""
    module = exportable(model)
    if fmt == "onnx":
        check_exporter(onnx_exporter)
        common = {"input_names": ["input"], "output_names": ["output"]}
        if onnx_exporter == "dynamo":
            program = torch.onnx.export(module, (example,), dynamo=True, dynamic_shapes=_batch_dims(1),
                                        verbose=False, **common)
            program.save(str(path))
        else:
            torch.onnx.export(module, (example,), str(path), dynamo=False, dynamic_axes={
                "input": {0: "batch"}, "output": {0: "batch"}}, **common)
    elif fmt == "torchscript":
        torch.jit.save(torch.jit.script(module), str(path))
    elif fmt == "pt2":
        torch.export.save(torch.export.export(module, (example,), dynamic_shapes=_batch_dims(1)), str(path))
    else:
        raise ConfigError(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")


def run_exported(path: Path, fmt: str, inputs: torch.Tensor) -> np.ndarray:
    """The first output of the exported file at `path` on `inputs` (N, ...)."""
    if fmt == "onnx":
        session = onnx_session(path)
        return session.run(None, {session.get_inputs()[0].name: inputs.numpy()})[0]
    loaded = torch.jit.load(str(path)) if fmt == "torchscript" else torch.export.load(str(path)).module()
    with torch.no_grad():
        return _first_output(loaded(inputs)).float().numpy()


def check_batch(run: LoadedRun, size: int = 8) -> torch.Tensor:
    """The first `size` inputs of the run's test split, (size, *input_shape); for a run
    trained from Python on in-memory arrays (no data set to read) seeded normal values."""
    if not run.has_data:
        return torch.randn(size, *run.input_shape, generator=torch.Generator().manual_seed(0))
    data = run.data()
    count = min(size, len(data.test))
    return torch.stack([data.test[i][0] for i in range(count)])


def export_run(run_dir: str | Path, fmt: str = "onnx", out: str | Path | None = None, checkpoint: str = "best",
               onnx_exporter: str = "dynamo", check_size: int = 8) -> ExportResult:
    """Export RUN_DIR's `checkpoint` model as `fmt` to `out` (default RUN_DIR/export/model.<ext>),
    then run the file on a test batch and compare with PyTorch."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    run = load_run(run_dir, checkpoint, device="cpu")
    path = Path(out) if out is not None else Path(run_dir) / "export" / f"model{FORMATS[fmt]}"
    path.parent.mkdir(parents=True, exist_ok=True)
    inputs = check_batch(run, check_size)
    example = inputs[:2] if len(inputs) >= 2 else inputs.repeat(2, *([1] * (inputs.ndim - 1)))
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with quiet_export():
            export_module(run.model, example, tmp, fmt, onnx_exporter)
        os.replace(tmp, path)
    except (ConfigError, ExportError):
        raise
    except Exception as err:  # the exporters raise many types
        raise ExportError(f"{run_dir}: {fmt} export of model {run.config.model.name!r} failed: "
                          f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}") from None
    finally:
        tmp.unlink(missing_ok=True)
    with torch.no_grad():
        expected = _first_output(run.model(inputs)).float().numpy()
    got = run_exported(path, fmt, inputs)
    if got.shape != expected.shape:
        raise ExportError(f"{path}: the export gives outputs of shape {got.shape} for a batch of "
                          f"{len(inputs)}, PyTorch {expected.shape}")
    checker = "onnxruntime" if fmt == "onnx" else ("torch.jit.load" if fmt == "torchscript" else "torch.export.load")
    what = "test inputs" if run.has_data else "random inputs (a run trained on arrays has no test set here)"
    return ExportResult(path, fmt, len(inputs), float(np.abs(got - expected).max()), checker, what)
