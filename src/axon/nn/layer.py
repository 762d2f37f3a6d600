"""The base of every axon layer, and the graph nodes layers are called on.

A `Layer` is an `nn.Module` that also knows, without running, the shape it gives
for the shapes it gets (`infer_shape`), its multiply-adds per sample
(`multiply_adds`) and the constructor arguments that rebuild it (`spec_args`).
Called on tensors it runs `forward`; called on `Node`s (from `Input`) it adds
itself to a graph and returns the node of its output, with the shape checked then.

Shapes here never include the batch: an image node has shape `(bands, height, width)`.
"""

from __future__ import annotations

import inspect
import re
from typing import Sequence

import torch
from torch import nn

from axon.errors import AxonError

Shape = tuple[int, ...]
_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


class ShapeError(AxonError):
    """A layer got an input shape it cannot take (raised while building a graph or running)."""


class GraphError(AxonError):
    """A graph is wired wrongly: a reused layer, a duplicate name, an unknown input."""


def check_name(name: str, what: str = "layer name") -> str:
    if not isinstance(name, str) or not _NAME_PATTERN.match(name):
        raise GraphError(
            f"{what}: {name!r} is not a valid name (expected letters, digits, '_' or '-', "
            "starting with a letter or '_')"
        )
    return name


def check_positive_int(owner: str, field: str, value, minimum: int = 1) -> int:
    """`value` as an int >= minimum, or a ValueError naming `owner.field`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{owner}: {field} must be an integer >= {minimum}, got {value!r}")
    return value


def as_pair(owner: str, field: str, value, minimum: int = 1) -> tuple[int, int]:
    """An int or a 2-sequence of ints as a (height, width) pair, validated."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"{owner}: {field} must be an int or (height, width), got {value!r}")
        return tuple(check_positive_int(owner, field, v, minimum) for v in value)  # type: ignore[return-value]
    v = check_positive_int(owner, field, value, minimum)
    return (v, v)


class Layer(nn.Module):
    """Base class: an nn.Module with a name, shape inference and a spec.

    Subclasses store each constructor argument under the same attribute name (so
    `spec_args` can read them back), override `infer_shape`, and override
    `multiply_adds` when they multiply. `arity` is the number of inputs (None: one or more).
    """

    arity: int | None = 1
    __jit_unused_properties__ = ["label"]  # error text only; torch.jit.script skips it

    def __init__(self, name: str | None = None):
        super().__init__()
        self.name = None if name is None else check_name(name)
        self._node = None  # the graph node this layer was applied to, if any

    # ---- description -------------------------------------------------------------
    @property
    def label(self) -> str:
        """How errors name this layer: `Conv 'conv_2'` (or just `Conv` before it has a name)."""
        kind = type(self).__name__
        return f"{kind} {self.name!r}" if self.name else kind

    def spec_args(self) -> dict:
        """Constructor arguments (except `name`) as plain JSON values."""
        args = {}
        for param in inspect.signature(type(self).__init__).parameters.values():
            if param.name in ("self", "name") or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            value = getattr(self, param.name)
            args[param.name] = list(value) if isinstance(value, tuple) else value
        return args

    # ---- shapes ------------------------------------------------------------------
    def infer_shape(self, *shapes: Shape) -> Shape:
        """Output shape (no batch) for these input shapes; raise ShapeError if they do not fit."""
        raise NotImplementedError(type(self).__name__)

    def multiply_adds(self, *shapes: Shape) -> int:
        """Multiply-adds per sample for these input shapes (0 for layers that do not multiply)."""
        return 0

    def shape_error(self, got: Shape, expected: str) -> ShapeError:
        return ShapeError(f"{self.label}: got input shape {tuple(got)}, expected {expected}")

    def expect_rank(self, shape: Shape, rank: int, what: str) -> None:
        if len(shape) != rank:
            raise self.shape_error(shape, what)

    # ---- calling -----------------------------------------------------------------
    def graph_call(self, graph: torch.fx.Graph, target: str, args: tuple) -> torch.fx.Node:
        """The node that calls this layer (submodule `target`) on `args` in generated code."""
        return graph.call_module(target, args)

    def __call__(self, *args, **kwargs):
        if len(args) == 1 and isinstance(args[0], (list, tuple)) and args[0] and all(
            isinstance(a, Node) for a in args[0]
        ):
            args = tuple(args[0])
        if args and any(isinstance(a, Node) for a in args):
            return _apply(self, args)
        return super().__call__(*args, **kwargs)


