"""Layers for image tensors `(batch, bands, height, width)`, the functional graph
(`Input`, named nodes, `Model`) with shape inference, and the JSON network spec.

    from axon import nn as ann
    x = ann.Input((3, 32, 32), name="image")
    h = ann.Activation("relu")(ann.Conv(3, 16, 3, name="conv1")(x))
    y = ann.Dense(16, 10, name="logits")(ann.GlobalAvgPool()(h))
    model = ann.Model(x, y)
    model.summary()
    ann.save(model, "runs/net"); same = ann.load("runs/net")
"""

from axon.nn.activation import ACTIVATIONS, Activation, Softmax
from axon.nn.combine import Concat, Inception
from axon.nn.conv import Conv, LocallyConnected2d
from axon.nn.dense import Dense, Dropout, Flatten
from axon.nn.layer import GraphError, Input, Layer, Node, ShapeError
from axon.nn.model import Model
from axon.nn.norm import BatchNorm, LocalResponseNorm
from axon.nn.pool import AdaptivePool, GlobalAvgPool, Subsample
from axon.nn.spec import LAYER_TYPES, SPEC_VERSION, load, read_spec, register_layer, save
from axon.nn.summary import ModelSummary, count_parameters, format_summary, summary

__all__ = [
    "ACTIVATIONS", "Activation", "AdaptivePool", "BatchNorm", "Concat", "Conv", "Dense", "Dropout", "Flatten",
    "GlobalAvgPool", "GraphError", "Inception", "Input", "LAYER_TYPES", "Layer", "LocalResponseNorm",
    "LocallyConnected2d", "Model", "ModelSummary", "Node", "SPEC_VERSION", "ShapeError", "Softmax", "Subsample",
    "count_parameters",
    "format_summary", "load", "read_spec", "register_layer", "save", "summary",
]
