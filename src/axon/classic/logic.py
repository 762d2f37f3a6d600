"""Sigmoid neurons and the logic-gate networks of seed 002.

A layer is a weight matrix `Theta` of shape (s_out, 1 + s_in) whose first column multiplies
the bias unit x_0 = 1: `a_out = g(Theta [1; a_in])` with g the logistic sigmoid. The gates
use the seed's weights (AND -30,20,20; OR -10,20,20; NOT 10,-20; (NOT a) AND (NOT b)
10,-20,-20) and XNOR is built from them: a hidden layer computing `a AND b` and
`(NOT a) AND (NOT b)`, then OR."""

from __future__ import annotations

import itertools

import torch

from axon.errors import AxonError


def sigmoid_neuron(inputs: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """One sigmoid neuron h = g(theta_0 + sum_i theta_i x_i).

    inputs: (n_samples, k); theta: (1 + k,) with the bias weight first. Returns (n_samples,)."""
    theta = torch.as_tensor(theta, dtype=inputs.dtype)
    if theta.dim() != 1 or theta.numel() != inputs.shape[1] + 1:
        raise AxonError(
            f"theta: expected {inputs.shape[1] + 1} weights (bias first, then one per input), got shape {tuple(theta.shape)}"
        )
    return torch.sigmoid(theta[0] + inputs @ theta[1:])


class SigmoidNetwork:
    """A feed-forward network of sigmoid neurons given by its weight matrices.

    thetas: one matrix per layer, shape (s_{j+1}, 1 + s_j), bias column first."""

    def __init__(self, thetas):
        self.thetas = [torch.as_tensor(theta, dtype=torch.float64) for theta in thetas]
        if not self.thetas:
            raise AxonError("thetas: expected at least one layer's weight matrix, got none")
        for index, theta in enumerate(self.thetas):
            if theta.dim() != 2:
                raise AxonError(f"thetas[{index}]: expected a matrix (s_out, 1 + s_in), got shape {tuple(theta.shape)}")
            if index and theta.shape[1] != self.thetas[index - 1].shape[0] + 1:
                raise AxonError(
                    f"thetas[{index}]: expected {self.thetas[index - 1].shape[0] + 1} columns "
                    f"(bias + the {self.thetas[index - 1].shape[0]} units of layer {index}), got {theta.shape[1]}"
                )

    @property
    def n_inputs(self) -> int:
        return self.thetas[0].shape[1] - 1

    def pre_activations(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        """z of every layer, each (n_samples, s_{j+1}); inputs (n_samples, n_inputs)."""
        inputs = torch.as_tensor(inputs, dtype=torch.float64)
        if inputs.dim() != 2 or inputs.shape[1] != self.n_inputs:
            raise AxonError(f"inputs: expected shape (n_samples, {self.n_inputs}), got {tuple(inputs.shape)}")
        activation, zs = inputs, []
        for theta in self.thetas:
            z = theta[:, 0] + activation @ theta[:, 1:].T
            zs.append(z)
            activation = torch.sigmoid(z)
        return zs

    def __call__(self, inputs: torch.Tensor) -> torch.Tensor:
        """Output activations (n_samples, s_out) in (0, 1)."""
        return torch.sigmoid(self.pre_activations(inputs)[-1])


_AND = [[-30.0, 20.0, 20.0]]
_OR = [[-10.0, 20.0, 20.0]]
_NOT = [[10.0, -20.0]]
_NOR = [[10.0, -20.0, -20.0]]

GATES: dict[str, SigmoidNetwork] = {
    "AND": SigmoidNetwork([_AND]),
    "OR": SigmoidNetwork([_OR]),
    "NOT": SigmoidNetwork([_NOT]),
    "(NOT a) AND (NOT b)": SigmoidNetwork([_NOR]),
    "XNOR": SigmoidNetwork([_AND + _NOR, _OR]),
}


def gate(name: str) -> SigmoidNetwork:
    """The gate network called `name` (one of GATES)."""
    if name not in GATES:
        raise AxonError(f"gate: unknown gate {name!r}; expected one of {', '.join(GATES)}")
    return GATES[name]


def binary_inputs(n_inputs: int) -> torch.Tensor:
    """Every 0/1 input combination in truth-table order: (2**n_inputs, n_inputs)."""
    return torch.tensor(list(itertools.product((0.0, 1.0), repeat=n_inputs)), dtype=torch.float64)


def format_truth_table(name: str) -> str:
    """The truth table of gate `name` as the seed writes it: inputs, hidden activations
    a_i^(2) for multi-layer networks, and h(x) = g(z) with its rounded value."""
    network = gate(name)
    inputs = binary_inputs(network.n_inputs)
    zs = network.pre_activations(inputs)
    header = [f"x_{i + 1}" for i in range(network.n_inputs)]
    for layer, z in enumerate(zs[:-1]):
        header += [f"a_{unit + 1}^({layer + 2})" for unit in range(z.shape[1])]
    header.append("h(x)")
    rows = []
    for row in range(inputs.shape[0]):
        cells = [f"{int(v)}" for v in inputs[row]]
        for z in zs[:-1]:
            cells += [f"{float(torch.sigmoid(v)):.0f}" for v in z[row]]
        z_out = float(zs[-1][row, 0])
        cells.append(f"g({z_out:.4g}) ≈ {float(torch.sigmoid(torch.tensor(z_out))):.0f}")
        rows.append(cells)
    widths = [max(len(header[c]), *(len(r[c]) for r in rows)) for c in range(len(header))]
    line = lambda cells: " | ".join(cell.rjust(width) for cell, width in zip(cells, widths))  # noqa: E731
    return "\n".join([name, line(header), "-+-".join("-" * w for w in widths)] + [line(r) for r in rows])
