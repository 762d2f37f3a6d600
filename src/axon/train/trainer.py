"""The Trainer: a small loop that asks a Trainable for gradients, steps the optimizer
and the schedule, validates each epoch and calls callbacks for everything else."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from axon.data.samplers import ResumableSampler
from axon.errors import ConfigError, RunDirError, TrainingDiverged
from axon.train.callbacks.base import Callback
from axon.train.callbacks.checkpointing import ModelCheckpoint
from axon.train.callbacks.guards import DataStarvation, NaNGuard
from axon.train.callbacks.loggers import CSVLogger, TensorBoardLogger
from axon.train.callbacks.plots import CurvesPlot
from axon.train.callbacks.progress import ProgressBar
from axon.train.checkpoint import (
    STATE_FILE, checkpoint_folder, load_weights, read_checkpoint, snapshot, snapshot_weights,
)
from axon.train.config import OptimizerConfig, ScheduleConfig
from axon.train.inputs import as_dataset
from axon.train.losses import build_loss
from axon.train.optim import build_optimizer, build_schedule
from axon.train.run_folder import check_writable, run_folder_errors
from axon.train.run_record import write_trainer_record
from axon.train.restore import check_counters, check_like, check_optimizer_shapes, restoring
from axon.train.trainable import (
    FullBatchTrainable, LossFn, Precision, StepResult, Trainable, evaluate_totals, means, predict_outputs,
    to_device,
)

_END = object()

Data = Dataset | DataLoader | tuple | dict  # the forms axon.train.inputs accepts


def resolve_device(device: str | torch.device) -> torch.device:
    """`auto` is cuda when available, else cpu."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ConfigError(f"device: {device!r} is not a device ({str(err).splitlines()[0]})") from None
    if device.type == "cuda":
        count = torch.cuda.device_count()
        if (device.index or 0) >= count:
            raise ConfigError(f"device: {device} is not on this machine ({count} CUDA devices"
                              f"{'' if count else '; use cpu'})")
    return device


def resolve_speedups(precision: str, channels_last: bool | str, device: torch.device) -> tuple[str, bool]:
    """`auto` made explicit for `device`: bf16 autocast where the device computes in bf16
    natively (a CUDA GPU with bf16 support, compute capability 8.0 or later), else fp32 (on
    CPUs without AMX/AVX512-BF16 bf16 autocast is slower than fp32); channels_last on CUDA
    (tensor-core convolutions prefer NHWC), not on the CPU or MPS."""
    if precision == "auto":
        precision = "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    if channels_last == "auto":
        channels_last = device.type == "cuda"
    return precision, bool(channels_last)


def resolve_loss(loss: str | LossFn) -> LossFn:
    """A callable loss as it is, or a loss by name (see axon.train.losses.build_loss)."""
    return loss if callable(loss) else build_loss(loss)


