"""axon on the device (CUDA when present, else CPU): the Trainer against a hand-written
PyTorch loop (fp32; bf16 autocast + channels_last; torch.compile), and GoogLeNet images/s
(forward + backward) against the same network in plain torch.nn. Both sides run in this
process, alternating; the ratio is what counts. Prints Markdown table rows
(| check | baseline | axon | axon / baseline |) for benchmarks/gpu_check.sh.

    python benchmarks/gpu_trainer.py [--tiny] [--device cuda]
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import time
from pathlib import Path

import torch
from torch import nn

from axon import Trainer, zoo
from axon.bench.timing import forward_backward, time_rounds


def _plain_googlenet():
    """benchmarks/googlenet_speed.py's torch.nn GoogLeNet (the same baseline)."""
    spec = importlib.util.spec_from_file_location("googlenet_speed", Path(__file__).with_name("googlenet_speed.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.torch_googlenet


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def hand_loop(model, x, y, batch, epochs, device, bf16, channels_last, compile_) -> float:
    """Samples/s of the last epoch of a plain AdamW + One Cycle loop with shuffling."""
    memory = torch.channels_last if channels_last else torch.preserve_format
    model = model.to(device, memory_format=memory)
    step_model = torch.compile(model) if compile_ else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    steps = math.ceil(len(x) / batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 3e-3, total_steps=steps * epochs)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    rate = 0.0
    for _ in range(epochs):
        _sync(device)
        start = time.perf_counter()
        order = torch.randperm(len(x), generator=generator)
        for i in range(steps):
            index = order[i * batch:(i + 1) * batch]
            xb = x[index].to(device, non_blocking=True)
            xb = xb.contiguous(memory_format=torch.channels_last) if channels_last else xb
            yb = y[index].to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = loss_fn(step_model(xb), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        _sync(device)
        rate = len(x) / (time.perf_counter() - start)
    return rate


def axon_trainer(model, x, y, batch, epochs, device, bf16, channels_last, compile_) -> float:
    trainer = Trainer(model, epochs=epochs, batch_size=batch, lr=3e-3, device=device, progress=False,
                      precision="bf16" if bf16 else "fp32", channels_last=channels_last, compile=compile_,
                      data_wait_warning=None, nan_guard=False)
    history = trainer.fit((x, y))
    return history[-1]["samples_per_s"]


def trainer_rows(device: torch.device, tiny: bool) -> list[str]:
    samples, size, batch, epochs = (256, 16, 64, 2) if tiny else (20_000, 32, 256, 3)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(samples, 3, size, size, generator=generator)
    y = torch.randint(0, 10, (samples,), generator=generator)
    modes = [("fp32", False, False, False), ("bf16 + channels_last", True, True, False), ("compile", False, False, True)]
    rows = []
    for label, bf16, channels_last, compile_ in modes:
        rates = {"hand": [], "axon": []}
        for _ in range(2):  # alternate, keep the best of each
            for name, run in (("hand", hand_loop), ("axon", axon_trainer)):
                torch.manual_seed(0)
                model = zoo.create("shapes-cnn", width=8 if tiny else 32, image_size=size)
                rates[name].append(run(model, x, y, batch, epochs, device, bf16, channels_last, compile_))
        hand, ours = max(rates["hand"]), max(rates["axon"])
        rows.append(f"| Trainer vs hand loop, shapes-cnn {size}px, {label} (samples/s) | {hand:,.0f} | {ours:,.0f} "
                    f"| {ours / hand:.3f} |")
    return rows


def googlenet_rows(device: torch.device, tiny: bool) -> list[str]:
    size, batch = (64, 2) if tiny else (224, 64)
    torch.manual_seed(0)
    ours = zoo.create("googlenet", image_size=size).to(device)
    baseline = _plain_googlenet()().to(device)
    x = torch.randn(batch, 3, size, size, device=device)
    rounds = time_rounds({"torch.nn": forward_backward(baseline, x), "axon": forward_backward(ours, x)},
                         2 if tiny else 10, warmup=1)
    plain, mine = (batch / min(rounds[name]) for name in ("torch.nn", "axon"))
    return [f"| GoogLeNet {size}px batch {batch}, forward + backward (images/s) | {plain:,.1f} | {mine:,.1f} "
            f"| {mine / plain:.3f} |"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (a CPU smoke run of the GPU check)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"| check ({name}, torch {torch.__version__}) | baseline | axon | axon / baseline |")
    print("| --- | --- | --- | --- |")
    for row in trainer_rows(device, args.tiny) + googlenet_rows(device, args.tiny):
        print(row, flush=True)


if __name__ == "__main__":
    main()
