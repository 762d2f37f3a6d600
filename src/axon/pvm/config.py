"""The PVM model schema: geometry, context, unit features, activation, schedule, readout.

A model is a JSON file validated by `PVMConfig` before any work starts; unknown keys,
negative rates and geometry that does not fit are `ConfigError`s naming the key.

Geometry: layer 0 is a `layer_shapes[0] x layer_shapes[0]` grid of units tiling the
`input_size x input_size` frame with non-overlapping `input_block_size` square patches
of `input_channels` bands. Every unit has `hidden_block_size ** 2` hidden units. Each
unit of layer `l > 0` reads a `fan_in_square_size` square block of units of layer
`l - 1`; the blocks are spread evenly over the lower grid and may overlap.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from axon.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


NAME = re.compile(r"(?![.\s])[^/\\\x00-\x1f\x7f]{1,100}(?<!\s)")
"""A model name: it names the default output folder, so one plain path component."""


class ContextConfig(_Strict):
    """Which previous-step hidden states a unit receives as context.

    Two switches replicate the original's wiring exactly (both off by default):
    `top_twice` keeps the top unit's context twice where the original sends it twice
    (layer L-2's units get it as their parent's feedback and again through `top_to_all`;
    axon otherwise sends each source once); `lateral_from_layer0` takes the lateral
    context of every layer from layer 0's units at the same grid positions, as the
    original's code does for layers >= 1 (a bug there; axon otherwise takes it from the
    unit's own layer).
    """

    lateral_radius: float = Field(2.0, ge=0)
    exclude_self: bool = False
    feedback: bool = True
    two_layers_back: bool = False
    top_to_all: bool = True
    # exact replication of the original's quirks (off: axon's de-duplicated, correct wiring)
    top_twice: bool = False
    lateral_from_layer0: bool = False


class FeaturesConfig(_Strict):
    """Which views of the unit's signal enter its input besides the signal itself."""

    derivative: bool = True
    integral: bool = True
    error: bool = True
    t_minus_2: bool = False