def rng_state() -> dict:
    """Every generator's state; the long integer vectors (Python's and NumPy's Mersenne
    Twister) as int64 tensors, cheap to copy and store."""
    _, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "python": [version, torch.from_numpy(np.array(internal, dtype=np.int64)), gauss_next],
        "numpy": [torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore every generator from `rng_state()`'s dict."""
    torch.set_rng_state(state["torch"])
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(torch.as_tensor(internal).tolist()), gauss_next))
    keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state(("MT19937", np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA), Python's random and NumPy's global generator."""
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)


class Trainer:
    """Train any `nn.Module` on (inputs, targets) data.

    >>> trainer = Trainer(model, epochs=20, batch_size=64, lr=3e-3)
    >>> history = trainer.fit(train_data, val_data)   # list of per-epoch metric dicts

    Data may be a Dataset of (input, target) pairs, a DataLoader, a tuple (X, y) of
    tensors or NumPy arrays, a dict of columns or a data set of dict items (Hugging Face
    datasets) read by `input_key`/`target_key` (see axon.train.inputs). `optimizer` is "adamw", "sgd", an OptimizerConfig, or a callable
    `params -> torch.optim.Optimizer`; `schedule` is "onecycle", "step", "constant" or a
    ScheduleConfig. With `run_dir` the run-folder callbacks are added (metrics.csv,
    TensorBoard, curves.png, checkpoints/last and best by `monitor`: default val_loss, or
    train_loss when `fit` gets no validation data), and `fit` writes
    trainer.json (axon.train.run_record): with a model from `axon.zoo.create` and data from
    `axon.data.build_dataset` the folder is a run that `axon eval`, `predict`, `export` and
    `train --resume` accept (with in-memory arrays (X, y): `predict` and `export`).

    Speed-ups: `precision` fp32, bf16 (CPU too), fp16 (CUDA, with loss scaling) or auto
    (bf16 on a bf16-capable GPU, else fp32); `channels_last` (auto: on CUDA); `compile` (torch.compile, eager fallback with a warning);
    `grad_accum` micro-batches of `batch_size` per optimizer step (so the effective batch
    is batch_size * grad_accum); `clip_grad_norm`; loader `num_workers`, `pin_memory`,
    `prefetch_factor`. The fraction of each epoch spent waiting for data is logged as
    `data_wait` and warned about above `data_wait_warning`. `sampler(dataset, seed=,
    rank=, world_size=)` builds the training sampler (a ResumableSampler subclass, e.g.
    axon.data.sampling's RepeatFactorSampler or CurriculumSampler) instead of the plain
    seeded shuffle. A training Dataset with `set_epoch(epoch)` is told each epoch before
    its loader starts (so per-sample random draws can depend on the epoch, not the worker).
    `deterministic` (default True, as in the run config) turns on
    torch.use_deterministic_algorithms: two CPU runs with the same seed and the same
    number of threads are bitwise equal (a different thread count sums in another order)."""

    def __init__(
        self,
        model: nn.Module,
        *,
        epochs: int = 20,
        batch_size: int = 64,
        lr: float | None = None,
        optimizer: str | OptimizerConfig | Callable = "adamw",
        schedule: str | ScheduleConfig = "onecycle",
        loss: str | LossFn = "cross_entropy",
        callbacks: Sequence[Callback] = (),
        run_dir: str | Path | None = None,
        monitor: str | None = None,
        monitor_mode: str = "min",
        checkpoint_every: int = 1,
        checkpoint_every_steps: int | None = None,
        seed: int | None = 0,
        device: str | torch.device = "auto",
        deterministic: bool = True,
        num_workers: int = 0,
        pin_memory: bool = True,
        prefetch_factor: int | None = None,
        precision: str = "fp32",
        channels_last: bool | str = False,
        compile: bool = False,
        grad_accum: int = 1,
        clip_grad_norm: float | None = None,
        progress: bool = True,
        nan_guard: bool = True,
        data_wait_warning: float | None = 0.2,
        sampler: Callable[..., ResumableSampler] | None = None,
        input_key: str = "input",
        target_key: str = "label",
    ):
        if epochs <= 0:
            raise ValueError(f"epochs: expected a positive number of epochs, got {epochs}")
        if batch_size <= 0:
            raise ValueError(f"batch_size: expected a positive batch size, got {batch_size}")
        if grad_accum < 1:
            raise ValueError(f"grad_accum: expected >= 1 micro-batches per step, got {grad_accum}")
        if clip_grad_norm is not None and clip_grad_norm <= 0:
            raise ValueError(f"clip_grad_norm: expected a positive norm, got {clip_grad_norm}")
        if precision not in {"fp32", "bf16", "fp16", "auto"}:
            raise ValueError(f"precision: expected fp32, bf16, fp16 or auto, got {precision!r}")
        if channels_last not in (True, False, "auto"):
            raise ValueError(f"channels_last: expected true, false or auto, got {channels_last!r}")
        if isinstance(optimizer, str):
            optimizer = OptimizerConfig(name=optimizer, **({"lr": lr} if lr is not None else {}))
        elif isinstance(optimizer, OptimizerConfig) and lr is not None:
            optimizer = optimizer.model_copy(update={"lr": lr})
        self.schedule_config = ScheduleConfig(name=schedule) if isinstance(schedule, str) else schedule
        self.optimizer_config = optimizer
        self.device_setting = str(device)  # as given ("auto"), for trainer.json
        self.device = resolve_device(device)
        precision, channels_last = resolve_speedups(precision, channels_last, self.device)
        if precision == "fp16" and self.device.type != "cuda":
            raise ConfigError(
                f"precision: fp16 needs a CUDA device (this run is on {self.device.type}); use bf16 on CPU"
            )
        self.model = model.to(self.device, memory_format=torch.channels_last if channels_last else torch.preserve_format)
        self.compile = compile
        self.epochs, self.batch_size = epochs, batch_size
        self.loss_fn = resolve_loss(loss)
        self.loss_name = loss if isinstance(loss, str) else None
        self.seed, self.deterministic = seed, deterministic
        self.num_workers, self.pin_memory, self.prefetch_factor = num_workers, pin_memory, prefetch_factor
        scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
        self.precision = Precision(self.device, precision, channels_last, scaler)
        self.grad_accum, self.clip_grad_norm = grad_accum, clip_grad_norm
        self.sampler_factory = sampler
        self.input_key, self.target_key = input_key, target_key
        self.callbacks = list(callbacks)
        if data_wait_warning is not None:
            self.callbacks.append(DataStarvation(data_wait_warning))
        if progress:
            self.callbacks.append(ProgressBar())
        if nan_guard:
            self.callbacks.append(NaNGuard())
        self.checkpointer = None  # the ModelCheckpoint of the run folder, if any
        self.monitor_setting = monitor  # None: val_loss, or train_loss when fit gets no validation data
        if run_dir is not None:
            folder_callbacks = run_folder_callbacks(run_dir, monitor or "val_loss", monitor_mode, checkpoint_every,
                                                    checkpoint_every_steps)
            self.checkpointer = folder_callbacks[-1]
            self.callbacks.extend(folder_callbacks)
        self.callbacks.sort(key=lambda cb: cb.order)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        # Process layout; a data-parallel subclass sets these and overrides the hooks below.
        self.rank, self.world_size = 0, 1
        # Loop state, reset by fit and restored by load_state_dict.
        self.epoch = 0  # epochs completed
        self.global_step = 0
        self.batch_in_epoch = 0  # batches of the current epoch done
        self.steps_per_epoch = 0
        self.history: list[dict] = []
        self.restored_seconds = 0.0  # training seconds of earlier sessions (set by load_state_dict)
        self.should_stop = False
        self.stop_reason = ""
        self.optimizer: torch.optim.Optimizer | None = None
        self.schedule = None
        self.sampler: ResumableSampler | None = None
        self._loader_generator = torch.Generator()
        self._running = [0.0, 0.0, 0.0, 0.0]  # this epoch so far: loss sum, samples, correct, seconds

    # ----- hooks for data-parallel training (single process: identities)
    @property
    def is_main_process(self) -> bool:
        return self.rank == 0

    def make_trainable(self, loader: DataLoader) -> Trainable:
        """The Trainable that measures loss and gradients over `loader` (the whole data set
        at once for LBFGS)."""
        model = compiled(self.model, loader, self.precision) if self.compile else self.model
        if isinstance(self.optimizer, torch.optim.LBFGS):
            return FullBatchTrainable(model, self.loss_fn, loader, self.device, self.precision)
        return Trainable(model, self.loss_fn, loader, self.device, self.precision, self.grad_accum)

    @property
    def data_shard(self) -> tuple[int, int]:
        """(this process's share, number of shares) of each batch and evaluation set."""
        return self.rank, self.world_size

    def make_optimizer(self) -> torch.optim.Optimizer:
        """The optimizer over the model's parameters, from the optimizer config or callable."""
        if isinstance(self.optimizer_config, OptimizerConfig):
            return build_optimizer(self.model, self.optimizer_config)
        return self.optimizer_config(list(self.model.parameters()))

    def evaluation_totals(self, loader: DataLoader) -> list[float]:
        """[loss sum, samples, correct] of the model over `loader` on this process."""
        return evaluate_totals(self.model, self.loss_fn, loader, self.device, self.precision)

    def all_reduce_sums(self, values: list[float]) -> list[float]:
        """Sum `values` over all processes (here: one process)."""
        return values

    def barrier(self) -> None:
        """Wait for all processes (here: one process)."""

    def optimizer_state(self) -> dict:
        """The optimizer's state dict, as a checkpoint stores it."""
        return self.optimizer.state_dict()

    def load_optimizer_state(self, state: dict) -> None:
        self.optimizer.load_state_dict(state)
        check_optimizer_shapes(self.optimizer)

    def checkpoint_payload(self) -> tuple[dict, dict] | None:
        """(weights, trainer state) as CPU copies for a checkpoint, on the main process
        (None on the others). Every process calls it: a sharded model gathers here."""
        if not self.is_main_process:
            return None
        return snapshot_weights(self.model), snapshot(self.state_dict())

    def load_checkpoint(self, folder: str | Path) -> None:
        """Restore a checkpoint folder's weights and trainer state."""
        self.load_state_dict(read_checkpoint(folder, self.model), checkpoint_folder(folder) / STATE_FILE)

    def load_weights(self, path: str | Path) -> None:
        """Load a safetensors weights file into the model (names and shapes must match)."""
        load_weights(self.model, path)

    def _callbacks(self):
        """The callbacks this process runs: file-writing ones only on the main process."""
        return [cb for cb in self.callbacks if self.is_main_process or not cb.main_process_only]

    # ----- data
    @property
    def eval_batch_size(self) -> int:
        """Batch size of validation and evaluation (no gradients: larger batches)."""
        return max(self.batch_size, 512)

    def make_loader(self, data: Data, train: bool, what: str | None = None, inputs_only: bool = False) -> DataLoader:
        """A DataLoader of `data` (any form axon.train.inputs accepts); training data gets
        this run's ResumableSampler. A data set with a `collate_fn` attribute (e.g. padding
        variable-sized samples) batches with it."""
        data = as_dataset(data, what or ("train_data" if train else "data"), self.input_key, self.target_key,
                          inputs_only)
        if isinstance(data, DataLoader):
            return data
        sampler = None
        share, shares = self.data_shard
        if train:
            if self.sampler_factory is not None:
                sampler = self.sampler_factory(data, seed=self.seed or 0, rank=share, world_size=shares)
            else:
                sampler = ResumableSampler(len(data), seed=self.seed or 0, rank=share, world_size=shares)
            self.sampler = sampler
        # The loader's own generator (re-seeded each epoch) draws its worker base seed, so
        # starting an iterator never consumes the global RNG that dropout uses.
        return DataLoader(
            data, batch_size=self.batch_size * self.grad_accum if train else self.eval_batch_size,
            sampler=sampler, num_workers=self.num_workers, collate_fn=getattr(data, "collate_fn", None),
            pin_memory=self.pin_memory and self.device.type == "cuda", prefetch_factor=self.prefetch_factor,
            generator=self._loader_generator if train else torch.Generator().manual_seed(0),
        )

    # ----- state
    def state_dict(self) -> dict:
        """Everything but the weights that resuming needs, as tensors and JSON values."""
        return {
            "epoch": self.epoch,
            "global_step": self.global_step,
            "batch_in_epoch": self.batch_in_epoch,
            "running": list(self._running),
            "history": self.history,
            "optimizer": self.optimizer_state(),
            "schedule": self.schedule.state_dict(),
            "scaler": self.precision.scaler.state_dict() if self.precision.scaler is not None else {},
            "rng": rng_state(),
            "callbacks": {type(cb).__name__: cb.state_dict() for cb in self.callbacks},
        }

    def load_state_dict(self, state: dict, source: str | Path = "trainer state") -> None:
        """Restore what `state_dict` returned; a damaged state is a CheckpointError naming
        `source` (the file) and the entry."""
        check_counters(state, str(source), self.steps_per_epoch)
        with restoring(str(source), "optimizer"):
            self.load_optimizer_state(state["optimizer"])
        check_like(state["schedule"], self.schedule.state_dict(), str(source), "schedule")
        with restoring(str(source), "schedule"):
            self.schedule.load_state_dict(state["schedule"])
        if self.precision.scaler is not None and state["scaler"]:
            with restoring(str(source), "scaler"):
                self.precision.scaler.load_state_dict(state["scaler"])
        with restoring(str(source), "rng"):
            set_rng_state(state["rng"])
        for cb in self.callbacks:
            if type(cb).__name__ in state["callbacks"]:
                with restoring(str(source), f"callbacks.{type(cb).__name__}"):
                    cb.load_state_dict(state["callbacks"][type(cb).__name__])
        self.epoch, self.global_step = state["epoch"], state["global_step"]
        self.batch_in_epoch, self._running = state["batch_in_epoch"], list(state["running"])
        self.history = [dict(row) for row in state["history"]]
        # An interrupted epoch's running seconds are not in the history yet (at an epoch's end they are).
        partial = float(self._running[3]) if self.batch_in_epoch else 0.0
        self.restored_seconds = sum(float(row.get("seconds", 0.0)) for row in self.history) + partial

    def stop(self, reason: str) -> None:
        """Ask the loop to stop after the current batch (callbacks call this)."""
        self.should_stop, self.stop_reason = True, reason

    def running_metrics(self) -> dict[str, float]:
        """Mean loss, accuracy and samples/s of this process's current epoch so far."""
        loss_sum, seen, correct, seconds = self._running
        metrics = {"loss": loss_sum / max(seen, 1), "samples_per_s": seen / max(seconds, 1e-9)}
        if correct == correct:  # not NaN: a classification task
            metrics["acc"] = correct / max(seen, 1)
        return metrics

    # ----- the loop
    def _setup(self, train_loader: DataLoader) -> None:
        if self.seed is not None:
            seed_everything(self.seed)
        if self.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=self.device.type == "cuda")
        self.optimizer = self.make_optimizer()
        self.steps_per_epoch = 1 if isinstance(self.optimizer, torch.optim.LBFGS) else len(train_loader)
        self.schedule = build_schedule(self.optimizer, self.schedule_config, self.epochs, self.steps_per_epoch)
        self.epoch, self.global_step, self.batch_in_epoch, self.history = 0, 0, 0, []
        self._running = [0.0, 0.0, 0.0, 0.0]
        self.restored_seconds = 0.0
        self.should_stop, self.stop_reason = False, ""

    def fit(self, train_data: Data, val_data: Data | None = None, ckpt_path: str | Path | None = None) -> list[dict]:
        """Train for the remaining epochs; with `ckpt_path`, first restore that checkpoint
        folder (weights and trainer state, possibly mid-epoch) and continue from it.
        Returns the history: one dict of metrics per epoch."""
        train_loader = self.make_loader(train_data, train=True)
        val_loader = self.make_loader(val_data, train=False, what="val_data") if val_data is not None else None
        if len(train_loader) == 0:
            raise ValueError("train_data: no batches (the data set is empty)")
        if self.run_dir is not None and ckpt_path is None:
            refuse_trained_run(self.run_dir)
        if self.checkpointer is not None and self.monitor_setting is None:
            self.checkpointer.monitor = "val_loss" if val_loader is not None else "train_loss"
        self._setup(train_loader)
        if ckpt_path is not None:
            self.load_checkpoint(ckpt_path)
        if self.run_dir is not None and self.is_main_process:
            check_writable(self.run_dir)
            if ckpt_path is None:
                with run_folder_errors(self.run_dir):
                    write_trainer_record(self, train_data, val_data)
        trainable = self.make_trainable(train_loader)
        callbacks = self._callbacks()
        status = "failed"
        with run_folder_errors(self.run_dir):
            for cb in callbacks:
                cb.on_fit_start(self)
            try:
                while self.epoch < self.epochs and not self.should_stop:
                    self._train_epoch(trainable, val_loader, callbacks)
                status = "stopped" if self.should_stop else "completed"
            except TrainingDiverged:
                status = "diverged"
                raise
            except KeyboardInterrupt:
                status = "interrupted"
                raise
            finally:
                for cb in callbacks:
                    cb.on_fit_end(self, status)
        self.barrier()  # the main process has finished writing its checkpoints
        return self.history

    def _train_epoch(self, trainable: Trainable, val_loader: DataLoader | None, callbacks: list[Callback]) -> None:
        self.model.train()
        if self.batch_in_epoch == 0:
            self._running = [0.0, 0.0, 0.0, 0.0]
            for cb in callbacks:
                cb.on_epoch_start(self)
        if self.sampler is not None:
            # A training batch is grad_accum micro-batches of batch_size samples each.
            self.sampler.set_epoch(self.epoch, start=self.batch_in_epoch * self.batch_size * self.grad_accum)
        # A data set that draws per-sample randomness (axon.data.augment.AugmentedDataset) from
        # (seed, epoch, index) learns the epoch here, before the loader hands it to its workers.
        set_epoch = getattr(getattr(trainable.loader, "dataset", None), "set_epoch", None)
        if set_epoch is not None:
            set_epoch(self.epoch)
        self._loader_generator.manual_seed((self.seed or 0) * 100_003 + self.epoch)
        loss_sum, seen, correct, seconds_before = self._running
        start = time.perf_counter()
        waited = 0.0
        batches = iter(trainable)
        while True:
            fetch_start = time.perf_counter()
            batch = next(batches, _END)
            waited += time.perf_counter() - fetch_start
            if batch is _END:
                break
            result = self._step(trainable, batch)
            self.schedule.after_batch()
            self.global_step += 1
            self.batch_in_epoch += 1
            loss_sum += result.loss.item() * result.size
            seen += result.size
            correct = float("nan") if result.correct is None else correct + int(result.correct)
            self._running = [loss_sum, seen, correct, seconds_before + time.perf_counter() - start]
            for cb in callbacks:
                cb.on_batch_end(self, result)
            if self.should_stop:
                break
        loop_seconds = time.perf_counter() - start
        train_seconds = self._running[3]
        lr = self.optimizer.param_groups[0]["lr"]
        self.epoch += 1
        self.batch_in_epoch = 0
        loss_sum, seen, correct = self.all_reduce_sums([loss_sum, seen, correct])
        metrics: dict[str, float] = {"epoch": self.epoch, "step": self.global_step}
        metrics.update({f"train_{k}": v for k, v in means([loss_sum, seen, correct]).items()})
        validation_start = time.perf_counter()
        if val_loader is not None:
            totals = self.evaluation_totals(val_loader)
            metrics.update({f"val_{k}": v for k, v in means(self.all_reduce_sums(totals)).items()})
        metrics.update(lr=lr, seconds=train_seconds + time.perf_counter() - validation_start,
                       samples_per_s=seen / max(train_seconds, 1e-9),
                       data_wait=waited / max(loop_seconds, 1e-9))
        self.schedule.after_epoch(metrics)
        self.history.append(metrics)
        for cb in callbacks:
            cb.on_epoch_end(self, metrics)
        self.barrier()

    def _step(self, trainable: Trainable, batch) -> StepResult:
        """Gradients of one batch from the Trainable, then clip and step the optimizer
        (through the fp16 loss scaler when there is one; with a closure for LBFGS)."""
        self.optimizer.zero_grad(set_to_none=True)
        if isinstance(self.optimizer, torch.optim.LBFGS):
            results: list[StepResult] = []

            def closure() -> torch.Tensor:
                self.optimizer.zero_grad(set_to_none=True)
                results.append(trainable.step(batch))
                return results[-1].loss

            self.optimizer.step(closure)
            return results[0]  # the loss before the step, as for the other optimizers
        result = trainable.step(batch)
        scaler = self.precision.scaler
        if self.clip_grad_norm is not None:
            if scaler is not None:
                scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
        if scaler is not None:
            scaler.step(self.optimizer)
            scaler.update()
        else:
            self.optimizer.step()
        return result

    def evaluate(self, data: Data) -> dict[str, float]:
        """Mean loss and accuracy (for classification) of the model on `data`."""
        loader = self.make_loader(data, train=False)
        return means(self.all_reduce_sums(self.evaluation_totals(loader)))

    def predict(self, data: Data | torch.Tensor | np.ndarray) -> torch.Tensor:
        """The model's outputs (N, ...) for every sample of `data`, in order, on the CPU (eval
        mode, this trainer's device and precision): inputs alone (a tensor or array, or
        (X,)), or any form fit accepts (targets are ignored). For class probabilities take
        `.softmax(1)` of the logits."""
        loader = self.make_loader(data, train=False, inputs_only=True)
        return predict_outputs(self.model, loader, self.device, self.precision)


def compiled(model: nn.Module, loader: DataLoader, precision: Precision) -> nn.Module:
    """`torch.compile(model)`, checked on one batch; where compiling cannot work here (no
    compiler, an unsupported op) a warning names the reason and the eager model is used."""
    import warnings

    try:
        candidate = torch.compile(model)
        inputs, _ = to_device(next(iter(loader)), precision.device, precision.channels_last)
        was_training = model.training
        model.eval()
        with torch.no_grad(), precision.autocast():
            candidate(inputs[:2])
        model.train(was_training)
        return candidate
    except Exception as err:  # torch.compile raises many backend-specific types
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        warnings.warn(f"compile: torch.compile failed ({reason}); training the eager model", stacklevel=2)
        return model


def refuse_trained_run(run_dir: Path) -> None:
    """A RunDirError when `run_dir` already holds a run's checkpoints: a fresh fit would
    overwrite its weights, metrics and curves."""
    saved = [run_dir / "checkpoints" / name for name in ("last", "best")]
    if any(path.exists() for path in saved):
        raise RunDirError(f"{run_dir}: already holds a trained run (checkpoints/last or best); continue it with "
                          f"fit(..., ckpt_path='{run_dir / 'checkpoints' / 'last'}') or choose another run_dir")


def run_folder_callbacks(run_dir: str | Path, monitor: str = "val_loss", mode: str = "min", every: int = 1,
                         every_steps: int | None = None) -> list[Callback]:
    """metrics.csv, TensorBoard events, curves.png and checkpoints/{last,best} in `run_dir`."""
    run_dir = Path(run_dir)
    return [
        CSVLogger(run_dir / "metrics.csv"),
        TensorBoardLogger(run_dir / "tensorboard"),
        CurvesPlot(run_dir / "curves.png"),
        ModelCheckpoint(run_dir / "checkpoints", monitor=monitor, mode=mode, every=every, every_steps=every_steps),
    ]
