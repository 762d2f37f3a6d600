"""The sigmoid multilayer perceptron of the classic models (seed 002's network of sigmoid
neurons), built from axon.nn layers so the Trainer can train it: the XOR network and the
network a DBN is converted into."""

from __future__ import annotations

from typing import Sequence

from axon.nn import Activation, Dense, Input, Model


def sigmoid_mlp(n_inputs: int, hidden: Sequence[int], n_outputs: int) -> Model:
    """(N, n_inputs) -> Dense `dense1`, sigmoid, ..., Dense `denseK`, sigmoid -> Dense
    `logits` -> (N, n_outputs) logits. Hidden layer k (from 1) is named `dense{k}`."""
    x = inputs = Input((n_inputs,), name="input")
    width = n_inputs
    for k, size in enumerate(hidden, start=1):
        x = Activation("sigmoid", name=f"sigmoid{k}")(Dense(width, size, name=f"dense{k}")(x))
        width = size
    return Model(inputs, Dense(width, n_outputs, name="logits")(x))
