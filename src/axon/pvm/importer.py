"""Import the original PVM's model files: flat JSON objects whose values are strings,
and whose list values are JSON lists of strings (`"layer_shapes": ["16", "8", "4"]`).

Every key lands in one of four bins, all reported: mapped onto axon's schema; inert
(it has no effect on the model, with the reason: the dataset, the version, a flag at the
value axon behaves as); unsupported (it asks for a behaviour axon does not implement;
the model is imported without it); unknown. The imported model runs as the original
runs it: the rational activation (the original's only one, whatever `polynomial` says),
the pipelined step, the top unit's context sent twice and lateral context of upper
layers taken from layer 0 (reported as implied settings).
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path

from axon.errors import ConfigError
from axon.pvm.config import PVMConfig, parse_model, read_json


@dataclass
class ImportReport:
    """What happened to each key of the original file, and what the import implies."""

    mapped: dict[str, str] = field(default_factory=dict)       # key -> axon field
    inert: dict[str, str] = field(default_factory=dict)        # key -> why
    unsupported: dict[str, str] = field(default_factory=dict)  # key -> what is lost
    unknown: list[str] = field(default_factory=list)
    implied: dict[str, str] = field(default_factory=dict)      # axon field -> why

    def lines(self) -> list[str]:
        out = [f"mapped  {k} -> {v}" for k, v in self.mapped.items()]
        out += [f"inert   {k}: {v}" for k, v in self.inert.items()]
        out += [f"UNSUPPORTED {k}: {v}" for k, v in self.unsupported.items()]
        out += [f"UNKNOWN {k}: not a key of the original's model files; ignored"
                for k in self.unknown]
        out += [f"implied {k}: {v}" for k, v in self.implied.items()]
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
}

_INERT = {
    "steps": "the run length is not part of an axon model; pass `axon pvm run --steps`",
    "dataset": "the video is chosen at run time; pass `axon pvm run --source`",
    "reverse": "the video is chosen at run time; pass `axon pvm run --source`",
    "fan_in_radius": "axon's fan-in is the fan_in_square_size block",
    "version_major": "version naming",
    "version_minor": "version naming",
    "version_patch": "version naming",
    "description": "naming",
    "feed_context_in_complex_layer": "only meaningful for complex units",
    "ex_module": "names the original's Python module that executes the model; axon has "
                 "one engine",
    "model_type": "names the original's model family; axon runs PVM models only",
    "save_source_files": "the original copied its source code into its snapshots; axon's "
                         "snapshots carry the model JSON",
}

# flags axon does not implement: (value at which axon behaves the same, what is lost)
_UNSUPPORTED_FLAGS = {
    "predict_two_steps": (False, "prediction of t+2 is not implemented"),
    "use_global_backprop": (False, "error backpropagation across units is not implemented"),
    "normalize_output": (False, "output normalisation is not implemented"),
    "autoencoder": (False, "the autoencoder variant is not implemented"),
    "bias_free": (False, "bias-free units are not implemented"),
    "backpropagate_readout_error": (False, "readout error is not fed back into units"),
    "bias_free_readout": (False, "a readout without bias is not implemented"),
    "stereo": (False, "stereo input (two cameras) is not implemented"),
}

# flags that switch context off: original key -> axon settings when "1"
_DISABLE = {
    "disable_feedback": {"context.feedback": False, "context.two_layers_back": False,
                         "context.top_to_all": False},
    "disable_lateral": {"context.lateral_radius": 0.0, "context.exclude_self": True},
}

# what every imported model gets, because the original always does it
_IMPLIED = {
    "activation": ("rational", "the original's only activation, x / (2 (|x| + 1)) + 0.5"),
    "step": ("pipelined", "the original's timing: every layer reads the previous step's "
                          "states"),
    "context.top_twice": (True, "the original sends the top unit's context twice to layer "
                                "L-2"),
    "context.lateral_from_layer0": (True, "the original takes upper layers' lateral "
                                          "context from layer 0"),
}

_EXPECTED = {"bool": "0/1 or True/False", "int": "an integer", "float": "a finite number",
             "int_list": "a list of integers like [\"16\", \"8\", \"4\"]", "str": "a string"}


def _scalar(key: str, raw, kind: str):
    """One value: a string (the original's form), a number or a JSON bool."""
    if isinstance(raw, (list, dict)) or raw is None:
        raise ValueError
    text = str(raw).strip()
    if kind == "str":
        return str(raw)
    if kind == "bool":
        low = text.lower()
        if low in ("1", "true", "yes"):
            return True
        if low in ("0", "false", "no"):
            return False
        raise ValueError
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError
    if kind == "int":
        if value != int(value):
            raise ValueError
        return int(value)
    return value


def _parse(key: str, raw, kind: str):
    """Parse `raw` as `kind`; a ConfigError names the key, the value and what was
    expected. Lists come as JSON lists (of strings) or as a string like "[16, 8]"."""
    try:
        if kind != "int_list":
            return _scalar(key, raw, kind)
        if isinstance(raw, str):
            raw = ast.literal_eval(raw.strip()[:10_000])
        if not isinstance(raw, (list, tuple)) or not raw:
            raise ValueError
        return [_scalar(key, v, "int") for v in raw]
    except (ValueError, SyntaxError, TypeError, OverflowError, MemoryError, RecursionError):
        shown = repr(raw)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise ConfigError(f"{key}: expected {_EXPECTED[kind]}, got {shown}") from None


def _per_layer(key: str, raw, kind: str) -> list:
    """A per-layer key: a JSON list (of strings), a string like "[1, 1]", or one value
    for every layer."""
    items = raw
    if isinstance(raw, str) and raw.strip().startswith("["):
        try:
            items = ast.literal_eval(raw.strip()[:10_000])
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise ConfigError(f"{key}: expected a list of {_EXPECTED[kind]}, got "
                              f"{raw[:80]!r}") from None
    if isinstance(items, (list, tuple)):
        if not items:
            raise ConfigError(f"{key}: expected a list of {_EXPECTED[kind]}, got []")
        return [_parse(key, v, kind) for v in items]
    return [_parse(key, raw, kind)]


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
    for path, (value, why) in _IMPLIED.items():
        _set(data, path, value)
        report.implied[f"{path} = {json.dumps(value)}"] = why
    for key, raw in original.items():
        try:
            _import_key(key, raw, data, report)
        except ConfigError as err:
            raise ConfigError(f"{source}: {err}") from None
    try:
        _import_readout(original, data, report)
        _import_name(original, data, report, source)
    except ConfigError as err:
        raise ConfigError(f"{source}: {err}") from None
    if "layer_shapes" not in data:
        raise ConfigError(f"{source}: the original model has no layer_shapes")
    block = data.get("input_block_size", PVMConfig.model_fields["input_block_size"].default)
    data["input_size"] = data["layer_shapes"][0] * block
    return parse_model(data, f"{source} (imported)"), report


_READOUT_KEYS = ("enable_readout", "readout_block_size", "supervised_rate", "readout_depth",
                 "supervised", "name", "new_name")  # handled after the loop


def _import_key(key: str, raw, data: dict, report: ImportReport) -> None:
    """Map, or report, one key of the original file."""
    if key in _DIRECT:
        path, kind = _DIRECT[key]
        _set(data, path, _parse(key, raw, kind))
        report.mapped[key] = path
    elif key == "polynomial":
        _parse(key, raw, "bool")
        report.mapped[key] = ("activation = rational, whatever the value: the original's "
                              "unit only checks that the key exists")
    elif key == "unit_type":
        if _parse(key, raw, "str").strip() != "simple":
            report.unsupported[key] = f"{raw!r}: only simple units exist in axon"
        else:
            report.inert[key] = "axon units are simple units"
    elif key in _UNSUPPORTED_FLAGS:
        same, lost = _UNSUPPORTED_FLAGS[key]
        if _parse(key, raw, "bool") == same:
            report.inert[key] = f"{raw!r} is axon's fixed behaviour"
        else:
            report.unsupported[key] = f"{raw!r}: {lost}"
    elif key in _DISABLE:
        if _parse(key, raw, "bool"):
            for path, value in _DISABLE[key].items():
                _set(data, path, value)
            report.mapped[key] = ", ".join(f"{p} = {json.dumps(v)}"
                                           for p, v in _DISABLE[key].items())
        else:
            report.inert[key] = f"{raw!r}: the context follows the schedule, as in axon"
    elif key == "only_one_channel":
        if _parse(key, raw, "bool"):
            data["input_channels"] = 1
            report.mapped[key] = "input_channels = 1"
        else:
            report.inert[key] = f"{raw!r}: all three colour bands, axon's default"
    elif key in _READOUT_KEYS:
        return
    elif key in _INERT:
        report.inert[key] = f"{raw!r}: {_INERT[key]}"
    else:
        report.unknown.append(key)


def _import_name(original: dict, data: dict, report: ImportReport, source: str) -> None:
    """The model's name: `new_name` when the file gives one, else `name`, else the
    file's stem."""
    names = {k: _parse(k, original[k], "str").strip() for k in ("new_name", "name")
             if k in original}
    chosen = next((k for k in ("new_name", "name") if names.get(k)), None)
    for k in names:
        if k == chosen:
            report.mapped[k] = "name"
        else:
            report.inert[k] = (f"{original[k]!r}: empty" if not names[k]
                               else f"{original[k]!r}: new_name gives the name")
    data["name"] = names[chosen] if chosen else (Path(source).stem or "pvm")


def _import_readout(original: dict, data: dict, report: ImportReport) -> None:
    """`enable_readout` (per layer), `readout_block_size` (per layer), `readout_depth`,
    `supervised_rate` and `supervised` (1: only the readout learns)."""
    enabled = False
    if "enable_readout" in original:
        flags = _per_layer("enable_readout", original["enable_readout"], "bool")
        enabled = any(flags)
        if enabled and not all(flags):
            report.unsupported["enable_readout"] = (
                f"{original['enable_readout']!r}: axon reads out every layer or none; "
                "every layer is read out")
        else:
            report.mapped["enable_readout"] = "readout" if enabled else "readout = null"
    supervised = "supervised" in original and _parse("supervised", original["supervised"],
                                                     "bool")
    if not enabled:
        for k in ("readout_block_size", "supervised_rate", "readout_depth"):
            if k in original:
                report.inert[k] = f"{original[k]!r}: the readout is disabled"
        if supervised:  # the original zeroes every predictor's rate
            for k in ("initial", "intermediate", "final"):
                _set(data, f"schedule.{k}_learning_rate", 0.0)
            report.mapped["supervised"] = ("schedule learning rates = 0 (only a readout "
                                           "would learn, and there is none)")
        elif "supervised" in original:
            report.inert["supervised"] = f"{original['supervised']!r}: the predictors learn"
        return
    readout: dict = {}
    if "supervised_rate" in original:
        readout["learning_rate"] = _parse("supervised_rate", original["supervised_rate"], "float")
        report.mapped["supervised_rate"] = "readout.learning_rate"
    if "readout_block_size" in original:
        sizes = _per_layer("readout_block_size", original["readout_block_size"], "int")
        readout["tile_size"] = sizes if len(sizes) > 1 else sizes[0]
        report.mapped["readout_block_size"] = "readout.tile_size"
    if "readout_depth" in original:
        depth = _parse("readout_depth", original["readout_depth"], "int")
        if depth == 1:
            report.inert["readout_depth"] = "1 is axon's fixed readout depth"
        else:
            report.unsupported["readout_depth"] = f"{depth}: axon's readout has one layer"
    if "supervised" in original:
        readout["supervised_only"] = supervised
        report.mapped["supervised"] = "readout.supervised_only"
    data["readout"] = readout


def import_file(path: str | Path) -> tuple[PVMConfig, ImportReport]:
    """Read one of the original's JSON model files."""
    return import_original(read_json(path, "original model file"), str(path))
