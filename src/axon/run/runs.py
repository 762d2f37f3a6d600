"""Config-driven runs: a RunConfig becomes the task's data, model and loss, trained by the
engine's Trainer in a new run folder; resuming and continuing runs."""

from __future__ import annotations

import difflib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from axon import zoo
from axon.data.resize import ResizedDataset, SizeSchedule, check_fully_convolutional
from axon.errors import CheckpointError, ConfigError, TrainingDiverged
from axon.nn.init import init_weights, set_prior_bias
from axon.run.config import RunConfig, dump_config
from axon.run.data import decode_into_memory, sampler_factory, worker_count
from axon.run.edits import ConfigRecord, check_resumable
from axon.run.folder import CONFIG_FILE, TASK_FILE, create_run_dir, read_run_config, task_record_text
from axon.run.python_runs import check_cli_can_continue
from axon.run.tasks import get_task
from axon.threads import set_threads
from axon.train.callbacks.curriculum import DropoutOff, ProgressiveResizing
from axon.train.callbacks.guards import EarlyStopping
from axon.train.checkpoint import MODEL_FILE, checkpoint_folder
from axon.train.trainer import Trainer, resolve_device, seed_everything
from axon.train.transfer import Unfreeze, load_matching, matching, set_trainable, weights_file


@dataclass
class RunSummary:
    run_dir: Path
    status: str
    epochs_done: int
    best_epoch: int | None
    best_val: float | None
    test_metric: str
    """What best_test and final_test measure (e.g. test accuracy)."""
    best_test: float
    final_test: float
    seconds: float
    """Wall time of this session (start-up, training, the test evaluation)."""
    earlier_seconds: float = 0.0
    """Training time of the sessions before a resume (their epochs' `seconds`, and the
    part of an interrupted epoch that its checkpoint had counted)."""

    @property
    def total_seconds(self) -> float:
        """The whole run: earlier sessions' training time plus this session's wall time."""
        return self.earlier_seconds + self.seconds

    def timing(self) -> str:
        """'20 epochs in 42.1 s', with this session's share when the run was resumed."""
        text = f"{self.epochs_done} epochs in {self.total_seconds:.1f} s"
        return text + (f" (this session {self.seconds:.1f} s)" if self.earlier_seconds else "")


def load_data(config: RunConfig) -> Any:
    """The train/val/test splits of the config's task and data section."""
    return get_task(config.task).load_data(config)


def resolve(config: RunConfig, data: Any) -> RunConfig:
    """The config with `model.args` completed from the data (e.g. num_classes), as the run
    folder records it, so the model can be built again from config.yaml alone."""
    args = get_task(config.task).model_args(config, data)
    return config.model_copy(update={"model": config.model.model_copy(update={"args": args})})


def build_model(config: RunConfig) -> nn.Module:
    """The config's zoo model with the run's seeded initial weights."""
    seed_everything(config.seed)
    return zoo.create(config.model.name, **config.model.args)


def prepare_model(config: RunConfig, model: nn.Module, fresh: bool) -> str:
    """Initialise (fresh runs: init scheme, focal prior bias, init_from) and freeze the
    model as the config says; returns a report of what was done ("" when nothing)."""
    lines = []
    if fresh and config.init.scheme != "default":
        count = init_weights(model, config.init.scheme, config.init.mode, config.init.nonlinearity)
        lines.append(f"init: {config.init.scheme} ({config.init.mode}, {config.init.nonlinearity}) on {count} layers")
    if fresh and config.init.prior is not None:
        head = set_prior_bias(model, config.init.prior)
        lines.append(f"init: prior bias {config.init.prior} on classification head {head!r}")
    if fresh and config.init_from is not None:
        lines.append(str(load_matching(model, config.init_from)))
    if config.transfer.freeze:
        frozen = set_trainable(model, config.transfer.freeze, False)
        until = f" until epoch {config.transfer.unfreeze_epoch}" if config.transfer.unfreeze_epoch else ""
        lines.append(f"freeze: {len(frozen)} parameter tensors{until}")
    return "\n".join(lines)


def model_data_loss(config: RunConfig) -> tuple[nn.Module, Any, nn.Module]:
    """The config's model (seeded, initialised and frozen as the config says), its data
    splits and its loss, without a run folder (what lr-find and batch-find measure)."""
    task = get_task(config.task)
    data = task.load_data(config)
    config = resolve(config, data)
    model = build_model(config)
    task.check_model(config, model, data)
    prepare_model(config, model, fresh=True)
    return model, data, task.loss(config)


