"""The JSON network spec, and saving/loading a model as spec (JSON) + weights (safetensors).

A spec (version 1) is:

    {"version": 1,
     "inputs": ["image"], "outputs": ["logits"],
     "nodes": [{"name": "image", "type": "Input", "args": {"shape": [1, 8, 8]}, "inputs": []},
               {"name": "conv1", "type": "Conv", "args": {"in_bands": 1, ...}, "inputs": ["image"]},
               ...]}

Node types are the layer classes in LAYER_TYPES (plus "Input"); `args` are the class's
constructor arguments. Validation names the node for an unknown type, an unknown or
missing input, a cycle, a duplicate name, bad arguments and shape mismatches.
"""

from __future__ import annotations

import inspect
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, ValidationError
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from axon.errors import CheckpointError, ConfigError
from axon.memory import check_fits, format_bytes
from axon.nn.activation import Activation, Softmax
from axon.nn.combine import Concat, Inception
from axon.nn.conv import Conv, LocallyConnected2d
from axon.nn.dense import Dense, Dropout, Flatten
from axon.nn.layer import Input, Layer
from axon.nn.model import Model
from axon.nn.norm import BatchNorm, LocalResponseNorm
from axon.nn.pool import AdaptivePool, GlobalAvgPool, Subsample

SPEC_VERSION = 1
SPEC_FILE = "network.json"
WEIGHTS_FILE = "weights.safetensors"

LAYER_TYPES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (Conv, LocallyConnected2d, Concat, Inception, Subsample, AdaptivePool, GlobalAvgPool, Dense,
                Flatten, Dropout, Activation, Softmax, BatchNorm, LocalResponseNorm)
}


