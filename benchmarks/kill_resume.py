"""Kill-and-resume exactness: N SIGKILLs at random points of a training run and of a
PVM run, each followed by a resume to the end; prints k/N runs whose final weights are
bitwise those of the uninterrupted run.

Kills are placed by the process's own CPU time (read from /proc/PID/stat), uniformly in
(0, the reference run's CPU time), so a loaded machine does not skew where they land.

    python benchmarks/kill_resume.py --n 20            # both
    python benchmarks/kill_resume.py --n 5 --only pvm
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRAIN = """
import sys, torch
from axon.train import Trainer
run, resume = sys.argv[1], sys.argv[2] == "resume"
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Dropout(0.1), torch.nn.Linear(64, 4))
g = torch.Generator().manual_seed(1)
x = torch.randn(2048, 16, generator=g); y = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()
trainer = Trainer(model, epochs=2, batch_size=32, grad_accum=2, progress=False, run_dir=run, seed=3, device="cpu",
                  deterministic=True, checkpoint_every_steps=3)
last = run + "/checkpoints/last"
import os
trainer.fit((x, y), (x[:256], y[:256]), ckpt_path=last if resume and (os.path.isdir(last) or os.path.isdir(run + "/checkpoints/.last.old")) else None)
"""

PVM = """
import sys, glob
from axon.data.video import PanningCamera
from axon.pvm.config import parse_model
from axon.pvm.runner import PVMRunner
run, resume = sys.argv[1], sys.argv[2] == "resume"
cfg = parse_model({"name": "kill", "input_size": 24, "input_block_size": 3, "hidden_block_size": 4,
                   "layer_shapes": [8, 4, 2, 1], "schedule": {"delay_each_layer": 5, "enable_lateral_at": 10,
                   "enable_feedback_at": 20}})
runner = PVMRunner(cfg, PanningCamera((24, 24), length=100), run, metrics_every=7, snapshot_every=9, progress=False)
snaps = sorted(glob.glob(run + "/snapshots/step_*.safetensors"))
if resume and snaps:
    runner.resume(snaps[-1])
runner.run(150, log=lambda line: None)
"""


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(code: str, run: Path, mode: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, str(run), mode], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def finish(code: str, run: Path, mode: str) -> float:
    """Run to the end; returns the child's CPU seconds."""
    before = os.times()
    done = subprocess.run([sys.executable, "-c", code, str(run), mode], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{run}: exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}")
    after = os.times()
    return after.children_user + after.children_system - before.children_user - before.children_system


def final_bytes(kind: str, run: Path) -> bytes:
    if kind == "train":
        return (run / "checkpoints" / "last" / "model.safetensors").read_bytes()
    from safetensors.torch import load_file

    tensors = load_file(str(run / "snapshots" / "step_00000150.safetensors"))
    return b"".join(tensors[k].numpy().tobytes() for k in sorted(tensors) if k != "metrics")


def trial(kind: str, code: str, folder: Path, cpu_limit: float, rng: random.Random) -> tuple[bool, float]:
    run = folder / "run"
    at = rng.uniform(0.05, 0.95) * cpu_limit
    process = start(code, run, "fresh")
    while process.poll() is None and cpu_seconds(process.pid) < at:
        time.sleep(0.005)
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait()
    finish(code, run, "resume")
    return final_bytes(kind, run), at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="kills per run kind")
    parser.add_argument("--only", choices=["train", "pvm"], default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"load {open('/proc/loadavg').read().split()[:3]}, {os.cpu_count()} cores (shared machine)")
    for kind, code in (("train", TRAIN), ("pvm", PVM)):
        if args.only not in (None, kind):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            reference = Path(tmp) / "reference"
            cpu = finish(code, reference, "fresh")
            expected = final_bytes(kind, reference)
            exact = 0
            for i in range(args.n):
                got, at = trial(kind, code, Path(tmp) / f"t{i}", cpu, rng)
                exact += got == expected
                print(f"{kind} kill {i + 1}: at {at:.2f} of {cpu:.2f} CPU s: {'exact' if got == expected else 'DIFFERENT'}",
                      flush=True)
            print(f"{kind}: {exact}/{args.n} exact")


if __name__ == "__main__":
    main()
