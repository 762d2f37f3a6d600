"""`axon pvm ...`: run Predictive Vision Models and their experiments."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from axon.cli import common_options
from axon.errors import ConfigError

SOURCE_HELP = ("video source: camera[:china.jpg|flower.jpg] (default; a camera panning over "
               "a photo bundled with scikit-learn), shapes[:SEED] (synthetic, labelled), a "
               "folder of PNG/JPEG frames, a .npy array (T,H,W[,C]), or a video file (needs "
               "PyAV)")

MERGE_LAYERS = {"auto": "auto", "on": True, "off": False}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("pvm", help="Predictive Vision Model: run, import, dream, "
                                   "fill, track, scale", parents=[common_options()])
    sub = parser.add_subparsers(dest="pvm_command", metavar="ACTION", required=True)

    run = sub.add_parser("run", parents=[common_options(threads=False)],
                         help="train a model on a video, with metrics, snapshots, display")
    run.add_argument("model", help="PVM model JSON (e.g. examples/pvm/seed-small.json)")
    run.add_argument("--steps", type=int, default=10_000,
                     help="run until this many steps in total (default 10000)")
    run.add_argument("--source", default="camera", help=SOURCE_HELP)
    run.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    run.add_argument("--procs", type=int, default=1,
                     help="split the units over this many processes on this node (gloo; CPU only)")
    run.add_argument("--nnodes", type=int, default=1, metavar="M",
                     help="with --procs: number of nodes, each starting --procs processes (default 1)")
    run.add_argument("--node-rank", type=int, default=0, metavar="R", help="this node's rank, 0..M-1")
    run.add_argument("--master", metavar="HOST:PORT",
                     help="address of node 0 that every node reaches (default on one node: a free local port)")
    run.add_argument("--timeout", type=float, default=600, metavar="S",
                     help="seconds a cross-process exchange may wait before the run fails (default 600)")
    run.add_argument("--threads", type=int, default=1,
                     help="torch threads per process (default 1: the batched matrix-vector "
                     "products are memory-bound and extra threads only contend; use --procs "
                     "for more cores)")
    run.add_argument("--merge-layers", choices=list(MERGE_LAYERS), default="auto",
                     help="step all layers of one unit shape as one batch (pipelined step "
                     "only; the same results bit for bit): auto (default: on GPU only), on, off")
    run.add_argument("--shell", type=int, metavar="PORT", default=None,
                     help="serve the debug shell on this TCP port (nc 127.0.0.1 PORT)")
    run.add_argument("--shell-host", default="127.0.0.1",
                     help="address the shell listens on (default 127.0.0.1 only)")
    run.add_argument("--out", default=None, help="output folder (default runs/pvm/<model name>)")
    run.add_argument("--metrics-every", type=int, default=100,
                     help="write a metrics.csv row every K steps (default 100)")
    run.add_argument("--display-every", type=int, default=0,
                     help="write the display PNG every K steps (default 0: never)")
    run.add_argument("--snapshot-every", type=int, default=0,
                     help="write a snapshot every K steps (default 0: only at the end)")
    run.add_argument("--video", default=None, metavar="FILE.mp4",
                     help="also write each display to this video file (needs PyAV)")
    run.add_argument("--resume", default=None, metavar="SNAPSHOT",
                     help="continue from a snapshot of the same model")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a model key, e.g. --set schedule.delay_each_layer=2000")
    run.set_defaults(func=cmd_run)

    imp = sub.add_parser("import", parents=[common_options()],
                         help="convert one of the original PVM's model files")
    imp.add_argument("original", help="the original's JSON model file (string values)")
    imp.add_argument("--out", default=None, help="write the axon model here (default: print)")
    imp.set_defaults(func=cmd_import)

    info = sub.add_parser("info", parents=[common_options()],
                          help="units, weights and memory of a model")
    info.add_argument("model", help="PVM model JSON")
    info.set_defaults(func=cmd_info)

    for name, helptext, default_steps in (
        ("dream", "feed the model's predictions back as input; image grid", 40),
        ("fill", "blind spot: blank the centre, compare the filled-in centre", 60),
        ("track", "track the labelled object with the readout heatmaps", 100),
    ):
        p = sub.add_parser(name, parents=[common_options()], help=helptext)
        p.add_argument("snapshot", help="a snapshot written by axon pvm run")
        p.add_argument("--steps", type=int, default=default_steps,
                       help=f"frames to run (default {default_steps})")
        p.add_argument("--source", default="shapes" if name == "track" else "camera",
                       help=SOURCE_HELP)
        p.add_argument("--out", default=None, help="output folder (default: beside the snapshot)")
        p.add_argument("--device", default="cpu", help="cpu or cuda")
        if name != "track":
            p.add_argument("--warmup", type=int, default=10,
                           help="real frames shown before the experiment (default 10)")
        if name == "track":
            p.add_argument("--layers", type=int, nargs="+", default=None,
                           help="average the heatmaps of these layers only (default: all)")
        if name == "dream":
            p.add_argument("--video", default=None, metavar="FILE.mp4",
                           help="also write real | dream side by side as a video (needs PyAV)")
        if name == "fill":
            p.add_argument("--fraction", type=float, default=1 / 3,
                           help="side of the blind spot as a fraction of the input (default 1/3)")
        p.set_defaults(func=cmd_experiment, experiment=name)

    sc = sub.add_parser("scale", parents=[common_options(threads=False)],
                        help="train several models for the same steps; error curves on one plot")
    sc.add_argument("models", nargs="+", help="PVM model JSON files")
    sc.add_argument("--steps", type=int, default=5000, help="steps per model (default 5000)")
    sc.add_argument("--source", default="camera", help=SOURCE_HELP)
    sc.add_argument("--out", default="runs/pvm/scaling", help="output folder")
    sc.add_argument("--metrics-every", type=int, default=100, help="metrics interval")
    sc.add_argument("--device", default="cpu", help="cpu or cuda")
    sc.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    sc.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a key in every model")
    sc.set_defaults(func=cmd_scale)

    pl = sub.add_parser("plot", parents=[common_options()],
                        help="plot a run's per-layer error curves (RUN/errors.png)")
    pl.add_argument("run_dir", help="the output folder of axon pvm run")
    pl.set_defaults(func=cmd_plot)


def _model(path: str, overrides: list[str]):
    from axon.pvm.config import apply_overrides, load_model

    cfg = load_model(path)
    return apply_overrides(cfg, overrides) if overrides else cfg


def cmd_run(args: argparse.Namespace) -> int:
    import torch

    from axon.data.video import open_source
    from axon.pvm.runner import PVMRunner, check_merge_layers, check_new_output
    from axon.pvm.snapshot import load_snapshot

    from axon.memory import check_fits

    cfg = _model(args.model, args.set)
    check_fits(cfg.weight_bytes(), f"{args.model}: model {cfg.name!r}")  # before any frame or weight exists
    out = Path(args.out or f"runs/pvm/{cfg.name}")
    merge_layers = MERGE_LAYERS[args.merge_layers]
    check_merge_layers(cfg, merge_layers)
    check_new_output(out, args.resume)
    if args.procs < 1:
        raise ConfigError(f"--procs: expected >= 1, got {args.procs}")
    if args.threads < 1:
        raise ConfigError(f"--threads: expected >= 1, got {args.threads}")
    size = (cfg.input_size, cfg.input_size)
    open_source(args.source, size, cfg.input_channels)  # fail early on a bad source
    if args.resume:
        load_snapshot(args.resume, expect=cfg)  # a different model changes nothing
    from axon.dist.group import launched

    if args.procs > 1 or args.nnodes > 1 or launched():
        from axon.pvm.parallel import run_parallel

        if args.shell is not None or args.video is not None:
            raise ConfigError("--shell and --video need one process (--procs 1)")
        if args.device != "cpu":
            raise ConfigError(f"--device {args.device}: a run of several processes runs on CPU (gloo)")
        run_parallel(cfg, args.source, out, args.procs, args.steps, args.metrics_every,
                     args.display_every, args.snapshot_every, args.resume, args.threads,
                     args.timeout, args.nnodes, args.node_rank, args.master, merge_layers)
        if not launched() or int(os.environ["RANK"]) == 0:
            print(f"wrote {out}")
        return 0
    torch.set_num_threads(args.threads)
    runner = PVMRunner(cfg, open_source(args.source, size, cfg.input_channels), out,
                       args.device, args.metrics_every, args.display_every,
                       args.snapshot_every, video=args.video, merge_layers=merge_layers)
    if args.resume:
        runner.resume(args.resume)
    if args.shell is not None:
        from axon.pvm.shell import DebugShell

        with DebugShell(runner, args.shell, args.shell_host) as shell:
            print(f"debug shell on {args.shell_host}:{shell.port} (nc {args.shell_host} "
                  f"{shell.port})", flush=True)
            runner.run(args.steps)
    else:
        runner.run(args.steps)
    print(f"wrote {out} (step {runner.step_count})")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from axon.pvm.importer import import_file

    cfg, report = import_file(args.original)
    for line in report.lines():
        print(line)
    if args.out:
        path = Path(args.out)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(cfg.to_json())
        tmp.replace(path)
        print(f"wrote {path}")
    else:
        print(cfg.to_json(), end="")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from axon.pvm.topology import build_topology

    cfg = _model(args.model, [])
    f = cfg.features
    blocks = 1 + f.derivative + f.integral + f.error + f.t_minus_2
    H = cfg.hidden_size
    total_units = total_weights = 0
    print(f"{cfg.name}: input {cfg.input_channels}x{cfg.input_size}x{cfg.input_size}")
    norm = cfg.input_norm
    print(f"  unit: {cfg.activation}, {cfg.step} step, predicts the {cfg.prediction}, "
          "signal inputs "
          + ("as they are" if norm is None
             else f"standardised (decay {norm.decay}, eps {norm.eps})"))
    for t in build_topology(cfg):
        sizes = [blocks * t.signal_size + len(c) * H + 1 for c in t.context]
        weights = sum(d * H + (H + 1) * t.signal_size for d in sizes)
        total_units += t.units
        total_weights += weights
        print(f"  layer {t.index}: {t.side}x{t.side} units, unit {min(sizes)}..{max(sizes)}"
              f" -> {H} -> {t.signal_size}, {weights:,} weights")
    print(f"  {total_units} units, {total_weights:,} weights "
          f"({total_weights * 8 / 2**20:.0f} MiB with momentum, float32)")
    return 0


def cmd_experiment(args: argparse.Namespace) -> int:
    from axon.pvm import experiments

    out = Path(args.out or Path(args.snapshot).parent / args.experiment)
    if args.steps < 1:
        raise ConfigError(f"--steps: expected >= 1, got {args.steps}")
    if args.experiment == "dream":
        res = experiments.dream(args.snapshot, out, args.steps, args.warmup, args.source,
                                device=args.device, video=args.video)
        print(f"dream: mse vs the real video, first {res['mse_vs_real'][0]:.4f}, "
              f"last {res['mse_vs_real'][-1]:.4f}")
    elif args.experiment == "fill":
        res = experiments.fill(args.snapshot, out, args.steps, args.warmup, args.source,
                               args.fraction, args.device)
        print(f"blind spot: mse inside the spot {res['mse_filled']:.5f} filled in, "
              f"{res['mse_blank']:.5f} left blank")
    else:
        res = experiments.track(args.snapshot, out, args.steps, args.source, args.device,
                                args.layers)
        print(f"tracking: accuracy (IoU >= 0.5) {res['accuracy']:.3f}, mean IoU "
              f"{res['mean_iou']:.3f} over {res['frames']} labelled frames")
    print(f"wrote {res['path']}")
    return 0


def cmd_scale(args: argparse.Namespace) -> int:
    from axon.pvm import experiments
    from axon.pvm.runner import check_new_output

    models = [_model(m, args.set) for m in args.models]
    check_new_output(args.out)
    if args.threads < 1:
        raise ConfigError(f"--threads: expected >= 1, got {args.threads}")
    import torch

    torch.set_num_threads(args.threads)
    res = experiments.scale(models, args.steps, args.out, args.source, args.metrics_every,
                            args.device)
    print(json.dumps(res["final"], indent=1))
    print(f"wrote {res['path']}")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from axon.pvm.experiments import plot_run

    if not (Path(args.run_dir) / "metrics.csv").is_file():
        raise ConfigError(f"{args.run_dir}: no metrics.csv (not an axon pvm run folder)")
    print(f"wrote {plot_run(args.run_dir)}")
    return 0