def _curriculum(config: RunConfig, data):
    """(training data, callbacks) for progressive resizing and dropout switch-off."""
    train, callbacks = get_task(config.task).training_set(config, data), []
    if config.data.resize_schedule:
        train = ResizedDataset(train)
        callbacks.append(ProgressiveResizing(config.data.resize_schedule, train))
    if config.dropout_off_epoch is not None:
        callbacks.append(DropoutOff(config.dropout_off_epoch))
    return train, callbacks


def _trainer(config: RunConfig, model: nn.Module, run_dir: Path, progress: bool, train,
             trainer_factory: Callable[..., Trainer] = Trainer, callbacks: list | None = None,
             sampler=None) -> Trainer:
    callbacks = list(callbacks or [])
    if config.early_stopping is not None:
        es = config.early_stopping
        callbacks.append(EarlyStopping(es.monitor, es.mode, es.patience, es.min_delta))
    if config.transfer.freeze and config.transfer.unfreeze_epoch:
        callbacks.append(Unfreeze(config.transfer.freeze, config.transfer.unfreeze_epoch))
    return trainer_factory(
        model, epochs=config.epochs, batch_size=config.batch_size, optimizer=config.optimizer,
        schedule=config.schedule, loss=get_task(config.task).loss(config),
        callbacks=callbacks, run_dir=run_dir, monitor=config.checkpoint.monitor,
        monitor_mode=config.checkpoint.mode, checkpoint_every=config.checkpoint.every,
        checkpoint_every_steps=config.checkpoint.every_steps,
        seed=config.seed, device=config.device, deterministic=config.deterministic,
        num_workers=worker_count(config.data, train), pin_memory=config.data.pin_memory,
        prefetch_factor=config.data.prefetch_factor, precision=config.precision,
        channels_last=config.channels_last, compile=config.compile, grad_accum=config.grad_accum,
        clip_grad_norm=config.clip_grad_norm, progress=progress, nan_guard=config.nan_guard,
        sampler=sampler,
    )


def run_header(config: RunConfig, model, device, threads: int, data) -> str:
    """Two lines saying what is about to train: model, parameters, device, threads, data."""
    count = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = f" ({trainable:,} trainable)" if trainable != count else ""
    cpu = f" with {threads} thread{'s' if threads != 1 else ''}" if device.type == "cpu" else ""
    sizes = ", ".join(f"{len(getattr(data, split))} {split}" for split in ("train", "val", "test")
                      if getattr(data, split, None) is not None)
    return (f"{config.model.name}: {count:,} parameters{frozen}, on {device}{cpu}\n"
            f"  data {config.data.name}: {sizes}; {config.epochs} epochs, batch {config.batch_size}")


def _fit(config: RunConfig, data, run_dir: Path, resume: bool, progress: bool,
         trainer_factory: Callable[..., Trainer] = Trainer) -> RunSummary:
    start = time.perf_counter()
    model = build_model(config)
    report = prepare_model(config, model, fresh=not resume)
    if report and progress:
        print(report, flush=True)
    decode_into_memory(config.data, data, progress)
    train, callbacks = _curriculum(config, data)
    threads = set_threads(config.threads, what="threads") if config.threads else torch.get_num_threads()
    callbacks += get_task(config.task).callbacks(config, data) + [ConfigRecord(config)]
    trainer = _trainer(config, model, run_dir, progress, train, trainer_factory, callbacks,
                       sampler_factory(config.data, data))
    if progress and trainer.is_main_process:
        print(run_header(config, model, trainer.device, threads, data), flush=True)
    last = run_dir / "checkpoints" / "last"
    try:
        trainer.fit(train, data.val, ckpt_path=last if resume else None)
    except TrainingDiverged as err:
        kept = f"the last good checkpoint is kept in {last}" if last.exists() else "no checkpoint was written"
        raise TrainingDiverged(f"{err}; {kept}", step=err.step) from None
    task = get_task(config.task)
    final_score = task.test_score(trainer, data)
    best_dir = run_dir / "checkpoints" / "best"
    checkpointer = trainer.checkpointer
    best_score = final_score
    # Every process tracks the best epoch; the barrier at the end of fit has waited for
    # the main process to finish writing the checkpoint.
    if checkpointer.best_epoch not in (None, trainer.epoch):
        trainer.load_weights(checkpoint_folder(best_dir) / MODEL_FILE)
        best_score = task.test_score(trainer, data)
    return RunSummary(
        run_dir=run_dir, status=trainer.stop_reason or "completed", epochs_done=trainer.epoch,
        best_epoch=checkpointer.best_epoch, best_val=checkpointer.best,
        test_metric=task.test_metric, best_test=best_score, final_test=final_score,
        seconds=time.perf_counter() - start, earlier_seconds=trainer.restored_seconds,
    )


