"""The run config (owned by the run package; the engine's optimizer and schedule
sections come from axon.train.config): a YAML file validated by pydantic before any work starts.

Unknown keys are errors that name the key and the closest valid one; a wrong type or
range names the field; a YAML syntax error names the file, line and column."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from axon.errors import ConfigError
from axon.train.config import OptimizerConfig, ScheduleConfig, Section


class ModelConfig(Section):
    name: str = "digits-cnn"
    """Registered zoo name (`axon.zoo.names()`)."""
    args: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments of the zoo builder."""


class DataConfig(Section):
    """The data set by name with its reader's arguments as keys beside `name` (see
    `axon datasets`), e.g. `{name: image_folder, root: photos, resize: 64}`, plus how
    it is loaded, sampled and augmented. The reader's arguments left out take the
    reader's defaults (written into the run's config.yaml)."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    name: str = "digits"
    """A registered data set (`axon.data.dataset_names()`): digits, shapes, image_folder, ..."""
    augment: dict[str, Any] | None = None
    """Training augmentation, checked by the run's task: for images (axon.data.augment) e.g.
    {recipe: imagenet}; for detection (axon.detect.dataset.detection_augment) e.g.
    {gt_sampling: {Car: 15}}."""
    repeat_factor: float | None = Field(None, gt=0, le=1)
    """Repeat-factor sampling threshold t: a sample of a class with frequency f is
    repeated r = max(1, sqrt(t / f)) times per epoch (stochastically rounded)."""
    curriculum_epochs: list[int] | None = None
    """Easy-to-hard by task: class k joins the training data at curriculum_epochs[k]
    (one start epoch per class, the first 0, not decreasing)."""
    resize_schedule: dict[int, int] | None = None
    """Progressive resizing: {start epoch: image size} for fully convolutional models."""
    num_workers: int | Literal["auto"] = "auto"
    """DataLoader worker processes; auto: 2 (at most the CPU count) for data sets decoded
    from files when indexed (image_folder), 0 for data sets held in memory."""
    pin_memory: bool = True
    """Pinned host memory for faster copies to a GPU (ignored on CPU)."""
    prefetch_factor: int | None = Field(None, ge=1)
    """Batches each worker loads ahead (needs num_workers > 0)."""

    @model_validator(mode="before")
    @classmethod
    def _reader_arguments(cls, data: Any) -> Any:
        """Check the keys that are not this section's own against the data set's reader
        arguments, and fill in the reader's defaults for those not given."""
        from axon.data import describe_dataset
        from axon.data.registry import REQUIRED

        if not isinstance(data, dict) or not isinstance(data.get("name", "digits"), str):
            return data  # the field validation names the problem
        info = describe_dataset(data.get("name", "digits"))
        given = [key for key in data if key not in cls.model_fields]
        for key in given:
            if key not in info.arguments:
                close = difflib.get_close_matches(str(key), [*info.arguments, *cls.model_fields], n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise ConfigError(f"data.{key}: unknown key ({hint}data set {info.name!r} takes: "
                                  f"{', '.join(info.arguments) or 'no arguments'}; see `axon datasets`)")
        missing = [arg for arg in info.required if arg not in data]
        if missing:
            raise ConfigError(f"data.{missing[0]}: data set {info.name!r} needs it (none given)")
        defaults = {arg: default for arg, default in info.arguments.items() if default is not REQUIRED}
        return {"name": info.name, **defaults, **data}

    @model_validator(mode="after")
    def _prefetch_needs_workers(self) -> DataConfig:
        if self.prefetch_factor is not None and self.num_workers == 0:
            raise ValueError(f"prefetch_factor: {self.prefetch_factor} needs loader workers (num_workers >= 1; "
                             f"it is 0)")
        return self

    @field_validator("num_workers")
    @classmethod
    def _workers(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 0:
            raise ValueError(f"expected auto or a number >= 0, got {value}")
        return value

    def reader_arguments(self) -> dict[str, Any]:
        """The data set reader's keyword arguments (every key beside this section's own)."""
        return dict(self.model_extra or {})


class InitConfig(Section):
    scheme: Literal["default", "kaiming", "xavier"] = "default"
    """Weights of conv and dense layers; default keeps the layers' own initialisation."""
    mode: Literal["fan_in", "fan_out"] = "fan_in"
    """Kaiming: preserve the variance of activations (fan_in) or of gradients (fan_out)."""
    nonlinearity: Literal["relu", "leaky_relu", "tanh", "sigmoid", "linear"] = "relu"
    prior: float | None = Field(None, gt=0, lt=1)
    """Focal-loss prior: the classification head's bias = -log((1 - prior) / prior)."""


class TransferConfig(Section):
    freeze: list[str] = Field(default_factory=list)
    """Parameter-name patterns (fnmatch) to freeze."""
    unfreeze_epoch: int | None = Field(None, ge=1)
    """Unfreeze them when this many epochs are done."""


class CheckpointConfig(Section):
    monitor: str = "val_loss"
    """Metric (a metrics.csv column) that picks checkpoints/best."""
    mode: Literal["max", "min"] = "min"
    every: int = Field(1, ge=1)
    """Write checkpoints/last every this many epochs (and always at the end)."""
    every_steps: int | None = Field(None, ge=1)
    """Also write checkpoints/last every this many optimizer steps (mid-epoch)."""


class DistributedConfig(Section):
    """Data-parallel runs (`axon train --nproc N`, torchrun, Spark); ignored by one process."""

    backend: Literal["auto", "gloo", "nccl"] = "auto"
    """auto: nccl when the processes use GPUs (one each), else gloo."""
    timeout: float = Field(300.0, gt=0)
    """Seconds a collective, or the start-up rendezvous, may wait before the run fails."""
    strategy: Literal["ddp", "fsdp", "pipeline"] = "ddp"
    """ddp: every process holds the whole model; fsdp: parameters, gradients and optimizer
    state are sharded across the processes (PyTorch FSDP), for models that do not fit one;
    pipeline: the model is cut into `stages` stages, one per process (model parallelism)."""
    stages: int = Field(2, ge=2)
    """pipeline: stages (processes per pipeline); processes = stages * data_parallel."""
    microbatches: int = Field(4, ge=1)
    """pipeline: micro-batches each batch is split into (as grad_accum would split it)."""
    schedule: Literal["gpipe", "1f1b"] = "gpipe"
    """pipeline: GPipe (all forwards, then all backwards) or 1F1B (needs microbatches >= stages)."""
    split_at: list[str] | None = None
    """pipeline: the layers where stages 2.. start (stages - 1 names); null: balanced cuts."""
    balance: Literal["parameters", "multiply_adds"] = "parameters"
    """pipeline: what balanced cuts balance along the layer order."""
    data_parallel: int = Field(1, ge=1)
    """pipeline: copies of the pipeline, each with batch_size samples per step (averaged gradients)."""


class EarlyStoppingConfig(Section):
    monitor: str = "val_loss"
    mode: Literal["max", "min"] = "min"
    patience: int = Field(10, ge=1)
    min_delta: float = Field(0.0, ge=0)


class RunConfig(Section):
    task: str = "classification"
    """The kind of problem (axon.run.tasks): what the data, model, loss and evaluation are."""
    name: str | None = None
    """Run folder name under `out`; a timestamp when not given."""
    out: str = "runs"
    seed: int = Field(0, ge=0, lt=2**63)
    deterministic: bool = True
    device: str = "auto"
    threads: int | None = Field(None, gt=0)
    """CPU threads torch computes with; null: the cores this process may use (its CPU
    affinity), shared among the processes of a data-parallel run on one node."""
    epochs: int = Field(20, gt=0)
    batch_size: int = Field(64, gt=0, le=2**31)
    loss: Literal["cross_entropy", "focal"] = "cross_entropy"
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    focal_gamma: float = Field(2.0, ge=0)
    nan_guard: bool = True
    precision: Literal["fp32", "bf16", "fp16", "auto"] = "fp32"
    """Autocast dtype; fp16 (CUDA only) adds loss scaling; bf16 works on CPU too; auto: bf16
    on a GPU with native bf16, else fp32 (axon.train.trainer.resolve_speedups)."""
    channels_last: bool | Literal["auto"] = False
    """NHWC memory layout; auto: on CUDA only."""
    compile: bool = False
    """torch.compile the model (falls back to eager with a warning where it cannot)."""
    grad_accum: int = Field(1, ge=1, le=2**31)
    """Accumulate gradients over this many micro-batches of batch_size per step."""
    clip_grad_norm: float | None = Field(None, gt=0)
    dropout_off_epoch: int | None = Field(None, ge=0)
    """From this many epochs on, every dropout layer is switched off (p = 0)."""
    init_from: str | None = None
    """A run folder (its best, else last, checkpoint) or a .safetensors file: weights
    loaded by parameter name, with a report of what matched."""
    model: ModelConfig = Field(default_factory=ModelConfig)
    init: InitConfig = Field(default_factory=InitConfig)
    transfer: TransferConfig = Field(default_factory=TransferConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    checkpoint: CheckpointConfig = Field(default_factory=CheckpointConfig)
    early_stopping: EarlyStoppingConfig | None = None
    distributed: DistributedConfig = Field(default_factory=DistributedConfig)

    @field_validator("name")
    @classmethod
    def _plain_folder_name(cls, value: str | None) -> str | None:
        if value is not None and (not value or "/" in value or "\\" in value or value.startswith(".")
                                  or len(value) > 200 or any(ord(c) < 32 or c == "\x7f" for c in value)):
            raise ValueError(f"must be a plain folder name (no slashes or control characters, not starting "
                             f"with '.', at most 200 characters), got {value!r}")
        return value

    @field_validator("task")
    @classmethod
    def _known_task(cls, value: str) -> str:
        from axon.run.tasks import task_names

        if value not in task_names():
            raise ValueError(f"unknown task {value!r} (expected {', '.join(task_names())})")
        return value

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        if value not in {"auto", "cpu", "mps"} and not re.fullmatch(r"cuda(:\d{1,3})?", value):
            raise ValueError(f"expected auto, cpu, cuda, cuda:N or mps, got {value!r}")
        return value

    @model_validator(mode="after")
    def _augmentation_the_task_can_run(self) -> RunConfig:
        from axon.run.tasks import get_task

        get_task(self.task).check_augment(self.data.augment)
        return self

    @model_validator(mode="after")
    def _sharding_needs_a_first_order_optimizer(self) -> RunConfig:
        if self.distributed.strategy in ("fsdp", "pipeline") and self.optimizer.name == "lbfgs":
            raise ValueError(f"distributed.strategy: {self.distributed.strategy} cannot run the lbfgs optimizer "
                             f"(use sgd or adamw)")
        return self


def _section_at(path: tuple) -> type[BaseModel] | None:
    """The config class holding the field at `path` (a pydantic error location)."""
    cls: type[BaseModel] = RunConfig
    for part in path:
        field = cls.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return None
        annotation = field.annotation
        candidates = getattr(annotation, "__args__", (annotation,))
        sections = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not sections:
            return None
        cls = sections[0]
    return cls


def _describe(error: dict) -> str:
    loc = tuple(error["loc"])
    where = ".".join(str(p) for p in loc)
    if error["type"] == "extra_forbidden":
        section = _section_at(loc[:-1])
        valid = list(section.model_fields) if section else []
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(valid)}"
        return f"unknown key {where!r} ({hint})"
    if error["type"] == "literal_error":
        expected = re.findall(r"'([^']*)'", error.get("ctx", {}).get("expected", ""))
        close = difflib.get_close_matches(str(error.get("input")), expected, n=1, cutoff=0.4)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"{where}: unknown value {error.get('input')!r} (expected {', '.join(expected)}){hint}"
    if error["type"] == "value_error":
        message = error["msg"].removeprefix("Value error, ")
        if message.startswith(f"{where}."):  # the message names its field in full already
            return message
        return f"{where}: {message}" if where else message
    return f"{where}: {error['msg']} (got {error.get('input')!r})"


def validate_config(data: Any, source: str = "config") -> RunConfig:
    """Validate a mapping as a RunConfig; errors name `source` and the field."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of keys to values at the top, got {type(data).__name__}")
    try:
        return RunConfig.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(_describe(e) for e in err.errors())
        raise ConfigError(f"{source}: {problems}") from None


MAX_YAML_DEPTH = 50


class _PlainLoader(yaml.SafeLoader):
    """A SafeLoader without aliases (`*name`: a 400-byte file can expand to gigabytes)
    and with nesting at most MAX_YAML_DEPTH deep; a run config needs neither."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.MarkedYAMLError(problem="aliases (*name) are not allowed in a run config",
                                       problem_mark=self.peek_event().start_mark)
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.MarkedYAMLError(problem=f"nested deeper than {MAX_YAML_DEPTH} levels",
                                           problem_mark=self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a YAML run config."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    if not path.is_file():
        raise ConfigError(f"{path}: config path is not a file")
    try:
        data = yaml.load(path.read_bytes().decode("utf-8"), Loader=_PlainLoader)  # noqa: S506 (a SafeLoader)
    except RecursionError:
        raise ConfigError(f"{path}: YAML nested too deeply") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        position = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise ConfigError(f"{path}: YAML syntax error at {position}: {err.problem}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read YAML ({err})") from None
    return validate_config(data, source=str(path))


def apply_overrides(config: RunConfig, **overrides: Any) -> RunConfig:
    """A copy of `config` with command-line overrides (None means not given), validated.

    Keys: epochs, lr, batch_size, seed, out, name, threads."""
    data = config.model_dump()
    for key, value in overrides.items():
        if value is None:
            continue
        if key == "lr":
            data["optimizer"]["lr"] = value
        elif key in {"epochs", "batch_size", "seed", "out", "name", "threads"}:
            data[key] = value
        else:
            raise ValueError(f"unknown override {key!r}")
    return validate_config(data, source="command line")


def dump_config(config: RunConfig) -> str:
    """The fully resolved config as YAML text."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
