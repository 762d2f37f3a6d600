"""Pipeline parallelism: what each stage holds against the one-process model, and the
pipeline bubble against the GPipe analysis.

A model is cut into S stages (axon.dist.stages, balanced by parameter bytes), run as S
processes (gloo on CPU; nccl with one GPU per process when there are S GPUs), and trained
for a few steps of one batch split into M micro-batches, for each M given (default 1, 4,
16), under GPipe or 1F1B. Printed:

- per stage: parameter bytes, and activation bytes = the tensors autograd keeps for the
  backward during one micro-batch's forward (measured with saved-tensor hooks) times the
  micro-batches in flight at the peak (M under GPipe, min(M, S - stage) under 1F1B);
  against the one-process model (all parameters; the activations of the whole batch);
- the bubble fraction: per stage, 1 - (seconds in forward/backward of its micro-batches)
  / (seconds of the step), averaged over stages and the measured steps, against
  (S - 1) / (M + S - 1).

The default model is `uniform`: an nn.Sequential of equal Linear+ReLU blocks, so the
stages are equal and the analysis applies; `--model googlenet` (64x64, width 0.25) and
`digits-cnn` are the zoo's. Every process runs --threads torch threads.

`--one-process` is the check for one device (one GPU: two processes cannot share it, as
NCCL takes one GPU per process and gloo sends only CPU tensors): all S stages live in one
process on `--device` (default: the GPU when there is one) and run under PyTorch's
schedules for several stages per process (`ScheduleLoopedBFS` for gpipe,
`ScheduleInterleaved1F1B` for 1f1b), passing activations between the stages in memory.
The stages run one after another, so there is no overlap and no bubble to measure:
printed are the step time against the unsplit model's step with gradient accumulation
over the same M chunks (the pipeline machinery's overhead), and the largest difference
between the two steps' gradients (exit status 1 when it exceeds --tolerance, relative to
the largest gradient).

    python benchmarks/pipeline.py [--stages 2] [--microbatches 1 4 16] [--schedule gpipe]
        [--model uniform] [--batch 64] [--steps 5] [--threads 1]
        [--one-process [--device cuda] [--tolerance 1e-4]]
"""

from __future__ import annotations

import argparse
import copy
import sys
import time

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.pipelining import PipelineStage, ScheduleInterleaved1F1B, ScheduleLoopedBFS

from axon.dist import join, launch, leave
from axon.dist.pipeline import Groups, Layout, PipelineRunner, probe
from axon.dist.stages import plan_stages, stage_module
from axon.zoo import create


def build(name: str, stages: int) -> tuple[nn.Module, tuple[int, ...]]:
    """(model, input shape per sample)."""
    torch.manual_seed(0)
    if name == "uniform":
        blocks = [layer for _ in range(4 * stages) for layer in (nn.Linear(512, 512), nn.ReLU())]
        return nn.Sequential(*blocks, nn.Linear(512, 10)), (512,)
    if name == "googlenet":
        return create("googlenet", num_classes=10, image_size=64, width=0.25, dropout=0.0), (3, 64, 64)
    return create("digits-cnn"), (1, 8, 8)