class Node:
    """The output of a layer (or an Input) in a graph being built: a name and a shape."""

    def __init__(self, layer: Layer | None, inputs: Sequence["Node"], shape: Shape, scope: "_Scope", name: str):
        self.layer = layer  # None for an Input
        self.inputs = tuple(inputs)
        self.shape = tuple(shape)
        self.scope = scope
        self.name = name
        scope.add(self)

    def __repr__(self) -> str:
        kind = "Input" if self.layer is None else type(self.layer).__name__
        return f"Node({self.name!r}, {kind}, shape={self.shape})"


class _Scope:
    """The names used in one connected graph under construction.

    Each Input starts a scope; applying a layer to nodes of several scopes merges them.
    Generated names are `<type>_<k>` counted per type; a generated name that collides on
    a merge is renamed, a given name that collides is an error.
    """

    def __init__(self):
        self.nodes: list[Node] = []
        self.used: set[str] = set()  # every node's name, kept with `nodes` (lookups are O(1))
        self.generated: set[str] = set()
        self.next_index: dict[str, int] = {}  # per kind: where the search for a free name starts
        self.merged_into: _Scope | None = None

    def root(self) -> "_Scope":
        scope = self
        while scope.merged_into is not None:
            scope = scope.merged_into
        return scope

    def names(self) -> set[str]:
        return self.used

    def add(self, node: Node) -> None:
        if node.name in self.used:
            raise GraphError(f"duplicate layer name {node.name!r}: names in a graph must be unique")
        self.nodes.append(node)
        self.used.add(node.name)

    def fresh_name(self, kind: str, avoid: set[str] = frozenset()) -> str:
        k = self.next_index.get(kind, 1)
        while f"{kind}_{k}" in self.used or f"{kind}_{k}" in avoid:
            k += 1
        self.next_index[kind] = k + 1
        name = f"{kind}_{k}"
        self.generated.add(name)
        return name

    def merge(self, other: "_Scope") -> None:
        theirs = set(other.used)
        for node in other.nodes:
            if node.name in self.used:
                if node.name not in other.generated:
                    raise GraphError(
                        f"duplicate layer name {node.name!r}: names in a graph must be unique"
                    )
                kind = node.name.rsplit("_", 1)[0]
                node.name = self.fresh_name(kind, avoid=theirs)
                if node.layer is not None:
                    node.layer.name = node.name
            elif node.name in other.generated:
                self.generated.add(node.name)
            self.nodes.append(node)
            self.used.add(node.name)
        other.nodes, other.used = [], set()
        other.merged_into = self


def Input(shape: Sequence[int], name: str | None = None) -> Node:
    """A graph input of `shape` without the batch, e.g. `(bands, height, width)`."""
    label = f"Input {name!r}" if name else "Input"
    if isinstance(shape, int):
        shape = (shape,)
    if not isinstance(shape, (list, tuple)) or not shape or any(
        isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape
    ):
        raise ShapeError(f"{label}: shape must be a non-empty sequence of sizes >= 1 (without the batch), "
                         f"got {shape!r}")
    scope = _Scope()
    node_name = check_name(name) if name is not None else scope.fresh_name("input")
    return Node(None, (), tuple(shape), scope, node_name)


def _apply(layer: Layer, args: tuple) -> Node:
    if not all(isinstance(a, Node) for a in args):
        raise GraphError(f"{layer.label}: call it on graph nodes only or on tensors only, not a mix")
    if layer._node is not None:
        raise GraphError(
            f"{layer.label} is already used in a graph (output {layer._node.name!r}); "
            "layers are not shared, create another one"
        )
    if layer.arity is not None and len(args) != layer.arity:
        raise GraphError(f"{layer.label}: takes {layer.arity} input(s), got {len(args)}")
    scope = args[0].scope.root()
    for node in args[1:]:
        other = node.scope.root()
        if other is not scope:
            scope.merge(other)
    if layer.name is None:
        layer.name = scope.fresh_name(type(layer).__name__.lower())
    elif layer.name in scope.names():
        raise GraphError(f"duplicate layer name {layer.name!r}: names in a graph must be unique")
    shape = layer.infer_shape(*[a.shape for a in args])
    node = Node(layer, args, shape, scope, layer.name)
    layer._node = node
    return node
