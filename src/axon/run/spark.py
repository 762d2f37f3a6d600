"""Data-parallel runs on a Spark cluster through pyspark's TorchDistributor (the `spark`
extra: `pip install axon[spark]`). The driver makes the run folder, which must be on a
file system every executor sees; Spark starts the processes (torchrun in each barrier
task), each of which runs `axon.run.distributed.run_process`. When Spark retries a failed
stage (spark.task.maxFailures), the processes continue from checkpoints/last."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from axon.dist.errors import DistributedError
from axon.run.config import RunConfig
from axon.run.distributed import check_pipeline_config, run_process
from axon.run.folder import read_run_config
from axon.run.runs import RunSummary, announce_resume, prepare_run

_ERROR_LINE = re.compile(r"^\s*(?:[\w.]+\.)?(\w*(?:Error|Exception)): (.*)$")


def spark_error(err: Exception) -> DistributedError:
    """One line for a failed TorchDistributor run: the last `SomeError: message` line of
    the processes' output it quotes, else the first line of its message."""
    lines = [m for m in (_ERROR_LINE.match(line) for line in str(err).splitlines()) if m]
    if lines:
        return DistributedError(f"spark: a training process failed: {lines[-1].group(1)}: {lines[-1].group(2)}")
    return DistributedError(f"spark: {str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__}")


def spark_train(*, num_processes: int, config: RunConfig | None = None,
                resume: str | Path | None = None, master: str | None = None, local_mode: bool = False,
                use_gpu: bool = False, progress: bool = True) -> RunSummary:
    """Train `config` (a new run) or continue the run folder `resume` with `num_processes`
    processes started by Spark. `master` (e.g. local[2], spark://host:7077) builds the
    Spark session; without it the active or default session is used (spark-submit).
    `local_mode` runs the processes on the driver instead of the executors."""
    try:
        from pyspark.ml.torch.distributor import TorchDistributor
        from pyspark.sql import SparkSession
    except ImportError:
        raise DistributedError("spark-train needs pyspark: pip install 'axon[spark]'") from None
    if num_processes < 1:
        raise DistributedError(f"--num-processes {num_processes}: expected at least 1 process")
    if (config is None) == (resume is None):
        raise ValueError("spark_train: give a config or a run folder to resume, not both")
    if resume is not None:
        run_dir = Path(resume)
        announce_resume(run_dir, progress)
    check_pipeline_config(config or read_run_config(resume), num_processes)
    if master and master.startswith("local"):  # the processes run this interpreter, which has axon
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("axon spark-train").config("spark.ui.showConsoleProgress", "false")
    session = (builder.master(master) if master else builder).getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    if config is not None:
        _, run_dir = prepare_run(config)
    try:
        distributor = TorchDistributor(num_processes=num_processes, local_mode=local_mode, use_gpu=use_gpu)
        return distributor.run(run_process, None, str(run_dir.resolve()), progress)
    except Exception as err:  # noqa: BLE001 - Spark and py4j raise their own error types
        raise spark_error(err) from None
    finally:
        if master:
            session.stop()
