"""`axon predict RUN_DIR INPUT...`: top-k classes of image files, folders or .npy arrays."""

from __future__ import annotations

import argparse

from axon.cli import common_options

DESCRIPTION = """\
Predict with a trained run: every INPUT (an image file, a folder of images and .npy
files, searched recursively, or a .npy array: one sample, or a batch (N, *shape) for a
model of array inputs) goes through the preprocessing the run recorded (decode, resize,
crop, scale, normalise: exactly what its evaluation data went through), and the top-k
classes are printed with their probabilities, or written to --out (.csv or .json).

A detection run (task: detection) takes lidar scans (velodyne/<id>.bin in a KITTI folder,
beside calib/ and image_2/) and writes KITTI result files and bird's-eye-view pictures
into --out (a folder; default RUN_DIR/predictions)."""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict", help="top-k classes with probabilities for image files, folders or .npy arrays",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common_options()],
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by `axon train`")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image file, folder or .npy file")
    parser.add_argument("--top-k", type=int, default=5, help="classes per input (default 5)")
    parser.add_argument("--out", metavar="FILE", help="write the predictions to FILE.csv or FILE.json instead")
    parser.add_argument("--checkpoint", choices=["best", "last"], default="best",
                        help="which checkpoint predicts (default: best)")
    parser.add_argument("--batch-size", type=int, default=64, help="inputs per forward pass (default 64)")
    parser.add_argument("--device", help="cpu, cuda, ... (default: the run's device setting)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from axon.errors import ConfigError
    from axon.run import load_run
    from axon.run.predict import format_predictions, predict_files, write_predictions

    if args.batch_size < 1:
        raise ConfigError(f"--batch-size: expected at least 1, got {args.batch_size}")
    loaded = load_run(args.run_dir, args.checkpoint, device=args.device)
    if loaded.task.name == "detection":
        from axon.run.detection import predict_scans

        out = args.out or str(loaded.run_dir / "predictions")
        for result in predict_scans(loaded, args.inputs, out):
            print(f"{result} and {result.with_name(result.stem + '_bev.png')}")
        return 0
    predictions = predict_files(loaded, args.inputs, top_k=args.top_k, batch_size=args.batch_size)
    if args.out:
        print(f"{len(predictions)} predictions written to {write_predictions(predictions, args.out)}")
    else:
        print(format_predictions(predictions))
    return 0
