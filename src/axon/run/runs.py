"""Config-driven runs: the run folder, training from a RunConfig, resuming, evaluating.

The model is built by the caller (the CLI builds it from the zoo by name) and passed in,
so the engine stays independent of the model registry."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from axon.data import DigitsSplits, load_digits_splits
from axon.data.resize import ResizedDataset, SizeSchedule, check_fully_convolutional
from axon.data.sampling import CurriculumSampler, RepeatFactorSampler, task_stages
from axon.data.shapes import load_shapes_splits
from axon.errors import CheckpointError, ConfigError, RunDirError, TrainingDiverged
from axon.train.callbacks.curriculum import DropoutOff, ProgressiveResizing
from axon.train.callbacks.guards import EarlyStopping
from axon.train.checkpoint import MODEL_FILE, checkpoint_folder, load_weights
from axon.train.config import DataConfig, RunConfig, dump_config, load_config
from axon.nn.init import init_weights, set_prior_bias
from axon.train.losses import build_loss
from axon.train.trainer import Trainer, resolve_device, seed_everything
from axon.train.transfer import Unfreeze, load_matching, matching, set_trainable, weights_file
from axon.train.trainable import evaluate, to_device

CONFIG_FILE = "config.yaml"


@dataclass
class RunSummary:
    run_dir: Path
    status: str
    epochs_done: int
    best_epoch: int | None
    best_val: float | None
    best_test_acc: float
    final_test_acc: float
    seconds: float


def load_data(config: DataConfig) -> DigitsSplits:
    """The train/val/test splits a data config names."""
    if config.name == "shapes":
        return load_shapes_splits(seed=config.split_seed, imbalance=config.imbalance, size=config.image_size)
    return load_digits_splits(config.test_fraction, config.val_fraction, config.split_seed)


def sampler_factory(config: DataConfig, splits: DigitsSplits):
    """The training sampler the data config asks for (repeat-factor or curriculum by
    class), checked now; None for the plain seeded shuffle."""
    labels = splits.train.tensors[1]
    if config.repeat_factor is not None and config.curriculum_epochs is not None:
        raise ConfigError("data: repeat_factor and curriculum_epochs cannot be combined; choose one")
    if config.repeat_factor is not None:
        def factory(data, seed, rank, world_size):
            return RepeatFactorSampler(labels, config.repeat_factor, seed, rank=rank, world_size=world_size)
    elif config.curriculum_epochs is not None:
        try:
            stages = task_stages(labels, config.curriculum_epochs)
            CurriculumSampler(labels, stages)
        except ValueError as err:
            raise ConfigError(f"data.curriculum_epochs: {err}") from None

        def factory(data, seed, rank, world_size):
            return CurriculumSampler(labels, stages, seed, rank=rank, world_size=world_size)
    else:
        return None
    return factory


def _curriculum(config: RunConfig, splits: DigitsSplits):
    """(training data, callbacks) for progressive resizing and dropout switch-off."""
    train, callbacks = splits.train, []
    if config.data.resize_schedule:
        train = ResizedDataset(splits.train)
        callbacks.append(ProgressiveResizing(config.data.resize_schedule, train))
    if config.dropout_off_epoch is not None:
        callbacks.append(DropoutOff(config.dropout_off_epoch))
    return train, callbacks


def create_run_dir(out: str | Path, name: str | None) -> Path:
    """Make a new run folder `out/name` (or `out/<timestamp>`); never reuse one."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RunDirError(f"{out}: cannot create the runs folder ({err.strerror})") from None
    if not out.is_dir():
        raise RunDirError(f"{out}: the runs folder is not a folder")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    candidates = [name] if name else [stamp] + [f"{stamp}-{i}" for i in range(2, 100)]
    for candidate in candidates:
        path = out / candidate
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as err:
            raise RunDirError(f"{path}: cannot create the run folder ({err.strerror})") from None
        if not os.access(path, os.W_OK):
            raise RunDirError(f"{path}: the run folder is not writable")
        return path
    raise RunDirError(
        f"{out / candidates[0]}: run folder already exists; pick another --name, "
        f"or continue it with `axon train --resume {out / candidates[0]}`"
    )


