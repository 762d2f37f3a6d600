"""Import the original PVM's model files: flat JSON objects whose values are strings.

Every key lands in one of four bins, all reported: mapped onto axon's schema; inert
(it has no effect on the model, e.g. the dataset or the version); unsupported (it asks
for a behaviour axon does not implement; the model is imported without it); unknown.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path

from axon.errors import ConfigError
from axon.pvm.config import PVMConfig, parse_model


@dataclass
class ImportReport:
    """What happened to each key of the original file."""

    mapped: dict[str, str] = field(default_factory=dict)       # key -> axon field
    inert: dict[str, str] = field(default_factory=dict)        # key -> why
    unsupported: dict[str, str] = field(default_factory=dict)  # key -> what is lost
    unknown: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"mapped  {k} -> {v}" for k, v in self.mapped.items()]
        out += [f"inert   {k}: {v}" for k, v in self.inert.items()]
        out += [f"UNSUPPORTED {k}: {v}" for k, v in self.unsupported.items()]
        out += [f"UNKNOWN {k}: not a key of the original's model files; ignored"
                for k in self.unknown]
        return out


# original key -> (axon dotted path, value kind)
_DIRECT = {
    "initial_learning_rate": ("schedule.initial_learning_rate", "float"),
    "intermediate_learning_rate": ("schedule.intermediate_learning_rate", "float"),
    "final_learning_rate": ("schedule.final_learning_rate", "float"),
    "delay_each_layer_learning": ("schedule.delay_each_layer", "int"),
    "delay_intermediate_learning_rate": ("schedule.delay_intermediate", "int"),
    "delay_final_learning_rate": ("schedule.delay_final", "int"),
    "enable_lateral_at": ("schedule.enable_lateral_at", "int"),
    "enable_feedback_at": ("schedule.enable_feedback_at", "int"),
    "momentum": ("momentum", "float"),
    "tau": ("tau", "float"),
    "input_block_size": ("input_block_size", "int"),
    "hidden_block_size": ("hidden_block_size", "int"),
    "layer_shapes": ("layer_shapes", "int_list"),
    "fan_in_square_size": ("fan_in_square_size", "int"),
    "lateral_radius": ("context.lateral_radius", "float"),
    "context_exclude_self": ("context.exclude_self", "bool"),
    "last_layer_context_to_all": ("context.top_to_all", "bool"),
    "send_context_two_layers_back": ("context.two_layers_back", "bool"),
    "use_derivative": ("features.derivative", "bool"),
    "use_integral": ("features.integral", "bool"),
    "use_error": ("features.error", "bool"),
    "use_t_minus_2_block": ("features.t_minus_2", "bool"),
    "new_name": ("name", "str"),
}

_INERT = {
    "steps": "the run length is not part of an axon model; pass `axon pvm run --steps`",
    "dataset": "the video is chosen at run time; pass `axon pvm run --source`",
    "reverse": "the video is chosen at run time; pass `axon pvm run --source`",
    "fan_in_radius": "axon's fan-in is the fan_in_square_size block",
    "supervised": "the readout learns whenever the source has labels",
    "version_major": "version naming",
    "version_minor": "version naming",
    "version_patch": "version naming",
    "name": "naming (axon uses new_name)",
    "description": "naming",
    "feed_context_in_complex_layer": "only meaningful for complex units",
}

# flags axon does not implement: (value at which axon behaves the same, what is lost)
_UNSUPPORTED_FLAGS = {
    "predict_two_steps": (False, "prediction of t+2 is not implemented"),
    "use_global_backprop": (False, "error backpropagation across units is not implemented"),
    "normalize_output": (False, "output normalisation is not implemented"),
    "autoencoder": (False, "the autoencoder variant is not implemented"),
    "bias_free": (False, "bias-free units are not implemented"),
    "backpropagate_readout_error": (False, "readout error is not fed back into units"),
}


def _parse(key: str, raw, kind: str):
    text = raw if isinstance(raw, str) else json.dumps(raw)
    try:
        if kind == "str":
            return str(raw)
        if kind == "bool":
            low = text.strip().lower()
            if low in ("1", "true", "yes"):
                return True
            if low in ("0", "false", "no"):
                return False
            raise ValueError
        if kind == "int":
            value = float(text)
            if value != int(value):
                raise ValueError
            return int(value)
        if kind == "float":
            return float(text)
        value = ast.literal_eval(text.strip())
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) for v in value):
            raise ValueError
        return list(value)
    except (ValueError, SyntaxError):
        expected = {"bool": "0/1 or True/False", "int": "an integer", "float": "a number",
                    "int_list": "a list of integers like [16, 8, 4]"}[kind]
        raise ConfigError(f"{key}: expected {expected}, got {raw!r}") from None


def _set(data: dict, dotted: str, value) -> None:
    node = data
    *parents, last = dotted.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = value


def import_original(original: dict, source: str = "model") -> tuple[PVMConfig, ImportReport]:
    """Convert one of the original's model dicts into a validated `PVMConfig`."""
    if not isinstance(original, dict):
        raise ConfigError(f"{source}: expected a JSON object, got {type(original).__name__}")
    report = ImportReport()
    data: dict = {}
    for key, raw in original.items():
        if key in _DIRECT:
            path, kind = _DIRECT[key]
            _set(data, path, _parse(key, raw, kind))
            report.mapped[key] = path
        elif key == "polynomial":
            rational = _parse(key, raw, "bool")
            data["activation"] = "rational" if rational else "sigmoid"
            report.mapped[key] = "activation"
        elif key == "unit_type":
            if str(raw).strip() != "simple":
                report.unsupported[key] = f"{raw!r}: only simple units exist in axon"
            else:
                report.inert[key] = "axon units are simple units"
        elif key in _UNSUPPORTED_FLAGS:
            same, lost = _UNSUPPORTED_FLAGS[key]
            if _parse(key, raw, "bool") == same:
                report.inert[key] = f"{raw!r} is axon's fixed behaviour"
            else:
                report.unsupported[key] = f"{raw!r}: {lost}"
        elif key in ("enable_readout", "readout_block_size", "supervised_rate", "readout_depth"):
            continue  # handled together below
        elif key in _INERT:
            report.inert[key] = f"{raw!r}: {_INERT[key]}"
        else:
            report.unknown.append(key)
    _import_readout(original, data, report)
    if "layer_shapes" not in data:
        raise ConfigError(f"{source}: the original model has no layer_shapes")
    block = data.get("input_block_size", PVMConfig.model_fields["input_block_size"].default)
    data["input_size"] = data["layer_shapes"][0] * block
    return parse_model(data, f"{source} (imported)"), report


