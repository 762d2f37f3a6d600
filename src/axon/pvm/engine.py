"""The batched PVM engine: every unit of a layer is computed together with batched
tensor operations (no Python loop over units), on CPU or GPU.

A unit is a 3-layer perceptron `input (D) -> hidden (H) -> output (S)`. Its input is

    [signal x(t) (S), derivative 0.5 (x(t) - x(t-1)) + 0.5 (S), leaky integral (S),
     error 0.5 (x(t) - x_hat(t)) + 0.5 (S), x(t-2) (S), context (C x H), bias 1]

where the optional blocks follow `cfg.features` and the context is the previous step's
hidden states of the unit's context sources, each multiplied by its group's 0/1 gate.
With `cfg.input_norm` (an axon option) every value of the signal blocks is then
standardised by its running mean and variance (see `standardise`); the context (hidden
states, already in [0, 1]) and the bias are left as they are.
Its output `out = act(W2 [h, 1])` is the prediction `x_hat(t+1)` itself
(`cfg.prediction == "signal"`, the original's unit), or the predicted change
(`"change"`, an axon option): `x_hat(t+1) = clamp(x(t) + 2 (out - 0.5), 0, 1)`, whose
backward pass has `d x_hat / d out = 2` and the activation's slope taken at `out`.

Units of a layer have different numbers of context sources; the engine pads them to the
layer's maximum with a source that is always zero, whose weights never change, so the
padded units compute exactly what the unpadded unit would.

Each step, layer by layer from the bottom: gather the signal (layer 0: the frame's
patches; above: the hidden states the layer below produced this step, or with
`cfg.step == "pipelined"`, the original's timing, those it produced in the previous
step, so no layer waits for another and a multi-process run exchanges the states of
all layers once per step instead of once per layer); build the new input; then, chunk
by chunk of units, learn from the error of the prediction made last step (`x(t) -
x_hat(t)`, one SGD step with momentum: `dW = lr * outer(act, delta) + momentum *
dW_prev; W += dW`, see `momentum_update`) and run the units forward, giving the new
hidden state and the prediction of `x(t+1)`. The units live in `UnitBatch`es
(`axon.pvm.batch`): one per layer, or, in the pipelined step with `merge_layers`, one
per unit shape holding several layers, stepped by the same kernel calls, bit for bit
as the per-layer loop. On CPU a chunk is about CPU_CHUNK_BYTES of weights and momentum,
so the forward pass reads from cache the weights the update has just written; on GPU a
chunk is the whole batch. Every tensor of the state is changed in place, so a step can
be captured as a CUDA graph (`axon.pvm.graph`).

Shapes: a layer's weights are `w1 (units, D, H)` and `w2 (units, H + 1, S)`; a frame is
`(bands, height, width)` in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from axon.errors import CheckpointError
from axon.memory import check_fits
from axon.pvm.batch import UnitBatch
from axon.pvm.config import PVMConfig
from axon.pvm.topology import FEEDBACK, LATERAL, TOP, TWO_BACK, LayerTopology, build_topology

Exchange = Callable[[int, torch.Tensor], torch.Tensor]
ExchangeAll = Callable[[list[torch.Tensor]], list[torch.Tensor]]
CPU_CHUNK_BYTES = 16 << 20  # weights + momentum stepped together on CPU (half the L3 cache)


def activate(x: torch.Tensor, kind: str, out: torch.Tensor | None = None) -> torch.Tensor:
    """Logistic sigmoid, or the rational sigmoid x / (2 (|x| + 1)) + 0.5; written into
    `out` when given."""
    if kind == "sigmoid":
        return torch.sigmoid(x, out=out)
    return torch.div(x, x.abs().add_(1).mul_(2), out=out).add_(0.5)


def activation_slope(y: torch.Tensor, kind: str) -> torch.Tensor:
    """The activation's derivative written in terms of its output y."""
    if kind == "sigmoid":
        return y * (1 - y)
    return (y - 0.5).abs_().mul_(-2).add_(1).square_().mul_(0.5)


