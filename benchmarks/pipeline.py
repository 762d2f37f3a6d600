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

    python benchmarks/pipeline.py [--stages 2] [--microbatches 1 4 16] [--schedule gpipe]
        [--model uniform] [--batch 64] [--steps 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.pipelining import PipelineStage

from axon.dist import join, launch, leave
from axon.dist.pipeline import Groups, Layout, PipelineRunner
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
        g = torch.Generator().manual_seed(0)
        inputs = torch.randn(args.batch, *shape, generator=g).to(device)
        targets = torch.randint(0, 10, (args.batch,), generator=g).to(device)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, default=2)
    parser.add_argument("--microbatches", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--schedule", choices=["gpipe", "1f1b"], default="gpipe")
    parser.add_argument("--model", choices=["uniform", "googlenet", "digits-cnn"], default="uniform")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.schedule == "1f1b" and min(args.microbatches) < args.stages:
        parser.error("--schedule 1f1b needs every --microbatches value >= --stages")
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
