"""The batched PVM engine: every unit of a layer is computed together with batched
tensor operations (no Python loop over units), on CPU or GPU.

A unit is a 3-layer perceptron `input (D) -> hidden (H) -> output (S)`. Its input is

    [signal x(t) (S), derivative 0.5 (x(t) - x(t-1)) + 0.5 (S), leaky integral (S),
     error 0.5 (x(t) - x_hat(t)) + 0.5 (S), x(t-2) (S), context (C x H), bias 1]

where the optional blocks follow `cfg.features` and the context is the previous step's
hidden states of the unit's context sources, each multiplied by its group's 0/1 gate.
Units of a layer have different numbers of context sources; the engine pads them to the
layer's maximum with a source that is always zero, whose weights never change, so the
padded units compute exactly what the unpadded unit would.

Each step, layer by layer from the bottom: gather the signal (layer 0: the frame's
patches; above: the hidden states the layer below produced this step); learn from the
error of the prediction made last step (`x(t) - x_hat(t)`, one SGD step with momentum:
`dW = lr * outer(act, delta) + momentum * dW_prev; W += dW`); build the new input; run
the unit forward, giving the new hidden state and the prediction of `x(t+1)`.

Shapes: a layer's weights are `w1 (units, D, H)` and `w2 (units, H + 1, S)`; a frame is
`(bands, height, width)` in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from axon.errors import CheckpointError
from axon.pvm.config import PVMConfig
from axon.pvm.topology import FEEDBACK, LATERAL, TOP, TWO_BACK, LayerTopology, build_topology

Exchange = Callable[[int, torch.Tensor], torch.Tensor]


def activate(x: torch.Tensor, kind: str) -> torch.Tensor:
    """Logistic sigmoid, or the rational sigmoid x / (2 (|x| + 1)) + 0.5."""
    if kind == "sigmoid":
        return torch.sigmoid(x)
    return x / (2 * (x.abs() + 1)) + 0.5


def activation_slope(y: torch.Tensor, kind: str) -> torch.Tensor:
    """The activation's derivative written in terms of its output y."""
    if kind == "sigmoid":
        return y * (1 - y)
    return 0.5 * (1 - 2 * (y - 0.5).abs()) ** 2


def _identity_exchange(layer: int, owned: torch.Tensor) -> torch.Tensor:
    return owned


class LayerState:
    """Weights and running state of one layer's units; the engine may slice it to the
    units `[start, stop)` a process owns."""

    def __init__(self, topo: LayerTopology, cfg: PVMConfig, generator: torch.Generator,
                 device: torch.device, dtype: torch.dtype):
        start, stop = 0, topo.units
        self.topo, self.start, self.stop = topo, start, stop
        f = cfg.features
        self.blocks = 1 + f.derivative + f.integral + f.error + f.t_minus_2
        n, S, H = stop - start, topo.signal_size, cfg.hidden_size
        C = topo.max_context
        self.n, self.S, self.H, self.C = n, S, H, C
        self.D = self.blocks * S + C * H + 1
        ctx_index = torch.full((n, C), -1, dtype=torch.long)
        ctx_group = torch.full((n, C), -1, dtype=torch.long)
        for i in range(n):
            for j, (gid, group) in enumerate(topo.context[start + i]):
                ctx_index[i, j], ctx_group[i, j] = gid, group
        self.ctx_index, self.ctx_group = ctx_index.to(device), ctx_group.to(device)
        if topo.index > 0:
            self.children = torch.tensor(topo.children[start:stop], dtype=torch.long,
                                         device=device)
        # Initial weights: uniform in +-1/sqrt(fan_in) over the unit's real inputs
        # (signal blocks, its own context sources, bias); padded rows are zero.
        w1 = torch.zeros(n, self.D, H, dtype=torch.float64)
        for i in range(n):
            real = self.real_rows(i)
            bound = len(real) ** -0.5
            w1[i, real] = (torch.rand(len(real), H, generator=generator,
                                      dtype=torch.float64) * 2 - 1) * bound
        w2 = (torch.rand(n, H + 1, S, generator=generator, dtype=torch.float64) * 2 - 1)
        w2 *= (H + 1) ** -0.5
        self.w1 = w1.to(device=device, dtype=dtype)
        self.w2 = w2.to(device=device, dtype=dtype)
        self.m1 = torch.zeros_like(self.w1)
        self.m2 = torch.zeros_like(self.w2)
        z = lambda *shape: torch.zeros(*shape, device=device, dtype=dtype)  # noqa: E731
        self.prev_signal, self.prev2, self.integral = z(n, S), z(n, S), z(n, S)
        self.pred = torch.full((n, S), 0.5, device=device, dtype=dtype)
        self.x_in, self.hidden = z(n, self.D), z(n, H)
        self.signal: torch.Tensor | None = None  # this step's signal (n, S), for display
        self.error: torch.Tensor | None = None   # this step's prediction error (n, S)
        self.readout: torch.Tensor | None = None
        self.heat: torch.Tensor | None = None
        if cfg.readout is not None:
            T = cfg.readout.tile_size**2
            r = (torch.rand(n, H + 1, T, generator=generator, dtype=torch.float64) * 2 - 1)
            self.readout = (r * (H + 1) ** -0.5).to(device=device, dtype=dtype)
            self.heat = torch.full((n, T), 0.5, device=device, dtype=dtype)

    def real_rows(self, i: int) -> list[int]:
        """Rows of unit i's (padded) input vector that carry real inputs."""
        n_ctx = len(self.topo.context[self.start + i])
        signal = list(range(self.blocks * self.S))
        base = self.blocks * self.S
        ctx = list(range(base, base + n_ctx * self.H))
        return signal + ctx + [self.D - 1]

    def tensors(self) -> dict[str, torch.Tensor]:
        """Every learned and running tensor, by name (for snapshots)."""
        out = {
            "w1": self.w1, "w2": self.w2, "m1": self.m1, "m2": self.m2,
            "prev_signal": self.prev_signal, "prev2": self.prev2, "integral": self.integral,
            "pred": self.pred, "x_in": self.x_in, "hidden": self.hidden,
        }
        if self.readout is not None:
            out["readout"], out["heat"] = self.readout, self.heat
        return out