def momentum_update(w: torch.Tensor, m: torch.Tensor, a: torch.Tensor, b: torch.Tensor,
                    inv_scale: float | torch.Tensor | None) -> None:
    """One SGD step with momentum for every unit at once, in place, on a scaled momentum
    buffer: `w, m (n, R, K)`, `a (n, R)`, `b (n, K)`.

    The buffer holds `m = momentum_true * scale`. With `scale' = scale / momentum` the
    textbook step `m_true <- momentum m_true + lr outer(a, delta); w <- w + m_true`
    becomes `m <- m + outer(a, lr scale' delta); w <- w + m / scale'`: a rank-1 update
    with no scaling of `m` (2 passes over `m`) and an add (3 passes), where scaling
    `m` first costs 2 more passes. The rank-1 update is a broadcast multiply-add
    (`addcmul_`), a few percent faster than `baddbmm_` on CPU. The caller passes `b = lr scale' delta` and
    `inv_scale = 1 / scale'` (a float, or a 0-dim tensor for CUDA graphs), or
    `inv_scale=None` and `b = lr delta` without momentum (then only `w` changes)."""
    outer = (a.unsqueeze(2), b.unsqueeze(1))
    if inv_scale is None:
        w.addcmul_(*outer)
        return
    m.addcmul_(*outer)
    if isinstance(inv_scale, torch.Tensor):
        w.addcmul_(m, inv_scale)
    else:
        w.add_(m, alpha=inv_scale)


def standardise(x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor,
                weight: float | torch.Tensor, eps: float) -> None:
    """Fold `x (n, K)` into the running `mean` and `var (n, K)` with weight `weight`
    (`m <- m + w d`, `v <- (1 - w) (v + w d^2)` with `d = x - m`; exact, not
    cancelling, and exactly `mean = x`, `var = 0` at weight 1), then replace `x` by
    `(x - mean) / sqrt(var + eps)`; all in place. `weight` is a float, or a 0-dim
    tensor for CUDA graphs."""
    d = x - mean
    mean.add_(d * weight)
    var.add_(d.mul_(d).mul_(weight)).mul_(1 - weight)
    x.sub_(mean).div_(var.add(eps).sqrt_())


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
        # the raw output: the prediction itself in signal mode, the change in change mode
        self.change = cfg.prediction == "change"
        self.out = torch.full_like(self.pred, 0.5) if self.change else self.pred
        self.x_in, self.hidden = z(n, self.D), z(n, H)
        self.signal = z(n, S)  # this step's signal, for display
        self.error = z(n, S)   # this step's prediction error (zero before the first)
        self.normalised = cfg.input_norm is not None
        if self.normalised:  # running mean and variance of the signal blocks
            self.norm_mean = z(n, self.blocks * S)
            self.norm_var = z(n, self.blocks * S)
        self.readout: torch.Tensor | None = None
        self.heat: torch.Tensor | None = None
        if cfg.readout is not None:
            T = cfg.readout.tile(topo.index)**2
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
        if self.change:
            out["out"] = self.out
        if self.normalised:
            out["norm_mean"], out["norm_var"] = self.norm_mean, self.norm_var
        if self.readout is not None:
            out["readout"], out["heat"] = self.readout, self.heat
        return out


