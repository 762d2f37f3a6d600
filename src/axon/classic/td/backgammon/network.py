"""The TD-Gammon value network and its checkpoint file.

A small sigmoid network, 198 inputs -> ``hidden`` sigmoid units -> 1 sigmoid output:
the probability that the player whose afterstate is encoded wins the game. Self-play
needs the gradient of that single output for one position at every move; it is
computed in closed form (``value_gradient``), which the tests check against autograd.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from axon.classic.td.backgammon.encoding import NUM_INPUTS
from axon.errors import CheckpointError, ConfigError


class TDGammonNet(nn.Module):
    """Value network: inputs (n, 198) -> win probabilities (n,).

    Args:
        hidden: number of sigmoid hidden units (Tesauro's first TD-Gammon used 40).
        seed: seed of the weight initialisation.
    """

    def __init__(self, hidden: int = 40, seed: int = 0):
        super().__init__()
        if not isinstance(hidden, int) or hidden < 1:
            raise ConfigError(f"hidden: {hidden!r}; expected a positive integer")
        self.hidden = hidden
        generator = torch.Generator().manual_seed(seed)
        self.fc1 = nn.Linear(NUM_INPUTS, hidden)
        self.fc2 = nn.Linear(hidden, 1)
        with torch.no_grad():
            for param in self.parameters():
                param.uniform_(-0.1, 0.1, generator=generator)

    def extra_repr(self) -> str:
        return f"inputs={NUM_INPUTS}, hidden={self.hidden}"

    def hidden_and_value(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Hidden activations (n, hidden) and values (n,) of inputs (n, 198)."""
        h = torch.sigmoid(torch.addmm(self.fc1.bias, x, self.fc1.weight.t()))
        v = torch.sigmoid(torch.addmv(self.fc2.bias, h, self.fc2.weight[0]))
        return h, v

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.hidden_and_value(x)[1]

    def value_gradient(
        self, x: torch.Tensor, h: torch.Tensor, v: torch.Tensor
    ) -> list[torch.Tensor]:
        """d value / d parameter for one input x (198,), with its hidden h (hidden,) and
        value v (scalar tensor); in the order of ``self.parameters()``."""
        dv = v * (1 - v)
        dh = dv * self.fc2.weight[0] * h * (1 - h)
        return [torch.outer(dh, x), dh, (dv * h).unsqueeze(0), dv.reshape(1)]


def save_net(net: TDGammonNet, path: str | Path, info: dict) -> Path:
    """Write the weights to a safetensors file atomically, with ``info`` (JSON-able:
    games trained, alpha, lambda, ...) in its metadata."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {name: p.detach().contiguous() for name, p in net.state_dict().items()}
    metadata = {"hidden": str(net.hidden), "info": json.dumps(info)}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a checkpoint is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_net(path: str | Path) -> tuple[TDGammonNet, dict]:
    """Read a network written by ``save_net``; returns it and its info dict."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such TD-Gammon checkpoint file")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(path))
        net = TDGammonNet(hidden=int(metadata["hidden"]))
        net.load_state_dict(tensors)
        info = json.loads(metadata.get("info", "{}"))
    except (SafetensorError, KeyError, ValueError, RuntimeError, OSError) as err:
        raise CheckpointError(f"{path}: not a TD-Gammon checkpoint ({err})") from None
    return net, info
