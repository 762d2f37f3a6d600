import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.slow
def test_pvm_gpu_check_runs_on_cpu_with_tiny_sizes():
    """benchmarks/pvm_gpu_check.py, the PVM section of benchmarks/gpu_check.sh, with its
    tiny arguments on CPU: each step graphed (replayed eagerly) equal to eager."""
    script = (ROOT / "benchmarks" / "gpu_check.sh").read_text()
    assert "benchmarks/pvm_gpu_check.py $PVM_ARGS" in script
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "pvm_gpu_check.py"),
                          "--model", "tracker-small", "--steps", "3", "--repeats", "1",
                          "--round", "1", "--device", "cpu"],
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
                         capture_output=True, text=True, check=True).stdout
    assert "bottom_up on cpu" in out and "pipelined on cpu" in out
    assert "pipelined-merged on cpu" in out
    assert out.count("max state difference 0.00e+00") == 3
