"""An MLP that learns XOR by backpropagation, trained with axon's Trainer.

XOR is the function a single perceptron cannot represent (its classes are not linearly
separable); a hidden layer of sigmoid neurons makes it learnable, as seed 002 shows by
building XNOR by hand from AND, (NOT a) AND (NOT b) and OR."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from axon import Trainer
from axon.classic._checks import check_positive
from axon.classic.logic import binary_inputs
from axon.classic.mlp import sigmoid_mlp


def xor_data() -> tuple[torch.Tensor, torch.Tensor]:
    """The XOR truth table: inputs (4, 2) float32 and targets (4,) int64."""
    inputs = binary_inputs(2).float()
    return inputs, (inputs[:, 0] != inputs[:, 1]).long()


@dataclass
class XorResult:
    """The trained model, its training history and P(x1 XOR x2 = 1) for each input row."""

    model: torch.nn.Module
    history: list[dict]
    inputs: torch.Tensor
    probabilities: torch.Tensor

    @property
    def accuracy(self) -> float:
        targets = (self.inputs[:, 0] != self.inputs[:, 1]).float()
        return float(((self.probabilities > 0.5).float() == targets).float().mean())

    def format_table(self) -> str:
        lines = ["x_1 | x_2 | P(XOR = 1) | prediction", "----+-----+------------+-----------"]
        for (a, b), p in zip(self.inputs.tolist(), self.probabilities.tolist()):
            lines.append(f"{int(a):>3} | {int(b):>3} | {p:>10.4f} | {int(p > 0.5):>10}")
        return "\n".join(lines)


def train_xor(hidden: int = 4, epochs: int = 300, lr: float = 0.05, seed: int = 0, device: str = "cpu",
              progress: bool = False) -> XorResult:
    """Train a 2-`hidden`-2 sigmoid MLP on XOR with cross-entropy, full
    batch, AdamW, `epochs` steps."""
    check_positive(hidden, "hidden", integer=True)
    check_positive(epochs, "epochs", integer=True)
    torch.manual_seed(seed)
    model = sigmoid_mlp(2, (hidden,), 2)
    inputs, targets = xor_data()
    trainer = Trainer(model, epochs=epochs, batch_size=4, lr=lr, optimizer="adamw", schedule="constant",
                      loss="cross_entropy", seed=seed, device=device, progress=progress,
                      data_wait_warning=None)  # four in-memory rows: loading is not a bottleneck
    history = trainer.fit((inputs, targets))
    model.eval()
    with torch.no_grad():
        probabilities = torch.softmax(model(inputs.to(trainer.device)), dim=1)[:, 1].cpu()
    return XorResult(model=model, history=history, inputs=inputs, probabilities=probabilities)
