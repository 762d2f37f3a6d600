"""benchmarks/gpu_check.sh runs on a CPU with tiny sizes and writes its Markdown report."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.slow
def test_gpu_check_runs_tiny_on_cpu(tmp_path):
    report = tmp_path / "report.md"
    env = {"PYTHON": sys.executable, "AXON_TINY": "1", "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(ROOT / "src"), "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), str(report)], env=env,
                            capture_output=True, text=True)
    text = report.read_text()
    assert result.returncode == 0, result.stderr[-2000:] + text
    assert "FAILED" not in text
    for mode in ("fp32", "bf16 + channels_last", "compile"):
        assert f"Trainer vs hand loop, shapes-cnn 16px, {mode}" in text
    assert "| GoogLeNet 64px batch 2" in text and "## Data-parallel overhead" in text
    assert "## Pipeline parallelism" in text and "bubble fraction: measured" in text
    assert "## Pipeline stages in one process" in text and "2 stages on cpu, ScheduleLoopedBFS" in text
    assert "gradients: equal to the unsplit model's" in text
