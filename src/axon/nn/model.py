"""`Model`: a graph of named layers, built from `Input` nodes, run as an nn.Module.

    x = Input((1, 8, 8), name="image")
    h = Conv(1, 8, 3, name="conv")(x)
    y = Dense(8 * 8 * 8, 10, name="logits")(Flatten()(h))
    model = Model(x, y)            # model(images) -> logits
    model.activations(images, names=["conv"])["conv"]   # (N, 8, 8, 8)

Several inputs and outputs are allowed (pass lists); the model is then called with the
inputs in order and returns a tuple of outputs.

Shapes are inferred for the input shapes given to `Input`. Inputs of other shapes are
accepted when every layer can take them (a fully convolutional graph takes other image
sizes; GoogLeNet's global and adaptive pools let a 224x224 build take 64x64): the graph's
shapes are inferred again for them before any data flows, and a ShapeError names the
first layer that cannot take them.
"""

from __future__ import annotations

import sys
from typing import Sequence

import torch
from torch import nn

from axon.nn.layer import GraphError, Layer, Node, Shape, ShapeError


def _as_nodes(what: str, nodes) -> list[Node]:
    nodes = list(nodes) if isinstance(nodes, (list, tuple)) else [nodes]
    if not nodes:
        raise GraphError(f"Model {what}: expected at least one node, got none")
    for node in nodes:
        if not isinstance(node, Node):
            raise GraphError(f"Model {what}: expected graph nodes (from Input or a layer call), got {node!r}")
    return nodes