def register_layer(cls: type[Layer]) -> type[Layer]:
    """Make a Layer subclass usable in specs under its class name (usable as a decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"register_layer: expected a Layer subclass, got {cls!r}")
    if cls.__name__ in LAYER_TYPES or cls.__name__ == "Input":
        raise ValueError(f"register_layer: a layer type named {cls.__name__!r} is already registered")
    LAYER_TYPES[cls.__name__] = cls
    return cls


class NodeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    type: str
    args: dict[str, Any] = {}
    inputs: list[str]


class NetworkSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int
    inputs: list[str]
    outputs: list[str]
    nodes: list[NodeSpec]


def model_to_spec(model: Model) -> dict:
    nodes = [{"name": n, "type": "Input", "args": {"shape": list(model.shapes[n])}, "inputs": []}
             for n in model.input_names]
    for name, inputs in model.wiring:
        layer = model.layers[name]
        nodes.append({"name": name, "type": type(layer).__name__, "args": layer.spec_args(), "inputs": list(inputs)})
    return {"version": SPEC_VERSION, "inputs": list(model.input_names), "outputs": list(model.output_names),
            "nodes": nodes}


def _parse(spec: Any) -> NetworkSpec:
    if not isinstance(spec, dict):
        raise ConfigError(f"network spec: expected a JSON object, got {type(spec).__name__}")
    version = spec.get("version")
    if version != SPEC_VERSION:
        raise ConfigError(f"network spec: version {version!r} is not supported (this axon reads version {SPEC_VERSION})")
    try:
        return NetworkSpec.model_validate(spec)
    except ValidationError as err:
        first = err.errors()[0]
        loc = first["loc"]
        where = "network spec"
        if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int):
            raw = spec["nodes"][loc[1]]
            name = raw.get("name") if isinstance(raw, dict) else None
            where = f"network spec node {name!r}" if name else f"network spec node #{loc[1]}"
            loc = loc[2:]
        field = ".".join(str(p) for p in loc) or "(node)"
        raise ConfigError(f"{where}: {field}: {first['msg']}") from None


def _check_graph(spec: NetworkSpec) -> list[NodeSpec]:
    """Nodes in an order that runs; every name, type and reference checked."""
    by_name: dict[str, NodeSpec] = {}
    for node in spec.nodes:
        if node.name in by_name:
            raise ConfigError(f"network spec node {node.name!r}: duplicate name (node names must be unique)")
        if node.type != "Input" and node.type not in LAYER_TYPES:
            raise ConfigError(f"network spec node {node.name!r}: unknown layer type {node.type!r} "
                              f"(known: Input, {', '.join(sorted(LAYER_TYPES))})")
        if node.type == "Input" and node.inputs:
            raise ConfigError(f"network spec node {node.name!r}: an Input takes no inputs, got {node.inputs}")
        if node.type != "Input" and not node.inputs:
            raise ConfigError(f"network spec node {node.name!r}: missing inputs (a {node.type} needs at least one)")
        by_name[node.name] = node
    for node in spec.nodes:
        for i in node.inputs:
            if i not in by_name:
                raise ConfigError(f"network spec node {node.name!r}: unknown input {i!r} (no node has that name)")
    for field, names in (("inputs", spec.inputs), ("outputs", spec.outputs)):
        if not names:
            raise ConfigError(f"network spec: {field} is empty; expected at least one node name")
        for n in names:
            if n not in by_name:
                raise ConfigError(f"network spec: {field} names {n!r}, but no node has that name")
    for n in spec.inputs:
        if by_name[n].type != "Input":
            raise ConfigError(f"network spec: inputs names {n!r}, a {by_name[n].type} node; expected an Input node")
    order: list[NodeSpec] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in spec.nodes:
        stack = [(start.name, iter(start.inputs))]
        if state.get(start.name):
            continue
        state[start.name] = 1
        path = [start.name]
        while stack:
            name, pending = stack[-1]
            nxt = next(pending, None)
            if nxt is None:
                stack.pop()
                path.pop()
                state[name] = 2
                order.append(by_name[name])
            elif state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt]
                raise ConfigError(f"network spec node {nxt!r}: is part of a cycle {' -> '.join(reversed(cycle))}")
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(by_name[nxt].inputs)))
    return order


def _build_layer(node: NodeSpec) -> Layer:
    cls = LAYER_TYPES[node.type]
    params = inspect.signature(cls.__init__).parameters
    for arg in node.args:
        if arg not in params or arg in ("self", "name"):
            allowed = [p for p in params if p not in ("self", "name")]
            raise ConfigError(f"network spec node {node.name!r}: {node.type} takes no argument {arg!r} "
                              f"(it takes: {', '.join(allowed) or 'none'})")
    try:
        return cls(**node.args, name=node.name)
    except (TypeError, ValueError, RuntimeError, OverflowError, MemoryError) as err:  # torch: sizes it cannot make
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(f"network spec node {node.name!r}: bad arguments for {node.type}: {detail}") from None


def model_from_spec(spec: dict) -> Model:
    """The model a spec describes (fresh weights). It is first built on the meta device,
    where nothing is allocated, so a model larger than the free memory is refused,
    naming its largest layer and the bytes, before any weight exists."""
    parsed = _parse(spec)
    order = _check_graph(parsed)
    with torch.device("meta"):
        sizes = {name: _tensor_bytes(layer) for name, layer in _build(parsed, order).layers.items()}
    if sizes:
        largest = max(sizes, key=sizes.get)
        check_fits(sum(sizes.values()), f"network spec: the model's weights (largest: node {largest!r}, "
                                        f"{format_bytes(sizes[largest])})")
    return _build(parsed, order)


def _tensor_bytes(module: torch.nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in [*module.parameters(), *module.buffers()])


def _build(parsed: NetworkSpec, order: list[NodeSpec]) -> Model:
    nodes = {}
    for node in order:
        try:
            if node.type == "Input":
                unknown = set(node.args) - {"shape"}
                if unknown or "shape" not in node.args:
                    raise ConfigError(f"network spec node {node.name!r}: an Input takes exactly the argument "
                                      f"'shape', got {sorted(node.args)}")
                nodes[node.name] = Input(node.args["shape"], name=node.name)
            else:
                nodes[node.name] = _build_layer(node)(*[nodes[i] for i in node.inputs])
        except ConfigError:
            raise
        except ValueError as err:  # ShapeError, GraphError and bad Input shapes
            raise ConfigError(f"network spec node {node.name!r}: {err}") from None
    try:
        return Model([nodes[n] for n in parsed.inputs], [nodes[n] for n in parsed.outputs])
    except ValueError as err:
        raise ConfigError(f"network spec: {err}") from None


# ---- files -------------------------------------------------------------------------
def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save(model: Model, path: str | os.PathLike) -> Path:
    """Write `model` to the folder `path`: network.json (spec) and weights.safetensors
    (parameters and buffers). Each file is written to a temp file then renamed."""
    if not isinstance(model, Model):
        raise TypeError(f"axon.nn.save: expected an axon.nn.Model, got {type(model).__name__}")
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"axon.nn.save: {folder} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    weights = save_safetensors_bytes(tensors, metadata={"format": "pt", "axon_spec_version": str(SPEC_VERSION)})
    _write_atomic(folder / WEIGHTS_FILE, weights)
    _write_atomic(folder / SPEC_FILE, (json.dumps(model.to_spec(), indent=1) + "\n").encode())
    return folder


def read_spec(path: str | os.PathLike) -> dict:
    """The spec dict in a JSON file (a network.json, or a folder holding one)."""
    file = Path(path)
    if file.is_dir():
        file = file / SPEC_FILE
    if not file.is_file():
        raise ConfigError(f"{file}: no such network spec file")
    try:
        return json.loads(file.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ConfigError(f"{file}: not UTF-8 text (byte {err.start}); expected a JSON network spec") from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"{file}: not valid JSON (truncated or corrupt?): {err.msg} at line {err.lineno} "
                          f"column {err.colno}") from None
    except RecursionError:
        raise ConfigError(f"{file}: JSON nested too deeply") from None


def load(path: str | os.PathLike) -> Model:
    """The model saved in folder `path` by `save`, with its weights (in training mode)."""
    folder = Path(path)
    try:
        model = Model.from_spec(read_spec(folder))
    except ConfigError as err:
        raise ConfigError(f"{folder / SPEC_FILE}: {err}") from None
    weights_file = folder / WEIGHTS_FILE
    if not weights_file.is_file():
        raise CheckpointError(f"{weights_file}: no such weights file")
    try:
        tensors = load_safetensors_bytes(weights_file.read_bytes())
    except (SafetensorError, ValueError) as err:
        raise CheckpointError(f"{weights_file}: not a readable safetensors file (truncated?): {err}") from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{weights_file}: weights do not fit the spec: missing {missing[:5]}, "
                              f"unexpected {unexpected[:5]}")
    for key, value in ((k, tensors[k]) for k in expected):  # in the model's order
        if value.shape != expected[key].shape:
            raise CheckpointError(f"{weights_file}: {key} has shape {tuple(value.shape)}, the spec needs "
                                  f"{tuple(expected[key].shape)}")
    model.load_state_dict(tensors)
    return model