def _import_readout(original: dict, data: dict, report: ImportReport) -> None:
    enabled = "enable_readout" in original and _parse(
        "enable_readout", original["enable_readout"], "bool")
    keys = ("readout_block_size", "supervised_rate", "readout_depth")
    if "enable_readout" in original:
        report.mapped["enable_readout"] = "readout"
    if not enabled:
        for k in keys:
            if k in original:
                report.inert[k] = f"{original[k]!r}: the readout is disabled"
        return
    readout: dict = {}
    if "supervised_rate" in original:
        readout["learning_rate"] = _parse("supervised_rate", original["supervised_rate"], "float")
        report.mapped["supervised_rate"] = "readout.learning_rate"
    if "readout_block_size" in original:
        raw = original["readout_block_size"]
        try:
            readout["tile_size"] = _parse("readout_block_size", raw, "int")
            report.mapped["readout_block_size"] = "readout.tile_size"
        except ConfigError:
            sizes = _parse("readout_block_size", raw, "int_list")
            readout["tile_size"] = sizes[0]
            report.unsupported["readout_block_size"] = (
                f"{raw!r}: axon uses one tile size for every layer; took {sizes[0]}")
    if "readout_depth" in original:
        depth = _parse("readout_depth", original["readout_depth"], "int")
        if depth == 1:
            report.inert["readout_depth"] = "1 is axon's fixed readout depth"
        else:
            report.unsupported["readout_depth"] = f"{depth}: axon's readout has one layer"
    data["readout"] = readout


def import_file(path: str | Path) -> tuple[PVMConfig, ImportReport]:
    """Read one of the original's JSON model files."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: file does not exist")
    try:
        original = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: not valid JSON ({err})") from None
    return import_original(original, str(path))