def check_monitors(config: RunConfig, data: Any) -> None:
    """checkpoint.monitor, early_stopping.monitor and a plateau schedule's monitor name
    metrics the epochs log, checked before training where the task knows them."""
    names = get_task(config.task).epoch_metrics(config, data)
    if names is None:
        return
    names = [*names, *(["image_size"] if config.data.resize_schedule else [])]
    watched = {"checkpoint.monitor": config.checkpoint.monitor}
    if config.early_stopping is not None:
        watched["early_stopping.monitor"] = config.early_stopping.monitor
    if config.schedule.name == "plateau":
        watched["schedule.monitor"] = config.schedule.monitor
    for key, name in watched.items():
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"{key}: metric {name!r} is not logged ({hint}each epoch logs {', '.join(names)})")


def prepare_run(config: RunConfig, data: Any | None = None) -> tuple[RunConfig, Path]:
    """Check the config against its data (loaded when not given) and model, create the
    run folder and write config.yaml (resolved) and task.json; returns the resolved config,
    with its folder name filled in, and the folder."""
    task = get_task(config.task)
    data = data if data is not None else task.load_data(config)
    config = resolve(config, data)
    check_monitors(config, data)
    model = build_model(config)
    task.check_model(config, model, data)
    if config.init_from is not None:
        weights_file(config.init_from)
    matching(model, config.transfer.freeze)
    sampler_factory(config.data, data)
    get_task(config.task).training_set(config, data)
    if config.data.resize_schedule:
        bands = data.train[0][0].shape[0]
        try:
            check_fully_convolutional(model, bands, SizeSchedule(config.data.resize_schedule).sizes)
        except ValueError as err:
            raise ConfigError(f"data.resize_schedule: {err}") from None
    record = task_record_text(task.record(data))

    def files(name: str) -> dict[str, str]:
        return {TASK_FILE: record, CONFIG_FILE: dump_config(config.model_copy(update={"name": name}))}

    run_dir = create_run_dir(config.out, config.name, files)
    return config.model_copy(update={"name": run_dir.name}), run_dir


def start_run(config: RunConfig, progress: bool = True) -> RunSummary:
    """Train as `config` says in a new run folder; returns the summary."""
    resolve_device(config.device)  # a device this machine lacks is named before a folder is made
    data = load_data(config)
    decode_into_memory(config.data, data, progress)  # a damaged image is named before a folder is made
    config, run_dir = prepare_run(config, data)
    return _fit(config, data, run_dir, resume=False, progress=progress)


def has_checkpoint(run_dir: Path) -> bool:
    """Whether the run folder has a checkpoints/last to continue from."""
    try:
        checkpoint_folder(run_dir / "checkpoints" / "last")
        return True
    except CheckpointError:
        return False


def announce_resume(run_dir: str | Path, progress: bool) -> None:
    """Check that `run_dir` is a run folder to resume; one that was stopped before its
    first checkpoint is trained from the beginning, which this says (one line)."""
    read_run_config(run_dir)
    if not has_checkpoint(Path(run_dir)) and progress:
        print(f"{run_dir}: no checkpoint yet (stopped before its first one); training from the beginning",
              flush=True)


def continue_run(run_dir: str | Path, progress: bool = True,
                 trainer_factory: Callable[..., Trainer] = Trainer) -> RunSummary:
    """Train in the run folder `run_dir` (made by `prepare_run`) as its config.yaml says:
    from checkpoints/last when there is one, else from the start. Each process of a
    data-parallel job (`trainer_factory` builds its Trainer), restarted ones too, runs this."""
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    check_cli_can_continue(run_dir)
    resume = has_checkpoint(run_dir)
    if resume:
        check_resumable(config, run_dir)
    return _fit(config, load_data(config), run_dir, resume, progress, trainer_factory)


def resume_run(run_dir: str | Path, progress: bool = True) -> RunSummary:
    """Continue the run in `run_dir` from `checkpoints/last` (the model as its config says);
    a run stopped before its first checkpoint starts from the beginning."""
    announce_resume(run_dir, progress)
    return continue_run(run_dir, progress)
