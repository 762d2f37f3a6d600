"""A plain per-unit PVM: one unit = one small MLP, stepped in a Python loop over units,
in float64 NumPy. It is the reference the batched engine is tested against and the
per-unit baseline of the scaling benchmark; it is written for clarity, not speed.

It follows the same conventions as `axon.pvm.engine` (see there): at step t each unit
first learns from the error of the prediction it made at t-1, then reads its new input
and predicts `x(t+1)` (the output itself, or with `prediction: "change"` the signal plus
the predicted change; with `input_norm`, the signal blocks of the input are standardised
by their running mean and variance, written out here as the textbook update). Context is
the previous step's hidden states of the unit's sources (no padding). With
`step: "pipelined"` (the original's timing) a unit above layer 0 reads its signal from
the hidden states the layer below had at the end of the previous step, not from those
it has just computed.
"""

from __future__ import annotations

import numpy as np

from axon.pvm.config import PVMConfig
from axon.pvm.topology import LATERAL, build_topology


def _act(x: np.ndarray, kind: str) -> np.ndarray:
    if kind == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    return x / (2 * (np.abs(x) + 1)) + 0.5


def _slope(y: np.ndarray, kind: str) -> np.ndarray:
    if kind == "sigmoid":
        return y * (1 - y)
    return 0.5 * (1 - 2 * np.abs(y - 0.5)) ** 2


class ReferenceUnit:
    """One PVM unit: `w1 (D, H)`, `w2 (H + 1, S)` and its running state."""

    def __init__(self, w1: np.ndarray, w2: np.ndarray, sources: list[tuple[int, int]],
                 dtype=np.float64):
        self.w1, self.w2 = w1.astype(dtype), w2.astype(dtype)
        self.m1, self.m2 = np.zeros_like(self.w1), np.zeros_like(self.w2)
        self.sources = sources
        s = w2.shape[1]
        z = lambda n: np.zeros(n, dtype)  # noqa: E731
        self.prev_signal, self.prev2, self.integral = z(s), z(s), z(s)
        self.pred = np.full(s, 0.5, dtype)
        self.out = np.full(s, 0.5, dtype)  # the raw output (= pred in signal mode)
        self.x_in = z(w1.shape[0])
        self.hidden = z(w1.shape[1])
        self.norm_mean = self.norm_var = None  # running statistics of the signal blocks


class ReferencePVM:
    """The per-unit PVM. `weights[l][i] = (w1, w2)` gives unit i of layer l its starting
    weights (for instance `PVMEngine.unit_weights`); otherwise they are drawn uniform in
    +-1/sqrt(fan_in) from `cfg.seed`. `dtype` is float64 for tests, float32 for the
    benchmark baseline."""

    def __init__(self, cfg: PVMConfig, weights: list[list[tuple]] | None = None,
                 dtype=np.float64):
        self.cfg, self.dtype = cfg, dtype
        self.topology = build_topology(cfg)
        rng = np.random.default_rng(cfg.seed)
        f = cfg.features
        blocks = 1 + f.derivative + f.integral + f.error + f.t_minus_2
        H = cfg.hidden_size
        self.layers: list[list[ReferenceUnit]] = []
        for l, topo in enumerate(self.topology):
            units = []
            for i in range(topo.units):
                if weights is not None:
                    w1, w2 = (np.asarray(w) for w in weights[l][i])
                else:
                    d = blocks * topo.signal_size + len(topo.context[i]) * H + 1
                    w1 = rng.uniform(-1, 1, (d, H)) / np.sqrt(d)
                    w2 = rng.uniform(-1, 1, (H + 1, topo.signal_size)) / np.sqrt(H + 1)
                units.append(ReferenceUnit(w1, w2, topo.context[i], dtype))
            self.layers.append(units)
        total = sum(t.units for t in self.topology)
        self.hidden_prev = np.zeros((total, H), dtype)
        self.step_count = 0
        self.err_sq = np.zeros(len(self.topology))

    def _patch(self, frame: np.ndarray, i: int) -> np.ndarray:
        b, g = self.cfg.input_block_size, self.cfg.layer_shapes[0]
        r, c = divmod(i, g)
        return frame[:, r * b:(r + 1) * b, c * b:(c + 1) * b].reshape(-1)

    def step(self, frame: np.ndarray) -> None:
        """One frame `(bands, H, W)` in [0, 1]."""
        cfg, kind, f = self.cfg, self.cfg.activation, self.cfg.features
        change, pipelined = cfg.prediction == "change", cfg.step == "pipelined"
        sched = cfg.schedule
        lateral_on = self.step_count >= sched.enable_lateral_at
        feedback_on = self.step_count >= sched.enable_feedback_at
        hidden_now = np.zeros_like(self.hidden_prev)
        for l, (topo, units) in enumerate(zip(self.topology, self.layers)):
            lr = sched.learning_rate(l, self.step_count)
            for i, u in enumerate(units):
                if l == 0:
                    x = self._patch(frame, i)
                else:  # pipelined: the layer below's states of the previous step
                    below = self.topology[l - 1].offset
                    states = self.hidden_prev if pipelined else hidden_now
                    x = np.concatenate([states[below + k] for k in topo.children[i]])
                if self.step_count > 0:
                    err = x - u.pred
                    self.err_sq[l] += np.sum(err * err)
                    if lr > 0:
                        d_out = err * _slope(u.out, kind) * (2 if change else 1)
                        d_hid = (u.w2[:-1] @ d_out) * _slope(u.hidden, kind)
                        h1 = np.append(u.hidden, u.hidden.dtype.type(1))
                        u.m2 = cfg.momentum * u.m2 + lr * np.outer(h1, d_out)
                        u.w2 = u.w2 + u.m2
                        u.m1 = cfg.momentum * u.m1 + lr * np.outer(u.x_in, d_hid)
                        u.w1 = u.w1 + u.m1
                u.integral = cfg.tau * u.integral + (1 - cfg.tau) * x
                parts = [x]
                if f.derivative:
                    parts.append(0.5 * (x - u.prev_signal) + 0.5)
                if f.integral:
                    parts.append(u.integral)
                if f.error:
                    parts.append(0.5 * (x - u.pred) + 0.5 if self.step_count > 0
                                 else np.full_like(x, 0.5))
                if f.t_minus_2:
                    parts.append(u.prev2)
                if cfg.input_norm is not None:
                    signal = np.concatenate(parts)
                    if u.norm_mean is None:
                        u.norm_mean, u.norm_var = np.zeros_like(signal), np.zeros_like(signal)
                    w = max(1 / (self.step_count + 1), 1 - cfg.input_norm.decay)
                    old = u.norm_mean
                    u.norm_mean = (1 - w) * old + w * signal
                    u.norm_var = (1 - w) * u.norm_var + w * (1 - w) * (signal - old) ** 2
                    parts = [(signal - u.norm_mean) / np.sqrt(u.norm_var + cfg.input_norm.eps)]
                for gid, group in u.sources:
                    on = lateral_on if group == LATERAL else feedback_on
                    parts.append(self.hidden_prev[gid] * float(on))
                parts.append(np.ones(1, self.dtype))
                u.x_in = np.concatenate(parts)
                u.prev2, u.prev_signal = u.prev_signal, x
                u.hidden = _act(u.x_in @ u.w1, kind)
                u.out = _act(np.append(u.hidden, u.hidden.dtype.type(1)) @ u.w2, kind)
                u.pred = np.clip(x + 2 * (u.out - 0.5), 0, 1) if change else u.out
                hidden_now[topo.offset + i] = u.hidden
        self.hidden_prev = hidden_now
        self.step_count += 1
