"""The classic learning systems, as scikit-learn-compatible estimators computing with
PyTorch: perceptrons, sigmoid neurons and logic-gate networks, the voting digit recogniser,
Hopfield networks (classical and modern), the Boltzmann machine, RBMs and DBNs. The
temporal-difference learners live in axon.classic.td.

Modules are imported on first use, so `import axon.classic` stays light."""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Perceptron": "perceptron",
    "VotingRecognizer": "perceptron",
    "SigmoidNetwork": "logic",
    "sigmoid_neuron": "logic",
    "GATES": "logic",
    "format_truth_table": "logic",
    "HopfieldNetwork": "hopfield",
    "capacity_curve": "capacity",
    "ags_overlap": "capacity",
    "ModernHopfield": "modern_hopfield",
    "retrieval_experiment": "modern_hopfield",
    "BoltzmannMachine": "boltzmann",
    "bars_and_stripes": "boltzmann",
    "RBM": "rbm",
    "DBN": "dbn",
    "train_xor": "xor",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"axon.classic.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'axon.classic' has no attribute {name!r}")
