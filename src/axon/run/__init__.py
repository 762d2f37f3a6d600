"""A run from a config: the task (classification; 3D detection plugs in the same way)
turns a RunConfig into data (the data registry), a model (the zoo), a loss, metrics,
evaluation and prediction; the run folder, resuming, `load_run`."""

from axon.run.config import RunConfig, apply_overrides, dump_config, load_config, validate_config
from axon.run.evaluate import Evaluation, evaluate_run
from axon.run.folder import read_run_config, read_task_record, run_task
from axon.run.load import LoadedRun, load_run
from axon.run.metrics import ClassificationMetrics, classification_metrics
from axon.run.runs import RunSummary, continue_run, model_data_loss, prepare_run, resume_run, start_run
from axon.run.tasks import Task, get_task, register_task

__all__ = [
    "ClassificationMetrics", "Evaluation", "LoadedRun", "RunConfig", "RunSummary", "Task",
    "apply_overrides", "classification_metrics", "continue_run", "dump_config", "evaluate_run",
    "get_task", "load_config", "load_run", "model_data_loss", "prepare_run", "read_run_config", "read_task_record", "run_task",
    "register_task", "resume_run", "start_run", "validate_config",
]
