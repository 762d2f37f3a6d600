"""`axon spark-train` in Spark local mode (local[2]): two processes started by pyspark's
TorchDistributor train the run, data-parallel or as 2 pipeline stages. Needs the spark
extra (pyspark, pandas, pyarrow) and Java."""

import csv
import math
import shutil

import pytest
import yaml

for module in ("pyspark", "pandas", "pyarrow"):
    pytest.importorskip(module, reason=f"{module} is not installed (pip install 'axon[spark]')")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java, which is not on PATH", allow_module_level=True)

from axon.cli import main  # noqa: E402
from axon.data import load_digits_splits  # noqa: E402


PIPELINE = {"strategy": "pipeline", "stages": 2, "microbatches": 4, "schedule": "1f1b", "split_at": ["dense1"]}


@pytest.mark.parametrize("distributed, pipelines", [({}, 2), (PIPELINE, 1)], ids=["ddp", "pipeline"])
def test_spark_local_mode_trains_with_two_processes(tmp_path, capsys, distributed, pipelines):
    config = tmp_path / "spark.yaml"
    config.write_text(yaml.safe_dump({"model": {"name": "digits-mlp"}, "epochs": 2, "batch_size": 32,
                                      "device": "cpu", "out": str(tmp_path / "runs"), "distributed": distributed}))
    assert main(["spark-train", str(config), "--num-processes", "2", "--master", "local[2]", "--name", "s"]) == 0
    out = capsys.readouterr().out  # the processes' own lines go to Spark's log, not here
    assert "done: completed, 2 epochs" in out
    run = tmp_path / "runs" / "s"
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert len(rows) == 2
    per_pipeline = math.ceil(len(load_digits_splits().train) / pipelines)
    assert int(rows[0]["step"]) == math.ceil(per_pipeline / 32)  # data-parallel processes share each epoch
    assert float(rows[1]["train_loss"]) < float(rows[0]["train_loss"])
    assert (run / "checkpoints" / "last" / "model.safetensors").is_file()
