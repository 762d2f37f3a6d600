"""Bodies of the pipeline-parallel test processes, and the one-process runs they are
compared with (importable by name in spawned processes)."""

from __future__ import annotations

import shutil

import torch
import torch.distributed as dist

from axon.dist import join, leave
from axon.dist.pipeline_trainer import PipelineTrainer
from axon.train import Trainer
from axon.zoo import create

BATCH, MICRO, SAMPLES, EPOCHS = 16, 4, 42, 2  # batches 16, 16, 10 (chunks 3, 3, 2, 2): 6 steps
MODELS = {
    "digits": ("digits-cnn", {"width": 4}, (1, 8, 8)),  # batch norm and dropout (last stage only)
    "googlenet": ("googlenet", {"num_classes": 10, "image_size": 64, "width": 0.125, "dropout": 0.0}, (3, 64, 64)),
    "mlp": ("mlp", {"input_shape": (1, 8, 8), "hidden": (12, 12), "dropout": 0.0}, (1, 8, 8)),
}


def data(kind: str, samples: int = SAMPLES):
    """float64 inputs of the model's shape, labels 0..9."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(samples, *MODELS[kind][2], generator=g, dtype=torch.float64)
    y = torch.randint(0, 10, (samples,), generator=g)
    return x, y


def model(kind: str) -> torch.nn.Module:
    name, args, _ = MODELS[kind]
    torch.manual_seed(0)
    return create(name, **args).double()


def options(optimizer: str = "adamw") -> dict:
    return dict(epochs=EPOCHS, optimizer=optimizer, lr=0.01, schedule="onecycle", seed=3, device="cpu",
                progress=False)


def single(kind: str, optimizer: str = "adamw", resume: str | None = None, **kwargs):
    """Final weights and history of one process with grad_accum MICRO (the same micro-batches)."""
    net = model(kind)
    trainer = Trainer(net, batch_size=BATCH // MICRO, grad_accum=MICRO, **options(optimizer), **kwargs)
    history = trainer.fit(data(kind), val_data=data(kind, 11), ckpt_path=resume)
    return {k: v.clone() for k, v in net.state_dict().items()}, history


def pipelined(kind: str, stages: int, schedule: str, data_parallel: int = 1, optimizer: str = "adamw", **kwargs):
    """This process's stage weights and the history of a pipeline run."""
    trainer = PipelineTrainer(model(kind), stages=stages, microbatches=MICRO, pipeline_schedule=schedule,
                              data_parallel=data_parallel, timeout=60, batch_size=BATCH // data_parallel,
                              **options(optimizer), **kwargs)
    history = trainer.fit(data(kind), val_data=data(kind, 11))
    return {k: v.clone() for k, v in trainer.model.state_dict().items()}, history


def train_pipelines(runs: list[tuple], run_dir: str | None = None, from_single: str | None = None):
    """In each process: the pipeline runs `runs` (tuples of `pipelined`'s arguments), and
    with `run_dir` the runs of `crash_and_resume`."""
    join("gloo", timeout=60)
    try:
        results = {run: pipelined(*run) for run in runs}
        if run_dir is not None:
            results["resume"] = crash_and_resume(run_dir, from_single)
        return results
    finally:
        leave()


class CrashAt:
    """A callback that raises on every process after optimizer step `step` (a simulated crash)."""

    order = 200
    main_process_only = False

    def __init__(self, step: int):
        self.step = step

    def __getattr__(self, name):  # the other hooks do nothing
        return lambda *args, **kwargs: None

    def on_batch_end(self, trainer, result) -> None:
        if trainer.global_step == self.step:
            raise RuntimeError("simulated crash")


def crash_and_resume(run_dir: str, from_single: str):
    """In each process (2 stages, 1f1b, digits): a run with checkpoints every 2 steps
    that crashes after step 3 and resumes from checkpoints/last, the same run
    uninterrupted, and a run resumed from the one-process checkpoint `from_single`."""
    def run(folder: str, callbacks=(), resume: str | None = None):
        trainer = PipelineTrainer(model("digits"), stages=2, microbatches=MICRO, pipeline_schedule="1f1b", timeout=60,
                                  batch_size=BATCH, run_dir=f"{run_dir}/{folder}", checkpoint_every_steps=2,
                                  callbacks=list(callbacks), **options())
        trainer.fit(data("digits"), val_data=data("digits", 11), ckpt_path=resume)
        return {k: v.clone() for k, v in trainer.model.state_dict().items()}, trainer.history

    results = {"whole": run("whole")}
    try:
        run("crashed", [CrashAt(3)])
    except RuntimeError as err:
        assert "simulated crash" in str(err)
    if dist.get_rank() == 0:  # the checkpoint of step 2, for a one-process resume
        shutil.copytree(f"{run_dir}/crashed/checkpoints/last", f"{run_dir}/at-crash")
    dist.barrier()
    results["crashed"] = run("crashed", resume=f"{run_dir}/crashed/checkpoints/last")
    results["from_single"] = run("from-single", resume=from_single)
    return results


def merged(results: dict, key, ranks) -> dict:
    """The whole model's state from the stage states of `ranks`."""
    return {name: t for rank in ranks for name, t in results[rank][key][0].items()}