class PVMEngine:
    """A PVM hierarchy computed layer-batched.

    `owned[l] = (start, stop)` restricts the engine to a slice of each layer's units
    (for the multi-process runner); `exchange(l, hidden_owned)` must then return the
    whole layer's hidden states `(units_l, H)`, and `exchange_all([hidden_owned_l])`
    (used by the pipelined step; default: `exchange` layer by layer) every layer's at
    once. `exchange_calls` counts the exchanges made. `chunk_bytes`: see
    `UnitBatch` (default: CPU_CHUNK_BYTES on CPU, whole batches on GPU).

    `merge_layers` (pipelined step only): step all layers of one unit shape as one
    `UnitBatch` (one kernel call per chunk for all of them) instead of one batch per
    layer; bit for bit the same results. "auto": merged on GPU, where a step is many
    small kernels, not on CPU, where a step is bound by memory bandwidth and the zero
    rows a merged batch adds cost 1-3% more bytes than the fewer calls save
    (benchmarks/pvm_pipelined.py measures both).
    """

    def __init__(self, cfg: PVMConfig, device: str | torch.device = "cpu",
                 owned: list[tuple[int, int]] | None = None,
                 exchange: Exchange | None = None, dtype: torch.dtype = torch.float32,
                 chunk_bytes: int | None | str = "auto", exchange_all: ExchangeAll | None = None,
                 merge_layers: bool | str = "auto"):
        self.cfg = cfg
        self.device = torch.device(device)
        if chunk_bytes == "auto":
            chunk_bytes = CPU_CHUNK_BYTES if self.device.type == "cpu" else None
        if merge_layers == "auto":
            merge_layers = cfg.step == "pipelined" and self.device.type != "cpu"
        if merge_layers and cfg.step != "pipelined":
            raise ValueError("merge_layers needs the pipelined step: in the bottom-up step "
                             "each layer reads the states the layer below computes first")
        self.dtype = dtype
        check_fits(cfg.weight_bytes(torch.empty((), dtype=dtype).element_size()),
                   f"PVM model {cfg.name!r} (layer_shapes {cfg.layer_shapes}, hidden_block_size "
                   f"{cfg.hidden_block_size})", self.device)
        self.topology = build_topology(cfg)
        self.total_units = sum(t.units for t in self.topology)
        owned = owned or [(0, t.units) for t in self.topology]
        self.exchange = exchange or _identity_exchange
        self.exchange_all = exchange_all
        self.exchange_calls = 0
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
        self.batches = [UnitBatch(ids, [self.layers[l] for l in ids], chunk_bytes)
                        for ids in self._batch_layers(merge_layers)]
        pad = self.total_units
        for layer in self.layers:
            layer.ctx_index = torch.where(layer.ctx_index < 0, pad, layer.ctx_index)
        H = cfg.hidden_size
        self.hidden_prev = torch.zeros(self.total_units + 1, H, device=self.device, dtype=dtype)
        self.hidden_now = torch.zeros_like(self.hidden_prev)
        self.momentum_scale = [1.0] * len(self.layers)  # see momentum_update
        self.values_per_step = torch.tensor([float(layer.n * layer.S) for layer in self.layers],
                                            dtype=torch.float64, device=self.device)
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

    def _batch_layers(self, merge: bool) -> list[list[int]]:
        """The layer indices of each batch, in stepping order: one layer each, or
        (merged) every layer of one unit shape (signal size, hidden size) together."""
        if not merge:
            return [[l] for l in range(len(self.layers))]
        shapes: dict[tuple[int, int], list[int]] = {}
        for l, layer in enumerate(self.layers):
            shapes.setdefault((layer.S, layer.H), []).append(l)
        return list(shapes.values())

    @property
    def exchanges(self) -> bool:
        """Whether each step exchanges hidden states with other processes."""
        return self.exchange is not _identity_exchange

    # -- switches -------------------------------------------------------------
    def learning_rate(self, layer: int) -> float:
        if self.frozen:
            return 0.0
        if self.lr_override is not None:
            return self.lr_override
        if self.cfg.readout is not None and self.cfg.readout.supervised_only:
            return 0.0  # only the readout learns
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
        the squared error of predicting "next signal = this signal" (in place)."""
        if not hasattr(self, "err_abs"):
            n = len(self.topology)
            z = lambda *shape: torch.zeros(*shape, dtype=torch.float64, device=self.device)  # noqa: E731
            self.err_abs, self.err_sq, self.err_count, self.copy_sq = z(n), z(n), z(n), z(n)
        for t in (self.err_abs, self.err_sq, self.err_count, self.copy_sq):
            t.zero_()

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
        if mask is not None:
            mask = mask.to(device=self.device, dtype=self.dtype)
        rates, inv = self.update_factors()
        self.step_body(frame, mask, rates, inv, self.norm_weight())
        self.has_pred = True
        self.step_count += 1

    def update_factors(self) -> tuple[list[float], list[float | None]]:
        """This step's `(rates, inv_scales)` per layer for `momentum_update`: the
        learning rate times the momentum buffer's new scale (0.0: the layer does not
        learn) and the new scale's inverse (None without momentum). Advances the
        scales; a buffer whose scale would pass 1e12 is brought back to scale 1."""
        mom = self.cfg.momentum
        rates: list[float] = []
        inv: list[float | None] = []
        for l, layer in enumerate(self.layers):
            lr = self.learning_rate(l) if self.has_pred else 0.0
            if lr == 0 or mom == 0:
                rates.append(lr)
                inv.append(None)
                continue
            if self.momentum_scale[l] / mom > 1e12:
                self._settle(l)
            self.momentum_scale[l] /= mom
            rates.append(lr * self.momentum_scale[l])
            inv.append(1 / self.momentum_scale[l])
        return rates, inv

    def norm_weight(self) -> float | None:
        """This step's weight of the new input in the running input statistics:
        `1 / (step + 1)` for the first `1 / (1 - decay)` steps, then `1 - decay`
        (None without `input_norm`)."""
        norm = self.cfg.input_norm
        if norm is None:
            return None
        return max(1 / (self.step_count + 1), 1 - norm.decay)

    def _settle(self, l: int) -> None:
        """Bring layer l's momentum buffers to scale 1 (true momentum)."""
        layer, scale = self.layers[l], self.momentum_scale[l]
        if scale != 1.0:
            layer.m1.mul_(1 / scale)
            layer.m2.mul_(1 / scale)
            self.momentum_scale[l] = 1.0

    def step_body(self, frame: torch.Tensor, mask: torch.Tensor | None,
                  rates: list, inv_scales: list, norm_weight=None) -> None:
        """The work of one step, given `update_factors()` and `norm_weight()` (floats,
        or 0-dim tensors for a graph). It changes the state only in place, so a CUDA
        graph captured from it replays correctly (see axon.pvm.graph); `has_pred`, the
        switches, which layers learn and which neighbouring layers share a momentum
        scale (the same float, or the same tensor) are fixed structure.

        Batch by batch (bottom-up: layer by layer from the bottom; pipelined: each
        batch may hold several layers, none of which reads another's states of this
        step): each layer's signal, error sums, backward factors and next input; then
        chunk by chunk of the batch's units the learning step and the forward pass;
        then each layer's readout (and, bottom-up, its exchange)."""
        pipelined = self.cfg.step == "pipelined"
        below_full: torch.Tensor | None = None
        for batch in self.batches:
            learns = {}
            for l in batch.ids:
                if pipelined and l > 0:  # the layer below's states of the previous step
                    lower = self.topology[l - 1]
                    below_full = self.hidden_prev[lower.offset:lower.offset + lower.units]
                learns[l] = self._prepare(l, frame, below_full, rates[l], norm_weight)
            runs = _learning_runs(batch, learns, inv_scales)
            for a, b in batch.chunks:
                for lo, hi, inv in runs:
                    if max(a, lo) < min(b, hi):
                        self._learn(batch, max(a, lo), min(b, hi), inv)
                self._predict(batch, a, b)
            batch.x_in.copy_(batch.x_next)
            for l in batch.ids:
                if not pipelined:
                    below_full = self._exchange_layers([l])[0]
                if self.layers[l].readout is not None:
                    self._readout(self.layers[l], l, mask)
        if pipelined:
            self._exchange_layers(range(len(self.layers)))
        if self.has_pred:
            self.err_count += self.values_per_step
        self.hidden_prev.copy_(self.hidden_now)

    def _prepare(self, l: int, frame: torch.Tensor, below_full: torch.Tensor | None,
                 rate, norm_weight) -> bool:
        """Layer l's part of a step before its batch's kernels: its signal (from the
        frame, or the layer below's states `below_full`), the error sums, the factors
        of the backward pass (old hidden, old out) in its batch's buffers, and its next
        input. Returns whether it learns this step."""
        layer = self.layers[l]
        signal = layer.signal
        if self.deep_dream and self.has_pred:
            signal.copy_(layer.pred)
        elif l == 0:
            signal.copy_(self.patches(frame)[layer.start:layer.stop])
        else:
            torch.index_select(below_full, 0, layer.children.reshape(-1),
                               out=signal.view(-1, below_full.shape[1]))
        if self.has_pred:
            change = (signal - layer.prev_signal).view(-1)
            err = torch.sub(signal, layer.pred, out=layer.error).view(-1)
            # per-step sums in float32, accumulated over steps in float64
            self.copy_sq[l] += torch.dot(change, change)
            self.err_abs[l] += torch.linalg.vector_norm(err, 1)
            self.err_sq[l] += torch.dot(err, err)
        learn = self.has_pred and not (isinstance(rate, float) and rate == 0)
        if learn:
            kind, (a, b), batch = self.cfg.activation, layer.span, layer.batch
            delta_o = torch.mul(layer.error, activation_slope(layer.out, kind),
                                out=batch.delta_o[a:b])
            if layer.change:  # change mode: d pred / d out = 2
                delta_o.mul_(2)
            torch.mul(delta_o, rate, out=batch.delta_o_rate[a:b])
            torch.mul(activation_slope(layer.hidden, kind), rate, out=batch.slope_rate[a:b])
        self._build_input(layer, signal, l)
        if layer.normalised:
            standardise(layer.x_next[:, :layer.blocks * layer.S], layer.norm_mean,
                        layer.norm_var, norm_weight, self.cfg.input_norm.eps)
        return learn

    def _exchange_layers(self, ls) -> list[torch.Tensor]:
        """Gather the whole hidden states of layers `ls` (every layer, or one) from
        every process, write them into `hidden_now` and return them: one exchange."""
        ls = list(ls)
        owned = [self.layers[l].hidden for l in ls]
        if not self.exchanges:
            fulls = owned
        elif len(ls) == 1:
            fulls = [self.exchange(ls[0], owned[0])]
        elif self.exchange_all is not None:
            fulls = self.exchange_all(owned)
        else:
            fulls = [self.exchange(l, h) for l, h in zip(ls, owned)]
            self.exchange_calls += len(ls) - 1
        if self.exchanges:
            self.exchange_calls += 1
        for l, full in zip(ls, fulls):
            top = self.topology[l]
            self.hidden_now[top.offset:top.offset + top.units] = full
        return fulls

    def _learn(self, batch: UnitBatch, a: int, b: int, inv_scale) -> None:
        """Units [a, b) of a batch: backpropagate the output deltas of the prediction
        made last step and update both weight matrices with momentum (see
        `momentum_update`), from the factors `_prepare` left in the batch's buffers."""
        w2, H = batch.w2[a:b], batch.H
        back = torch.bmm(w2[:, :H, :], batch.delta_o[a:b].unsqueeze(2),
                         out=batch.back[a:b].unsqueeze(2)).squeeze(2)  # (b-a, H)
        momentum_update(w2, batch.m2[a:b], batch.h1[a:b], batch.delta_o_rate[a:b], inv_scale)
        momentum_update(batch.w1[a:b], batch.m1[a:b], batch.x_in[a:b],
                        back.mul_(batch.slope_rate[a:b]), inv_scale)

    def _predict(self, batch: UnitBatch, a: int, b: int) -> None:
        """Units [a, b) of a batch: the new hidden state, output and prediction from
        `x_next` (in place)."""
        kind = self.cfg.activation
        pre = torch.bmm(batch.x_next[a:b].unsqueeze(1), batch.w1[a:b],
                        out=batch.pre_hidden[a:b].unsqueeze(1)).squeeze(1)
        activate(pre, kind, out=batch.hidden[a:b])
        pre = torch.bmm(batch.h1[a:b].unsqueeze(1), batch.w2[a:b],
                        out=batch.pre_out[a:b].unsqueeze(1)).squeeze(1)
        out = activate(pre, kind, out=batch.out[a:b])
        if batch.out is not batch.pred:  # change mode: x(t) + 2 (out - 0.5), clamped
            pred = torch.add(batch.signal[a:b], out, alpha=2, out=batch.pred[a:b])
            pred.sub_(1).clamp_(0, 1)

    def _build_input(self, layer: LayerState, signal: torch.Tensor, l: int) -> None:
        """Write this step's input into `x_next (n, D)` and advance the running
        signal state (integral, previous signals)."""
        cfg, f = self.cfg, self.cfg.features
        n, S, x = layer.n, layer.S, layer.x_next
        layer.integral.mul_(cfg.tau).add_(signal, alpha=1 - cfg.tau)
        blocks = [signal]
        if f.derivative:
            blocks.append(0.5 * (signal - layer.prev_signal) + 0.5)
        if f.integral:
            blocks.append(layer.integral)
        if f.error:
            blocks.append(0.5 * (signal - layer.pred) + 0.5 if self.has_pred
                          else torch.full_like(signal, 0.5))
        if f.t_minus_2:
            blocks.append(layer.prev2)
        for k, block in enumerate(blocks):
            x[:, k * S:(k + 1) * S] = block
        ctx = self.hidden_prev.index_select(0, layer.ctx_index.reshape(-1))
        base = len(blocks) * S
        ctx_view = x[:, base:base + layer.C * layer.H].view(n, layer.C, layer.H)
        torch.mul(ctx.view(n, layer.C, layer.H), self._gate(l), out=ctx_view)
        layer.prev2.copy_(layer.prev_signal)
        layer.prev_signal.copy_(signal)

    def _readout(self, layer: LayerState, l: int, mask: torch.Tensor | None) -> None:
        ro = self.cfg.readout
        h1 = layer.h1
        torch.sigmoid(torch.bmm(h1.unsqueeze(1), layer.readout).squeeze(1), out=layer.heat)
        if mask is None or ro.learning_rate == 0 or self.frozen:
            return
        target = self.heatmap_tiles(mask, l)[layer.start:layer.stop]
        target = target * ro.target_scale + ro.target_offset
        delta = (target - layer.heat) * layer.heat * (1 - layer.heat)
        layer.readout.baddbmm_(h1.unsqueeze(2), delta.unsqueeze(1), alpha=ro.learning_rate)

    def heatmap_tiles(self, mask: torch.Tensor, l: int) -> torch.Tensor:
        """A mask `(H, W)` resized (area average) to layer l's heatmap and cut into the
        units' tiles: `(units_l, tile * tile)`."""
        t, g = self.cfg.readout.tile(l), self.topology[l].side
        m = mask.to(device=self.device, dtype=self.dtype)[None, None]
        m = torch.nn.functional.interpolate(m, size=(g * t, g * t), mode="area")[0, 0]
        return m.reshape(g, t, g, t).permute(0, 2, 1, 3).reshape(g * g, t * t)

    # -- state ------------------------------------------------------------------
    def state_tensors(self) -> dict[str, torch.Tensor]:
        """All tensors of the engine's owned units, named `layer{l}.{name}`, plus the
        shared hidden state and counters. Momentum buffers are brought to scale 1
        first, so `m1`, `m2` hold the true momentum."""
        for l in range(len(self.layers)):
            self._settle(l)
        out = {}
        for l, layer in enumerate(self.layers):
            for name, t in layer.tensors().items():
                out[f"layer{l}.{name}"] = t
        out["hidden_prev"] = self.hidden_prev
        return out

    def mutable_tensors(self) -> list[torch.Tensor]:
        """Every tensor a step changes (in place), for saving and restoring around a
        CUDA graph capture."""
        out = [self.hidden_prev, self.hidden_now, self.err_abs, self.err_sq,
               self.err_count, self.copy_sq]
        for layer in self.layers:
            named = layer.tensors()
            named.pop("hidden")  # a view of h1
            out += [*named.values(), layer.h1, layer.signal, layer.error]
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
            for name, mine in layer.tensors().items():
                mine.copy_(tensors[f"layer{l}.{name}"][layer.start:layer.stop])
        self.hidden_prev.copy_(tensors["hidden_prev"])
        self.momentum_scale = [1.0] * len(self.layers)
        self.hidden_now.copy_(self.hidden_prev)

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