class Model(nn.Module):
    """A graph of named layers from `inputs` to `outputs` (nodes, or lists of nodes).

    Attributes: `input_names`, `output_names`, `shapes` (name -> shape without the
    batch, for every node) and `layers` (name -> Layer, in an order that runs).
    """

    def __init__(self, inputs: Node | Sequence[Node], outputs: Node | Sequence[Node]):
        super().__init__()
        inputs = _as_nodes("inputs", inputs)
        outputs = _as_nodes("outputs", outputs)
        for node in inputs:
            if node.layer is not None:
                raise GraphError(f"Model inputs: {node.name!r} is a layer's output, not an Input")
        if len({id(n) for n in inputs}) != len(inputs):
            raise GraphError("Model inputs: the same Input is listed twice")
        order = self._order(inputs, outputs)
        self.input_names = [n.name for n in inputs]
        self.output_names = [n.name for n in outputs]
        self.shapes: dict[str, Shape] = {n.name: n.shape for n in inputs}
        self.layers = nn.ModuleDict()
        self._wiring: list[tuple[str, tuple[str, ...]]] = []
        for node in order:
            try:
                self.layers[node.name] = node.layer
            except KeyError as err:
                raise GraphError(f"layer name {node.name!r} is reserved by nn.Module; choose another") from err
            self.shapes[node.name] = node.shape
            self._wiring.append((node.name, tuple(i.name for i in node.inputs)))
        self._built_for = tuple(self.shapes[n] for n in self.input_names)
        self._also_fits: set[tuple[Shape, ...]] = set()  # other input shapes found to fit the graph

    @staticmethod
    def _order(inputs: list[Node], outputs: list[Node]) -> list[Node]:
        """The layer nodes the outputs need, each after its inputs; every Input reached must be listed."""
        listed = {id(n) for n in inputs}
        order: list[Node] = []
        seen: set[int] = set()
        stack: list[tuple[Node, bool]] = [(n, False) for n in reversed(outputs)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            if node.layer is None:
                if id(node) not in listed:
                    raise GraphError(
                        f"Model: the outputs depend on Input {node.name!r}, which is not among the inputs "
                        f"{[n.name for n in inputs]}"
                    )
                continue
            stack.append((node, True))
            stack.extend((i, False) for i in reversed(node.inputs))
        return order

    # ---- running -----------------------------------------------------------------
    def _check_inputs(self, tensors: tuple[torch.Tensor, ...]) -> None:
        if len(tensors) != len(self.input_names):
            raise ShapeError(f"Model: expected {len(self.input_names)} input(s) {self.input_names}, got {len(tensors)}")
        for name, t in zip(self.input_names, tensors):
            if not isinstance(t, torch.Tensor):
                raise ShapeError(f"Model input {name!r}: expected a tensor, got {type(t).__name__}")
        got = tuple(tuple(t.shape[1:]) for t in tensors)
        if got == self._built_for or got in self._also_fits:
            return
        try:
            self.shapes_for(*got)
        except ShapeError as err:
            inputs = ", ".join(f"{n!r} {tuple(t.shape)}" for n, t in zip(self.input_names, tensors))
            built = ", ".join(f"(batch, {', '.join(map(str, s))})" for s in self._built_for)
            raise ShapeError(f"Model input {inputs} does not fit the graph (expected {built}, or a size every "
                             f"layer takes): {err}") from None
        self._also_fits.add(got)

    def shapes_for(self, *input_shapes) -> dict[str, Shape]:
        """Every node's shape (no batch) for inputs of these shapes, e.g. another image size;
        a ShapeError names the first layer that cannot take them."""
        if len(input_shapes) != len(self.input_names):
            raise ShapeError(f"Model: expected {len(self.input_names)} input shape(s), got {len(input_shapes)}")
        shapes = {n: tuple(s) for n, s in zip(self.input_names, input_shapes)}
        for name, inputs in self._wiring:
            shapes[name] = self.layers[name].infer_shape(*[shapes[i] for i in inputs])
        return shapes

    def _run(self, tensors: tuple[torch.Tensor, ...], wanted: Sequence[str]) -> dict[str, torch.Tensor]:
        self._check_inputs(tensors)
        values = dict(zip(self.input_names, tensors))
        needed = self._ancestors(wanted)
        for name, input_names in self._wiring:
            if name in needed:
                values[name] = self.layers[name](*[values[i] for i in input_names])
        return values

    def _ancestors(self, wanted: Sequence[str]) -> set[str]:
        wiring = dict(self._wiring)
        needed: set[str] = set()
        stack = list(wanted)
        while stack:
            name = stack.pop()
            if name in needed:
                continue
            needed.add(name)
            stack.extend(wiring.get(name, ()))
        return needed

    def forward(self, *inputs: torch.Tensor):
        """Inputs in the order of `input_names`; one output tensor, or a tuple of them."""
        values = self._run(inputs, self.output_names)
        outs = tuple(values[n] for n in self.output_names)
        return outs[0] if len(outs) == 1 else outs

    def graph_module(self) -> torch.fx.GraphModule:
        """The graph as generated code (torch.fx) with one named argument per input and
        the layers called directly, sharing this model's layers and weights. It has no
        dynamic dispatch and no variable arguments, so torch.jit.script compiles it and
        exporters trace it with per-input dynamic shapes (`{"image": {0: batch}}`)."""
        graph = torch.fx.Graph()
        values = {name: graph.placeholder(name) for name in self.input_names}
        for name, input_names in self._wiring:
            args = tuple(values[i] for i in input_names)
            values[name] = self.layers[name].graph_call(graph, f"layers.{name}", args)
        outputs = [values[name] for name in self.output_names]
        graph.output(outputs[0] if len(outputs) == 1 else tuple(outputs))
        return torch.fx.GraphModule(self, graph, class_name=f"{type(self).__name__}Graph")

    def __prepare_scriptable__(self) -> torch.fx.GraphModule:
        """torch.jit.script(model) compiles `graph_module()` (forward(*inputs) cannot be scripted)."""
        return self.graph_module()

    def activations(self, *inputs: torch.Tensor, names: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
        """Run the graph and return the named nodes' outputs (every node's when `names` is None)."""
        if names is None:
            names = list(self.shapes)
        for name in names:
            if name not in self.shapes:
                raise GraphError(f"Model.activations: no layer named {name!r} (known: {', '.join(self.shapes)})")
        values = self._run(inputs, names)
        return {n: values[n] for n in names}

    def layer(self, name: str) -> Layer:
        """The layer called `name`."""
        if name not in self.layers:
            raise GraphError(f"Model.layer: no layer named {name!r} (known: {', '.join(self.layers)})")
        return self.layers[name]

    @property
    def wiring(self) -> list[tuple[str, tuple[str, ...]]]:
        """(layer name, names of its inputs) for every layer, each after its inputs."""
        return list(self._wiring)

    # ---- description -------------------------------------------------------------
    def multiply_adds(self, *input_shapes) -> int:
        """Multiply-adds per sample of the whole graph (for other input shapes if given)."""
        shapes = self.shapes_for(*input_shapes) if input_shapes else self.shapes
        return sum(self.layers[name].multiply_adds(*[shapes[i] for i in inputs]) for name, inputs in self._wiring)

    def summary(self, file=None) -> None:
        """Print a table of layers (name, type, output shape, parameters, multiply-adds) with totals."""
        from axon.nn.summary import format_summary

        print(format_summary(self), file=file or sys.stdout)

    def to_spec(self) -> dict:
        """The architecture as a plain JSON-able dict (see docs/nn.md for the schema)."""
        from axon.nn.spec import model_to_spec

        return model_to_spec(self)

    @classmethod
    def from_spec(cls, spec: dict) -> "Model":
        """Rebuild a model (fresh weights) from `to_spec()`'s dict; validated first."""
        from axon.nn.spec import model_from_spec

        return model_from_spec(spec)

    def extra_repr(self) -> str:
        return f"inputs={self.input_names}, outputs={self.output_names}"
