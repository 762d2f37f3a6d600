"""The Rescorla-Wagner rule: v = w . u, delta = r - v, w <- w + eps delta u.

Trials are sequential; every update is vectorised over the stimuli and over any
leading batch dimensions (independent runs, conditions).
"""

from __future__ import annotations

import torch

from axon.classic.td.params import check_rate


def _as_tensor(name: str, value, ndim: int) -> torch.Tensor:
    tensor = torch.as_tensor(value, dtype=torch.float64)
    if tensor.dim() < ndim:
        raise ValueError(f"{name}: shape {tuple(tensor.shape)}; expected at least {ndim} dimensions")
    return tensor


class RescorlaWagner:
    """Trial-level associative learning.

    Args:
        eps: learning rate epsilon in (0, 1].

    After ``fit``: ``w_`` (..., stimuli) the final weights, ``history_``
    (..., trials + 1, stimuli) the weights before each trial and after the last,
    ``deltas_`` (..., trials) the prediction errors.
    """

    def __init__(self, eps: float = 0.1):
        self.eps = check_rate("eps", eps)

    def fit(self, u, r, w0=None) -> "RescorlaWagner":
        """Run the trials in order: u (..., trials, stimuli) the stimulus indicators,
        r (..., trials) the rewards; w0 (..., stimuli) the starting weights (zeros)."""
        u = _as_tensor("u", u, 2)
        r = _as_tensor("r", r, 1)
        if r.shape != u.shape[:-1]:
            raise ValueError(
                f"r: shape {tuple(r.shape)}; expected {tuple(u.shape[:-1])} to match u "
                f"{tuple(u.shape)} (..., trials, stimuli)"
            )
        w = torch.zeros(u.shape[:-2] + u.shape[-1:], dtype=torch.float64)
        if w0 is not None:
            w = w + torch.as_tensor(w0, dtype=torch.float64)
        history, deltas = [w], []
        for trial in range(u.shape[-2]):
            ut = u[..., trial, :]
            delta = r[..., trial] - (w * ut).sum(-1)
            w = w + self.eps * delta.unsqueeze(-1) * ut
            history.append(w)
            deltas.append(delta)
        self.w_ = w
        self.history_ = torch.stack(history, dim=-2)
        self.deltas_ = torch.stack(deltas, dim=-1)
        return self

    def predict(self, u) -> torch.Tensor:
        """The expected reward v = w . u for stimuli u (..., stimuli)."""
        return (torch.as_tensor(u, dtype=torch.float64) * self.w_).sum(-1)