def _learning_runs(batch: UnitBatch, learns: dict[int, bool],
                   inv_scales: list) -> list[tuple[int, int, object]]:
    """The batch's learning units as runs `(a, b, inv_scale)` of neighbouring layers
    that learn with one momentum scale (the same float, or the same tensor)."""
    runs: list[tuple[int, int, object]] = []
    for l, (a, b) in zip(batch.ids, batch.spans):
        if not learns[l]:
            continue
        inv = inv_scales[l]
        if runs and runs[-1][1] == a and _same_scale(runs[-1][2], inv):
            runs[-1] = (runs[-1][0], b, inv)
        else:
            runs.append((a, b, inv))
    return runs


def _same_scale(x, y) -> bool:
    if isinstance(x, torch.Tensor) or isinstance(y, torch.Tensor):
        return x is y
    return x == y


def _slice_layer(full: LayerState, a: int, b: int, topo: LayerTopology) -> LayerState:
    """Keep units [a, b) of a whole layer."""
    full.start, full.stop, full.n = a, b, b - a
    full.ctx_index, full.ctx_group = full.ctx_index[a:b], full.ctx_group[a:b]
    if topo.index > 0:
        full.children = full.children[a:b]
    for name, t in full.tensors().items():
        setattr(full, name, t[a:b].clone())
    if not full.change:
        full.out = full.pred
    full.signal, full.error = full.signal[a:b].clone(), full.error[a:b].clone()
    return full


def _to_device(layer: LayerState, device: torch.device) -> None:
    layer.signal, layer.error = layer.signal.to(device), layer.error.to(device)
    layer.ctx_index = layer.ctx_index.to(device)
    layer.ctx_group = layer.ctx_group.to(device)
    if layer.topo.index > 0:
        layer.children = layer.children.to(device)
    for name, t in layer.tensors().items():
        setattr(layer, name, t.to(device))
    if not layer.change:
        layer.out = layer.pred