def read_run_config(run_dir: str | Path) -> RunConfig:
    """The config of an existing run folder; a folder that is not a run is an error."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: no such run folder")
    if not (run_dir / CONFIG_FILE).is_file():
        raise RunDirError(f"{run_dir}: not an axon run folder (no {CONFIG_FILE})")
    return load_config(run_dir / CONFIG_FILE)


def _check_output_shape(model: nn.Module, splits: DigitsSplits, config: RunConfig) -> None:
    inputs, _ = splits.train[:2]
    model.eval()
    with torch.no_grad():
        try:
            outputs = model(inputs)
        except RuntimeError as err:
            raise ConfigError(
                f"model {config.model.name!r}: does not accept the data's inputs of shape "
                f"{tuple(inputs.shape)} ({str(err).splitlines()[0]})"
            ) from None
    model.train()
    classes = len(splits.classes)
    if tuple(outputs.shape) != (2, classes):
        raise ConfigError(
            f"model {config.model.name!r}: gives outputs of shape {tuple(outputs.shape)} for a batch "
            f"of 2, expected (2, {classes}) for the {classes} classes of data {config.data.name!r}"
        )


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


def _trainer(config: RunConfig, model: nn.Module, run_dir: Path, progress: bool,
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
        schedule=config.schedule, loss=build_loss(config.loss, config.label_smoothing, config.focal_gamma),
        callbacks=callbacks, run_dir=run_dir, monitor=config.checkpoint.monitor,
        monitor_mode=config.checkpoint.mode, checkpoint_every=config.checkpoint.every,
        checkpoint_every_steps=config.checkpoint.every_steps,
        seed=config.seed, device=config.device, deterministic=config.deterministic,
        num_workers=config.data.num_workers, pin_memory=config.data.pin_memory,
        prefetch_factor=config.data.prefetch_factor, precision=config.precision,
        channels_last=config.channels_last, compile=config.compile, grad_accum=config.grad_accum,
        clip_grad_norm=config.clip_grad_norm, progress=progress, nan_guard=config.nan_guard,
        sampler=sampler,
    )


def _fit(config: RunConfig, model: nn.Module, splits: DigitsSplits, run_dir: Path,
         resume: bool, progress: bool, trainer_factory: Callable[..., Trainer] = Trainer) -> RunSummary:
    start = time.perf_counter()
    report = prepare_model(config, model, fresh=not resume)
    if report and progress:
        print(report, flush=True)
    train, callbacks = _curriculum(config, splits)
    trainer = _trainer(config, model, run_dir, progress, trainer_factory, callbacks,
                       sampler_factory(config.data, splits))
    last = run_dir / "checkpoints" / "last"
    try:
        trainer.fit(train, splits.val, ckpt_path=last if resume else None)
    except TrainingDiverged as err:
        kept = f"the last good checkpoint is kept in {last}" if last.exists() else "no checkpoint was written"
        raise TrainingDiverged(f"{err}; {kept}", step=err.step) from None
    final_acc = trainer.evaluate(splits.test)["acc"]
    best_dir = run_dir / "checkpoints" / "best"
    checkpointer = trainer.checkpointer
    best_acc = final_acc
    # Every process tracks the best epoch; the barrier at the end of fit has waited for
    # the main process to finish writing the checkpoint.
    if checkpointer.best_epoch not in (None, trainer.epoch):
        trainer.load_weights(checkpoint_folder(best_dir) / MODEL_FILE)
        best_acc = trainer.evaluate(splits.test)["acc"]
    return RunSummary(
        run_dir=run_dir, status=trainer.stop_reason or "completed", epochs_done=trainer.epoch,
        best_epoch=checkpointer.best_epoch, best_val=checkpointer.best,
        best_test_acc=best_acc, final_test_acc=final_acc, seconds=time.perf_counter() - start,
    )


def prepare_run(config: RunConfig, model: nn.Module, splits: DigitsSplits | None = None) -> tuple[RunConfig, Path]:
    """Check that `model` fits the data (`splits`, loaded when not given), create the run
    folder and write its config.yaml; returns the config with its folder name filled in,
    and the folder."""
    splits = splits if splits is not None else load_data(config.data)
    _check_output_shape(model, splits, config)
    if config.init_from is not None:
        weights_file(config.init_from)
    matching(model, config.transfer.freeze)
    sampler_factory(config.data, splits)
    if config.data.resize_schedule:
        bands = splits.train[0][0].shape[0]
        try:
            check_fully_convolutional(model, bands, SizeSchedule(config.data.resize_schedule).sizes)
        except ValueError as err:
            raise ConfigError(f"data.resize_schedule: {err}") from None
    run_dir = create_run_dir(config.out, config.name)
    config = config.model_copy(update={"name": run_dir.name})
    (run_dir / CONFIG_FILE).write_text(dump_config(config))
    return config, run_dir


def start_run(config: RunConfig, model: nn.Module, progress: bool = True) -> RunSummary:
    """Train `model` as `config` says in a new run folder; returns the summary."""
    splits = load_data(config.data)
    config, run_dir = prepare_run(config, model, splits)
    return _fit(config, model, splits, run_dir, resume=False, progress=progress)


def continue_run(run_dir: str | Path, model: nn.Module, progress: bool = True,
                 trainer_factory: Callable[..., Trainer] = Trainer) -> RunSummary:
    """Train in the run folder `run_dir` (made by `prepare_run`) as its config.yaml says:
    from checkpoints/last when there is one, else from the start. Each process of a
    data-parallel job (`trainer_factory` builds its Trainer), restarted ones too, runs this."""
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    try:
        checkpoint_folder(run_dir / "checkpoints" / "last")
        resume = True
    except CheckpointError:
        resume = False
    return _fit(config, model, load_data(config.data), run_dir, resume, progress, trainer_factory)


def resume_run(run_dir: str | Path, model: nn.Module, progress: bool = True) -> RunSummary:
    """Continue the run in `run_dir` from `checkpoints/last` (the model as its config says)."""
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    last = run_dir / "checkpoints" / "last"
    try:
        checkpoint_folder(last)
    except CheckpointError:
        raise RunDirError(f"{run_dir}: run has no checkpoint to resume ({last} is missing)") from None
    return _fit(config, model, load_data(config.data), run_dir, resume=True, progress=progress)


@dataclass
class Evaluation:
    accuracy: float
    report: str
    confusion: np.ndarray
    confusion_png: Path


def evaluate_run(run_dir: str | Path, model: nn.Module, checkpoint: str = "best",
                 out: str | Path | None = None) -> Evaluation:
    """Test accuracy, a per-class report and a confusion matrix PNG for a run's checkpoint."""
    from sklearn.metrics import classification_report, confusion_matrix

    from axon.viz.confusion import plot_confusion

    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    if checkpoint not in {"best", "last"}:
        raise ValueError(f"checkpoint: expected best or last, got {checkpoint!r}")
    folder = run_dir / "checkpoints" / checkpoint
    try:
        folder = checkpoint_folder(folder)
    except CheckpointError:
        raise RunDirError(f"{run_dir}: run has no {checkpoint} checkpoint ({folder} is missing)") from None
    device = resolve_device(config.device)
    model = model.to(device)
    load_weights(model, folder / MODEL_FILE)
    splits = load_data(config.data)
    seed_everything(config.seed)
    loader = torch.utils.data.DataLoader(splits.test, batch_size=512)
    predictions, targets = [], []
    model.eval()
    with torch.no_grad():
        for batch in loader:
            inputs, labels = to_device(batch, device)
            predictions.append(model(inputs).argmax(1).cpu())
            targets.append(labels.cpu())
    y_pred, y_true = torch.cat(predictions).numpy(), torch.cat(targets).numpy()
    labels = list(range(len(splits.classes)))
    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    png = Path(out) if out is not None else run_dir / f"confusion_{checkpoint}.png"
    plot_confusion(matrix, splits.classes, png, title=f"{run_dir.name} ({checkpoint}): test confusion")
    report = classification_report(y_true, y_pred, labels=labels, target_names=splits.classes, digits=4)
    return Evaluation(float((y_pred == y_true).mean()), report, matrix, png)
