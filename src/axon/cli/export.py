"""`axon export RUN_DIR --format onnx|torchscript|pt2`: export a run's model and check it."""

from __future__ import annotations

import argparse

from axon.cli import common_options

DESCRIPTION = """\
Export a trained run's model with a dynamic batch size: ONNX (default exporter: PyTorch's
dynamo-based one; --onnx-exporter torchscript for the older one), TorchScript
(torch.jit.script, loads with torch.jit.load) or a torch.export program (.pt2, loads
with torch.export.load). The export is checked at once: the file is loaded back
(onnxruntime for ONNX: pip install 'axon[export]') and run on a batch of the run's test
set, and the largest absolute difference from the PyTorch model is printed. The model's
input is the preprocessed input the run recorded in RUN_DIR/task.json."""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "export", help="export a run's model to ONNX, TorchScript or .pt2, checked against PyTorch",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common_options()],
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by `axon train`")
    parser.add_argument("--format", choices=["onnx", "torchscript", "pt2"], default="onnx",
                        help="export format (default onnx)")
    parser.add_argument("--out", metavar="FILE", help="output file (default RUN_DIR/export/model.onnx|.pt|.pt2)")
    parser.add_argument("--checkpoint", choices=["best", "last"], default="best",
                        help="which checkpoint to export (default: best)")
    parser.add_argument("--onnx-exporter", choices=["dynamo", "torchscript"], default="dynamo",
                        help="which of PyTorch's ONNX exporters (default dynamo)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from axon.run.export import export_run

    result = export_run(args.run_dir, args.format, out=args.out, checkpoint=args.checkpoint,
                        onnx_exporter=args.onnx_exporter)
    print(f"exported {result.path} ({result.format})\n"
          f"  checked with {result.checked_with} on {result.batch} test inputs: "
          f"max abs difference from PyTorch {result.max_abs_diff:.3g}")
    return 0