class ScheduleConfig(_Strict):
    """The developmental schedule.

    Layer `i` is frozen until step `i * delay_each_layer`; from then it learns at
    `initial_learning_rate`, after `delay_intermediate` further steps at
    `intermediate_learning_rate`, after `delay_final` further steps (counted from its
    start) at `final_learning_rate`. Lateral context is gated on from step
    `enable_lateral_at`, feedback (and every top-down context) from `enable_feedback_at`.
    """

    initial_learning_rate: float = Field(2e-4, ge=0)
    intermediate_learning_rate: float = Field(2e-4, ge=0)
    final_learning_rate: float = Field(1e-5, ge=0)
    delay_each_layer: int = Field(100_000, ge=0)
    delay_intermediate: int = Field(100_000, ge=0)
    delay_final: int = Field(100_000, ge=0)
    enable_lateral_at: int = Field(700_000, ge=0)
    enable_feedback_at: int = Field(900_000, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> ScheduleConfig:
        if self.delay_intermediate > self.delay_final:
            raise ValueError(
                f"delay_intermediate={self.delay_intermediate} must be <= "
                f"delay_final={self.delay_final}"
            )
        return self

    def learning_rate(self, layer: int, step: int) -> float:
        """The learning rate of `layer` at `step` (0 while the layer is frozen)."""
        start = layer * self.delay_each_layer
        if step < start:
            return 0.0
        if step < start + self.delay_intermediate:
            return self.initial_learning_rate
        if step < start + self.delay_final:
            return self.intermediate_learning_rate
        return self.final_learning_rate


class ReadoutConfig(_Strict):
    """Supervised heatmap readout: each unit maps its hidden state (plus a bias) through a
    sigmoid to a `tile_size x tile_size` tile of its layer's heatmap (`tile_size` one
    side for every layer, or a list with one per layer); the target is
    `mask * target_scale + target_offset`. `supervised_only`: the predictors do not
    learn, only the readout does (the original's `supervised: 1`)."""

    tile_size: int | list[int] = 2
    learning_rate: float = Field(1e-3, ge=0)
    target_scale: float = Field(0.6, ge=0)
    target_offset: float = Field(0.4, ge=0)
    supervised_only: bool = False

    def tile(self, layer: int) -> int:
        """The tile side of `layer`'s units."""
        return self.tile_size[layer] if isinstance(self.tile_size, list) else self.tile_size


class InputNormConfig(_Strict):
    """Running standardisation of the unit inputs' signal blocks (an axon option): each
    value of the signal, derivative, integral, error and x(t-2) blocks is centred and
    scaled by running estimates of its mean and variance,
    `x' = (x - mean) / sqrt(var + eps)`. The estimates average the first `1 / (1 - decay)`
    steps equally and then decay exponentially by `decay` per step."""

    decay: float = Field(0.999, gt=0, lt=1)
    eps: float = Field(1e-4, gt=0)


class PVMConfig(_Strict):
    """A PVM model. See the module docstring for the geometry.

    `activation`: "rational" (`x / (2 (|x| + 1)) + 0.5`, the only one the original
    uses, whatever its `polynomial` key says) or "sigmoid" (the logistic, an axon
    option). `prediction`: "signal" (the original's unit) predicts `x(t+1)` as the output
    `out = act(W2 h)`; "change" (an axon option) predicts the change, `x_hat(t+1) =
    clamp(x(t) + 2 (out - 0.5), 0, 1)`. `input_norm` (an axon option, default off):
    see `InputNormConfig`. `step`: "bottom_up" (axon's: layer by layer, each layer reads
    the states the layer below produced in the same step) or "pipelined" (the
    original's: every layer reads the states of the previous step, so layer l sees the
    frame l steps late and layers do not wait for each other).
    """

    name: str = "pvm"
    input_size: int = Field(gt=0)
    input_channels: int = Field(3, ge=1)
    input_block_size: int = Field(5, ge=1)
    hidden_block_size: int = Field(7, ge=1)
    layer_shapes: list[int] = Field(min_length=1)
    fan_in_square_size: int = Field(2, ge=1)
    context: ContextConfig = ContextConfig()
    features: FeaturesConfig = FeaturesConfig()
    activation: Literal["sigmoid", "rational"] = "rational"
    prediction: Literal["signal", "change"] = "signal"
    step: Literal["bottom_up", "pipelined"] = "bottom_up"
    input_norm: InputNormConfig | None = None
    tau: float = Field(0.98, ge=0, le=1)
    momentum: float = Field(0.5, ge=0, lt=1)
    schedule: ScheduleConfig = ScheduleConfig()
    readout: ReadoutConfig | None = None
    seed: int = 0

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not NAME.fullmatch(value):
            raise ValueError("expected a plain name (at most 100 characters, no '/', '\\' or control "
                             "characters, not starting with '.'), since it names the output folder")
        return value

    @model_validator(mode="after")
    def _geometry(self) -> PVMConfig:
        if self.input_size % self.input_block_size:
            raise ValueError(
                f"input_size={self.input_size} is not divisible by "
                f"input_block_size={self.input_block_size}"
            )
        tiles = self.input_size // self.input_block_size
        if self.layer_shapes[0] != tiles:
            raise ValueError(
                f"layer_shapes[0]={self.layer_shapes[0]} must equal input_size / "
                f"input_block_size = {tiles}"
            )
        fan = self.fan_in_square_size
        for i, (below, here) in enumerate(zip(self.layer_shapes, self.layer_shapes[1:]), 1):
            if here < 1:
                raise ValueError(f"layer_shapes[{i}]={here}: expected a grid side >= 1")
            if fan > below:
                raise ValueError(
                    f"fan_in_square_size={fan} is larger than layer_shapes[{i - 1}]={below}"
                )
            if here * fan < below:
                raise ValueError(
                    f"layer_shapes[{i}]={here} with fan_in_square_size={fan} leaves units of "
                    f"layer {i - 1} ({below}x{below}) without a parent; expected "
                    f"layer_shapes[{i}] * fan_in_square_size >= {below}"
                )
            if here > below - fan + 1:
                raise ValueError(
                    f"layer_shapes[{i}]={here} is larger than the {below - fan + 1} distinct "
                    f"{fan}x{fan} blocks of layer_shapes[{i - 1}]={below}"
                )
        return self

    @model_validator(mode="after")
    def _readout_tiles(self) -> PVMConfig:
        if self.readout is None:
            return self
        sizes = self.readout.tile_size
        listed = isinstance(sizes, list)
        if listed and len(sizes) != len(self.layer_shapes):
            raise ValueError(f"readout.tile_size={sizes}: expected one side per layer "
                             f"({len(self.layer_shapes)})")
        if any(t < 1 for t in (sizes if listed else [sizes])):
            raise ValueError(f"readout.tile_size={sizes}: expected sides >= 1")
        return self

    @property
    def hidden_size(self) -> int:
        return self.hidden_block_size**2

    def weight_bytes(self, element_size: int = 4) -> int:
        """A lower bound of the memory the engine allocates for the weights and momenta
        (float `element_size` bytes each, plus the float64 copy they are drawn in):
        every unit has at least its signal blocks and bias in, its hidden layer, and its
        prediction out. Computed from the geometry alone, before anything is built."""
        f = self.features
        blocks = 1 + f.derivative + f.integral + f.error + f.t_minus_2
        H, total = self.hidden_size, 0
        for index, side in enumerate(self.layer_shapes):
            signal = self.patch_size if index == 0 else self.fan_in_square_size**2 * H
            total += side * side * ((blocks * signal + 1) * H + (H + 1) * signal)
        return total * (2 * element_size + 8)

    @property
    def patch_size(self) -> int:
        """Values in one layer-0 unit's signal: channels x block x block."""
        return self.input_channels * self.input_block_size**2

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=False) + "\n"


