"""A full disk (simulated by a file-size limit, RLIMIT_FSIZE) or a folder that cannot
be written is one RunDirError naming the file, raised at once; the previous checkpoint
is kept intact."""

import re
import subprocess
import sys
import textwrap

import pytest
import torch

from axon.errors import RunDirError
from axon.train import Trainer
from axon.train.checkpoint import read_checkpoint

SCRIPT = textwrap.dedent("""
    import resource, signal, sys, torch
    from axon.errors import AxonError
    from axon.train import Trainer
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 512), torch.nn.ReLU(), torch.nn.Linear(512, 3))
    x, y = torch.randn(256, 64), torch.randint(0, 3, (256,))
    trainer = Trainer(model, epochs=3, batch_size=32, progress=False, run_dir=sys.argv[1], device="cpu",
                      checkpoint_every_steps=2)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))  # room for metrics, not for weights
    try:
        trainer.fit((x, y), (x, y))
    except AxonError as err:
        print("error:", err, "| step", trainer.global_step)
        sys.exit(2)
""")


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_full_disk_stops_training_at_once_with_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "run")], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    line = done.stdout.strip().splitlines()[-1]
    assert re.search(r"checkpoints/last: cannot write the checkpoint \(.*File too large.*\); any previous one is kept",
                     line), line
    assert int(line.rsplit(" ", 1)[1]) <= 4  # the failed write of step 2 is reported by step 3 or 4
    assert not [p for p in (tmp_path / "run" / "checkpoints").iterdir() if p.name.startswith(".")]


def test_a_run_folder_that_cannot_be_written_is_named_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    trainer = Trainer(torch.nn.Linear(4, 3), epochs=1, progress=False, run_dir=blocker / "run", device="cpu")
    with pytest.raises(RunDirError, match="file/run.*the run folder cannot be written"):
        trainer.fit((torch.randn(8, 4), torch.randint(0, 3, (8,))))
    assert trainer.global_step == 0
