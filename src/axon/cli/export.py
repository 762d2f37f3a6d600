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
    from axon.run import load_run, run_task
    from axon.run.export import export_run

    if run_task(args.run_dir) == "detection":
        from axon.errors import ConfigError
        from axon.run.detection import export_detector

        if args.format != "onnx":
            raise ConfigError(f"--format: a detection run exports as onnx (two graphs), not {args.format}")
        check = export_detector(load_run(args.run_dir, args.checkpoint, device="cpu"),
                                args.out or f"{args.run_dir}/export", args.onnx_exporter)
        print("exported " + ", ".join(map(str, check.files)) + "\n  checked with onnxruntime on a validation frame: "
              + ", ".join(f"{k} {v:.3g}" for k, v in check.max_abs_diff.items())
              + f"\n  boxes: PyTorch {check.boxes_torch}, ONNX {check.boxes_onnx}, {check.boxes_matched} matched "
              "(same class, BEV IoU >= 0.99)")
        return 0

    result = export_run(args.run_dir, args.format, out=args.out, checkpoint=args.checkpoint,
                        onnx_exporter=args.onnx_exporter)
    print(f"exported {result.path} ({result.format})\n"
          f"  checked with {result.checked_with} on {result.batch} {result.inputs}: "
          f"max abs difference from PyTorch {result.max_abs_diff:.3g}")
    return 0