def _format_validation(source: str, err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(model)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            parts.append(f"{loc}: unknown key")
        elif e["type"] == "missing":
            parts.append(f"{loc}: required key is missing")
        else:
            parts.append(f"{loc}: {msg} (got {e.get('input')!r})")
    return f"{source}: " + "; ".join(parts)


def parse_model(data: dict, source: str = "model") -> PVMConfig:
    """Validate a dict as a PVM model; raise ConfigError naming the bad keys."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a JSON object, got {type(data).__name__}")
    try:
        return PVMConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_validation(source, err)) from None


def read_json(path: str | Path, what: str = "model file") -> object:
    """The JSON value in file `path`; a missing file, text that is not UTF-8 or not JSON
    (or nested too deeply to read) is a ConfigError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: {what} does not exist")
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text (byte {err.start}); expected a JSON {what}") from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: not valid JSON ({err})") from None
    except RecursionError:
        raise ConfigError(f"{path}: JSON nested too deeply") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the {what} ({err.strerror})") from None


def load_model(path: str | Path) -> PVMConfig:
    """Read and validate a PVM model JSON file."""
    return parse_model(read_json(path), str(path))


def apply_overrides(cfg: PVMConfig, overrides: list[str]) -> PVMConfig:
    """Apply `key.sub=value` overrides (value parsed as JSON, else taken as a string)
    and re-validate. Example: `schedule.delay_each_layer=2000`."""
    data = cfg.model_dump(mode="json")
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. tau=0.9")
        key, raw = item.split("=", 1)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = data
        parts = key.split(".")
        for depth, p in enumerate(parts):
            if p not in node:
                close = difflib.get_close_matches(p, list(node), n=1, cutoff=0.5)
                hint = f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(node)}"
                where = f" in section {'.'.join(parts[:depth])!r}" if depth else ""
                raise ConfigError(f"--set {key}: unknown key {p!r}{where}; {hint}")
            if depth == len(parts) - 1:
                break
            if node[p] is None:
                raise ConfigError(
                    f"--set {key}: section {p!r} is off (null) in this model; set it whole, "
                    f"e.g. --set '{p}={{...}}'"
                )
            if not isinstance(node[p], dict):
                raise ConfigError(f"--set {key}: {p!r} is not a section of the model")
            node = node[p]
        node[parts[-1]] = value
    return parse_model(data, "model with --set overrides")