class PVMEngine:
    """A PVM hierarchy computed layer-batched.

    `owned[l] = (start, stop)` restricts the engine to a slice of each layer's units
    (for the multi-process runner); `exchange(l, hidden_owned)` must then return the
    whole layer's hidden states `(units_l, H)`.
    """

    def __init__(self, cfg: PVMConfig, device: str | torch.device = "cpu",
                 owned: list[tuple[int, int]] | None = None,
                 exchange: Exchange | None = None, dtype: torch.dtype = torch.float32):
        self.cfg = cfg
        self.device = torch.device(device)
        self.dtype = dtype
        self.topology = build_topology(cfg)
        self.total_units = sum(t.units for t in self.topology)
        owned = owned or [(0, t.units) for t in self.topology]
        self.exchange = exchange or _identity_exchange
        gen = torch.Generator().manual_seed(cfg.seed)
        # Every unit's weights are drawn in global order, so any split of the units
        # over processes starts from the same weights.
        self.layers: list[LayerState] = []
        for topo, (a, b) in zip(self.topology, owned):
            full = LayerState(topo, cfg, gen, torch.device("cpu"), dtype)
            if (a, b) != (0, topo.units):
                full = _slice_layer(full, a, b, topo)
            _to_device(full, self.device)
            self.layers.append(full)
        pad = self.total_units
        for layer in self.layers:
            layer.ctx_index = torch.where(layer.ctx_index < 0, pad, layer.ctx_index)
        H = cfg.hidden_size
        self.hidden_prev = torch.zeros(self.total_units + 1, H, device=self.device, dtype=dtype)
        self.hidden_now = torch.zeros_like(self.hidden_prev)
        self.step_count = 0
        self.has_pred = False
        # Switches a user (or the debug shell) may set; None follows the schedule.
        self.frozen = False
        self.lr_override: float | None = None
        self.lateral: bool | None = None
        self.feedback: bool | None = None
        self.deep_dream = False
        self._gates: dict[tuple[bool, bool], list[torch.Tensor]] = {}
        self.reset_metrics()

    # -- switches -------------------------------------------------------------
    def learning_rate(self, layer: int) -> float:
        if self.frozen:
            return 0.0
        if self.lr_override is not None:
            return self.lr_override
        return self.cfg.schedule.learning_rate(layer, self.step_count)

    def context_switches(self) -> tuple[bool, bool]:
        """(lateral on, feedback on) at the current step."""
        sched = self.cfg.schedule
        lat = self.lateral if self.lateral is not None else self.step_count >= sched.enable_lateral_at
        fb = self.feedback if self.feedback is not None else self.step_count >= sched.enable_feedback_at
        return lat, fb

    def _gate(self, l: int) -> torch.Tensor:
        key = self.context_switches()
        if key not in self._gates:
            lat, fb = key
            gates = []
            for layer in self.layers:
                g = layer.ctx_group
                on = (g == LATERAL) & lat
                on |= ((g == FEEDBACK) | (g == TWO_BACK) | (g == TOP)) & fb
                gates.append(on.to(self.dtype).unsqueeze(-1))
            self._gates[key] = gates
        return self._gates[key][l]

    # -- metrics --------------------------------------------------------------
    def reset_metrics(self) -> None:
        """Zero the per-layer running sums of |error|, error^2 and their counts, and of
        layer 0's "next frame = this frame" squared error."""
        n = len(self.topology)
        self.err_abs = torch.zeros(n, dtype=torch.float64, device=self.device)
        self.err_sq = torch.zeros(n, dtype=torch.float64, device=self.device)
        self.err_count = torch.zeros(n, dtype=torch.float64, device=self.device)
        self.copy_sq = torch.zeros((), dtype=torch.float64, device=self.device)

    # -- the step ---------------------------------------------------------------
    def patches(self, frame: torch.Tensor) -> torch.Tensor:
        """Layer-0 signals of all units: `(bands, height, width)` -> `(units_0, S)`."""
        cfg = self.cfg
        b, g, c = cfg.input_block_size, cfg.layer_shapes[0], cfg.input_channels
        x = frame.reshape(c, g, b, g, b).permute(1, 3, 0, 2, 4)
        return x.reshape(g * g, c * b * b)

    def step(self, frame: torch.Tensor, mask: torch.Tensor | None = None) -> None:
        """Advance one frame: `frame (bands, H, W)` in [0, 1]; `mask (H, W)` in [0, 1]
        trains the readout when the model has one."""
        frame = frame.to(device=self.device, dtype=self.dtype)
        below_full: torch.Tensor | None = None
        for l, layer in enumerate(self.layers):
            if self.deep_dream and self.has_pred:
                signal = layer.pred
            elif l == 0:
                signal = self.patches(frame)[layer.start:layer.stop]
            else:
                signal = below_full.index_select(0, layer.children.reshape(-1))
                signal = signal.reshape(layer.n, layer.S)
            layer.signal = signal
            if l == 0 and self.has_pred:
                self.copy_sq += ((signal - layer.prev_signal) ** 2).sum(dtype=torch.float64)
            if self.has_pred:
                err = signal - layer.pred
                layer.error = err
                self.err_abs[l] += err.abs().sum(dtype=torch.float64)
                self.err_sq[l] += (err * err).sum(dtype=torch.float64)
                self.err_count[l] += err.numel()
                lr = self.learning_rate(l)
                if lr > 0:
                    self._learn(layer, err, lr)
            self._forward(layer, signal, l)
            owned_hidden = layer.hidden
            full = self.exchange(l, owned_hidden)
            top = layer.topo
            self.hidden_now[top.offset:top.offset + top.units] = full
            below_full = full
            if layer.readout is not None:
                self._readout(layer, l, mask)
        self.hidden_prev, self.hidden_now = self.hidden_now, self.hidden_prev
        self.has_pred = True
        self.step_count += 1

    def _learn(self, layer: LayerState, err: torch.Tensor, lr: float) -> None:
        kind, mom = self.cfg.activation, self.cfg.momentum
        H = layer.H
        delta_o = err * activation_slope(layer.pred, kind)                      # (n, S)
        back = torch.bmm(layer.w2[:, :H, :], delta_o.unsqueeze(2)).squeeze(2)   # (n, H)
        delta_h = back * activation_slope(layer.hidden, kind)
        h1 = torch.cat([layer.hidden, layer.hidden.new_ones(layer.n, 1)], 1)    # (n, H+1)
        layer.m2.baddbmm_(h1.unsqueeze(2), delta_o.unsqueeze(1), beta=mom, alpha=lr)
        layer.w2.add_(layer.m2)
        layer.m1.baddbmm_(layer.x_in.unsqueeze(2), delta_h.unsqueeze(1), beta=mom, alpha=lr)
        layer.w1.add_(layer.m1)

    def _forward(self, layer: LayerState, signal: torch.Tensor, l: int) -> None:
        cfg, f = self.cfg, self.cfg.features
        layer.integral.mul_(cfg.tau).add_(signal, alpha=1 - cfg.tau)
        parts = [signal]
        if f.derivative:
            parts.append(0.5 * (signal - layer.prev_signal) + 0.5)
        if f.integral:
            parts.append(layer.integral)
        if f.error:
            parts.append(0.5 * (signal - layer.pred) + 0.5 if self.has_pred
                         else torch.full_like(signal, 0.5))
        if f.t_minus_2:
            parts.append(layer.prev2)
        ctx = self.hidden_prev.index_select(0, layer.ctx_index.reshape(-1))
        ctx = ctx.reshape(layer.n, layer.C, layer.H) * self._gate(l)            # (n, C, H)
        parts.append(ctx.reshape(layer.n, layer.C * layer.H))
        parts.append(signal.new_ones(layer.n, 1))
        torch.cat(parts, 1, out=layer.x_in)
        layer.prev2.copy_(layer.prev_signal)
        layer.prev_signal.copy_(signal)
        layer.hidden = activate(torch.bmm(layer.x_in.unsqueeze(1), layer.w1).squeeze(1),
                                cfg.activation)
        h1 = torch.cat([layer.hidden, layer.hidden.new_ones(layer.n, 1)], 1)
        layer.pred = activate(torch.bmm(h1.unsqueeze(1), layer.w2).squeeze(1), cfg.activation)

    def _readout(self, layer: LayerState, l: int, mask: torch.Tensor | None) -> None:
        ro = self.cfg.readout
        h1 = torch.cat([layer.hidden, layer.hidden.new_ones(layer.n, 1)], 1)
        layer.heat = torch.sigmoid(torch.bmm(h1.unsqueeze(1), layer.readout).squeeze(1))
        if mask is None or ro.learning_rate == 0 or self.frozen:
            return
        target = self.heatmap_tiles(mask, l)[layer.start:layer.stop]
        target = target * ro.target_scale + ro.target_offset
        delta = (target - layer.heat) * layer.heat * (1 - layer.heat)
        layer.readout.baddbmm_(h1.unsqueeze(2), delta.unsqueeze(1), alpha=ro.learning_rate)

    def heatmap_tiles(self, mask: torch.Tensor, l: int) -> torch.Tensor:
        """A mask `(H, W)` resized (area average) to layer l's heatmap and cut into the
        units' tiles: `(units_l, tile * tile)`."""
        t, g = self.cfg.readout.tile_size, self.topology[l].side
        m = mask.to(device=self.device, dtype=self.dtype)[None, None]
        m = torch.nn.functional.interpolate(m, size=(g * t, g * t), mode="area")[0, 0]
        return m.reshape(g, t, g, t).permute(0, 2, 1, 3).reshape(g * g, t * t)

    # -- state ------------------------------------------------------------------
    def state_tensors(self) -> dict[str, torch.Tensor]:
        """All tensors of the engine's owned units, named `layer{l}.{name}`, plus the
        shared hidden state and counters."""
        out = {}
        for l, layer in enumerate(self.layers):
            for name, t in layer.tensors().items():
                out[f"layer{l}.{name}"] = t
        out["hidden_prev"] = self.hidden_prev
        return out

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Load tensors saved by `state_tensors()` of a whole-model engine (slicing them
        to this engine's units). Shapes must match exactly."""
        expected = self.state_tensors()
        missing = sorted(set(expected) - set(tensors))
        if missing:
            raise CheckpointError(f"snapshot lacks tensors {missing[:4]} of this model")
        for name, mine in expected.items():
            src = tensors[name]
            if name != "hidden_prev":
                layer = self.layers[int(name.split(".")[0][5:])]
                src = src[layer.start:layer.stop]
            if src.shape != mine.shape:
                raise CheckpointError(
                    f"snapshot tensor {name} has shape {tuple(src.shape)}, this model "
                    f"expects {tuple(mine.shape)}"
                )
        for l, layer in enumerate(self.layers):
            for name in layer.tensors():
                src = tensors[f"layer{l}.{name}"][layer.start:layer.stop]
                setattr(layer, name, src.to(device=self.device, dtype=self.dtype).clone())
        self.hidden_prev = tensors["hidden_prev"].to(self.device, self.dtype).clone()
        self.hidden_now = torch.zeros_like(self.hidden_prev)

    def unit_weights(self, l: int, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Unit i (local to this engine's slice) of layer l without padding:
        `w1 (D_real, H)` and `w2 (H + 1, S)`."""
        layer = self.layers[l]
        return layer.w1[i, layer.real_rows(i)], layer.w2[i]

    def prediction_image(self) -> torch.Tensor:
        """Layer 0's prediction of the next frame, `(bands, H, W)`; needs all layer-0
        units in this engine."""
        cfg = self.cfg
        b, g, c = cfg.input_block_size, cfg.layer_shapes[0], cfg.input_channels
        p = self.layers[0].pred.reshape(g, g, c, b, b).permute(2, 0, 3, 1, 4)
        return p.reshape(c, g * b, g * b)


def _slice_layer(full: LayerState, a: int, b: int, topo: LayerTopology) -> LayerState:
    """Keep units [a, b) of a whole layer."""
    full.start, full.stop, full.n = a, b, b - a
    full.ctx_index, full.ctx_group = full.ctx_index[a:b], full.ctx_group[a:b]
    if topo.index > 0:
        full.children = full.children[a:b]
    for name, t in full.tensors().items():
        setattr(full, name, t[a:b].clone())
    return full


def _to_device(layer: LayerState, device: torch.device) -> None:
    layer.ctx_index = layer.ctx_index.to(device)
    layer.ctx_group = layer.ctx_group.to(device)
    if layer.topo.index > 0:
        layer.children = layer.children.to(device)
    for name, t in layer.tensors().items():
        setattr(layer, name, t.to(device))