def batch(size: int, shape: tuple[int, ...], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The benchmark's fixed batch: inputs (size, *shape) from a normal, labels (size,) 0..9."""
    g = torch.Generator().manual_seed(0)
    return torch.randn(size, *shape, generator=g).to(device), torch.randint(0, 10, (size,), generator=g).to(device)


def saved_bytes(module: nn.Module, inputs: torch.Tensor) -> int:
    """Bytes of the tensors autograd saves for the backward in one forward of `module`
    (parameters excluded; each storage once)."""
    params = {p.data_ptr() for p in module.parameters()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in params:
            seen[ptr] = max(seen.get(ptr, 0), t.untyped_storage().nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        module(inputs)
    return sum(seen.values())


class Busy:
    """Seconds spent in PipelineStage.forward_one_chunk / backward_one_chunk in this process."""

    seconds = 0.0

    @classmethod
    def install(cls) -> None:
        for name in ("forward_one_chunk", "backward_one_chunk"):
            original = getattr(PipelineStage, name)

            def timed(self, *args, _original=original, **kwargs):
                start = time.perf_counter()
                try:
                    return _original(self, *args, **kwargs)
                finally:
                    cls.seconds += time.perf_counter() - start

            setattr(PipelineStage, name, timed)


def stage_process(args) -> dict:
    torch.set_num_threads(args.threads)
    device = join("auto", timeout=300)
    Busy.install()
    try:
        layout = Layout(args.stages, 1, dist.get_rank())
        model, shape = build(args.model, args.stages)
        part = stage_module(model, plan_stages(model, args.stages), layout.stage).to(device)
        loss = nn.CrossEntropyLoss()
        inputs, targets = batch(args.batch, shape, device)
        rows = {}
        for m in args.microbatches:
            runner = PipelineRunner(part, layout, Groups(None, None), device, m, args.schedule, loss)
            runner.run(inputs, targets, train=True)  # warm-up: schedules made, shapes passed
            bubbles = []
            for _ in range(args.steps):
                part.zero_grad(set_to_none=True)
                dist.barrier()
                Busy.seconds = 0.0
                start = time.perf_counter()
                runner.run(inputs, targets, train=True)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                bubbles.append(1 - Busy.seconds / (time.perf_counter() - start))
            in_shape = runner._boundaries[(tuple(inputs.shape[1:]), inputs.dtype)][0]
            size = args.batch // m
            probe = torch.zeros((size, *in_shape), device=device, requires_grad=layout.stage > 0)
            in_flight = m if args.schedule == "gpipe" else min(m, args.stages - layout.stage)
            rows[m] = {"bubble": sum(bubbles) / len(bubbles), "activations": saved_bytes(part, probe) * in_flight}
        params = sum(p.numel() * p.element_size() for p in part.parameters())
        return {"params": params, "rows": rows}
    finally:
        leave()


ONE_PROCESS_SCHEDULES = {"gpipe": ScheduleLoopedBFS, "1f1b": ScheduleInterleaved1F1B}


def local_schedule(parts: list[nn.Module], microbatches: int, schedule: str, sample: torch.Tensor, loss_fn):
    """PyTorch's multi-stage schedule over `parts` (all stages of the pipeline, in this
    process and on `sample`'s device) for micro-batches shaped like `sample` (size, ...)."""
    stages, shape, dtype = [], tuple(sample.shape[1:]), sample.dtype
    for index, part in enumerate(parts):
        out_shape, out_dtype = probe(part, shape, dtype, sample.device)
        entering = torch.empty((len(sample), *shape), dtype=dtype, device="meta").requires_grad_(index > 0)
        leaving = torch.empty((len(sample), *out_shape), dtype=out_dtype, device="meta").requires_grad_()
        stages.append(PipelineStage(part, index, len(parts), sample.device, input_args=entering, output_args=leaving))
        shape, dtype = out_shape, out_dtype
    return ONE_PROCESS_SCHEDULES[schedule](stages, microbatches, loss_fn=loss_fn, scale_grads=False)


def timed_steps(step, steps: int, device: torch.device) -> float:
    """Seconds per call of `step()`, the mean of `steps` calls after one warm-up call."""
    step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def one_process(args, backend: str) -> dict:
    """All stages in this one process on its device (the GPU with nccl, else the CPU): for
    each M, the step time of the pipeline schedule and of the unsplit model (gradient
    accumulation over the same chunks), and the largest gradient difference between the
    two (relative to the largest gradient)."""
    torch.set_num_threads(args.threads)
    device = join(backend, timeout=300)
    try:
        model, shape = build(args.model, args.stages)
        model.to(device)
        unsplit = copy.deepcopy(model)
        parts = [stage_module(model, plan_stages(model, args.stages), s) for s in range(args.stages)]
        loss = nn.CrossEntropyLoss()
        inputs, targets = batch(args.batch, shape, device)
        rows = {}
        for m in args.microbatches:
            schedule = local_schedule(parts, m, args.schedule, inputs[: args.batch // m],
                                      lambda out, target, m=m: loss(out, target) / m)

            def piped(schedule=schedule):
                model.zero_grad(set_to_none=True)
                schedule.step(inputs, target=targets)

            def accumulated(m=m):
                unsplit.zero_grad(set_to_none=True)
                for x, y in zip(inputs.tensor_split(m), targets.tensor_split(m)):
                    (loss(unsplit(x), y) / m).backward()

            seconds = {"pipeline": timed_steps(piped, args.steps, device),
                       "unsplit": timed_steps(accumulated, args.steps, device)}
            for step in (piped, accumulated):  # the same dropout masks in both
                torch.manual_seed(1)
                step()
            mine = dict(model.named_parameters())
            scale = max(p.grad.abs().max().item() for p in unsplit.parameters())
            diff = max((mine[name].grad - p.grad).abs().max().item() for name, p in unsplit.named_parameters())
            rows[m] = {**seconds, "difference": diff / scale}
        return {"device": str(device), "rows": rows}
    finally:
        leave()


def report_one_process(args) -> bool:
    """Run `one_process` and print its table; False when a gradient differs beyond --tolerance."""
    cuda = args.device == "cuda" or (args.device is None and torch.cuda.is_available())
    backend = "nccl" if cuda else "gloo"
    result = launch(one_process, (args, backend), nproc=1, backend=backend)[0]
    print(f"pipeline in one process: {args.model}, {args.stages} stages on {result['device']}, "
          f"{ONE_PROCESS_SCHEDULES[args.schedule].__name__}, batch {args.batch}, {args.threads} thread(s); "
          f"the stages run one after another (no overlap): this checks correctness and overhead, not speed")
    print("M  (micro-batch)  pipeline step ms  unsplit step ms (grad accum)  overhead  max gradient difference")
    ok = True
    for m, row in result["rows"].items():
        ok &= row["difference"] <= args.tolerance
        print(f"{m:>2} ({args.batch // m:>4})        {row['pipeline'] * 1e3:>9.2f}  {row['unsplit'] * 1e3:>17.2f}"
              f"               {row['pipeline'] / row['unsplit']:>6.2f}x  {row['difference']:.1e}")
    print(f"gradients: {'equal' if ok else 'DIFFERENT'} to the unsplit model's within {args.tolerance:g} "
          f"of the largest gradient")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, default=2)
    parser.add_argument("--microbatches", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--schedule", choices=["gpipe", "1f1b"], default="gpipe")
    parser.add_argument("--model", choices=["uniform", "googlenet", "digits-cnn"], default="uniform")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--one-process", action="store_true",
                        help="all stages in one process on one device (correctness and overhead)")
    parser.add_argument("--device", choices=["cpu", "cuda"], help="--one-process: the device (default: cuda if any)")
    parser.add_argument("--tolerance", type=float, default=1e-4,
                        help="--one-process: largest gradient difference, relative to the largest gradient")
    args = parser.parse_args()
    if args.schedule == "1f1b" and min(args.microbatches) < args.stages:
        parser.error("--schedule 1f1b needs every --microbatches value >= --stages")
    if args.one_process:
        if any(args.batch % m for m in args.microbatches):
            parser.error("--one-process needs --batch divisible by every --microbatches value")
        sys.exit(0 if report_one_process(args) else 1)
    torch.set_num_threads(args.threads)
    model, shape = build(args.model, args.stages)
    whole_params = sum(p.numel() * p.element_size() for p in model.parameters())
    whole_acts = saved_bytes(model, torch.zeros(args.batch, *shape))
    nccl = torch.cuda.is_available() and torch.cuda.device_count() >= args.stages
    results = launch(stage_process, (args,), nproc=args.stages, backend="nccl" if nccl else "gloo")
    mib = 1 / 2**20
    print(f"pipeline: {args.model}, {args.stages} stages, {args.schedule}, batch {args.batch}, "
          f"{'nccl on GPUs' if nccl else 'gloo on CPU'}, {args.threads} thread(s) per process")
    print(f"one process: parameters {whole_params * mib:.2f} MiB, activations (batch {args.batch}) "
          f"{whole_acts * mib:.2f} MiB")
    for m in args.microbatches:
        print(f"\nM = {m} micro-batches of {args.batch // m}")
        print("stage  parameters MiB (of one process)  activations MiB (of one process)  bubble")
        for rank in sorted(results):
            r = results[rank]
            row = r["rows"][m]
            print(f"{rank:>5}  {r['params'] * mib:>9.2f} ({r['params'] / whole_params:>5.1%})"
                  f"              {row['activations'] * mib:>9.2f} ({row['activations'] / whole_acts:>6.1%})"
                  f"              {row['bubble']:.3f}")
        measured = sum(results[rank]["rows"][m]["bubble"] for rank in results) / len(results)
        theory = (args.stages - 1) / (m + args.stages - 1)
        print(f"bubble fraction: measured {measured:.3f} (mean over stages), GPipe analysis (S-1)/(M+S-1) = {theory:.3f}")


if __name__ == "__main__":
    main()
