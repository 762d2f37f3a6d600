import numpy as np
import pytest
import torch

from axon.pvm.config import parse_model
from axon.pvm.engine import PVMEngine, activate, activation_slope
from axon.pvm.reference import ReferencePVM

SCHEDULE = {"initial_learning_rate": 0.05, "intermediate_learning_rate": 0.03,
            "final_learning_rate": 0.01, "delay_each_layer": 1, "delay_intermediate": 2,
            "delay_final": 4, "enable_lateral_at": 2, "enable_feedback_at": 3}


def tiny(**kw):
    data = {"input_size": 12, "input_block_size": 3, "hidden_block_size": 3,
            "layer_shapes": [4, 3, 2, 1], "schedule": SCHEDULE}
    data.update(kw)
    return parse_model(data)


# the unit variants every whole-engine check runs on: the original's unit, the change
# unit, and the change unit with standardised inputs (decay 0.8: 5 equal-weight steps)
VARIANTS = {"signal": {}, "change": {"prediction": "change"},
            "change-norm": {"prediction": "change", "input_norm": {"decay": 0.8}},
            "pipelined": {"step": "pipelined", "context": {"top_twice": True}}}
variants = pytest.mark.parametrize("variant", VARIANTS.values(), ids=VARIANTS.keys())


def float32_tolerance(variant):
    """Tolerance between two float32 computations of the same steps that round
    differently (chunked products, factors read from float32 buffers): input
    standardisation divides rounding differences by up to sqrt(eps) = 0.01."""
    if "input_norm" in variant:
        return {"atol": 1e-5, "rtol": 1e-4}
    return {"atol": 1e-6, "rtol": 1e-5}


def frames(n, size=12, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(3, size, size, generator=g) for _ in range(n)]


def reference_for(engine):
    weights = [[tuple(w.double().numpy() for w in engine.unit_weights(l, i))
                for i in range(t.units)] for l, t in enumerate(engine.topology)]
    return ReferencePVM(engine.cfg, weights)


@pytest.mark.parametrize("cfg", [
    tiny(),
    tiny(activation="rational", features={"t_minus_2": True, "integral": False}),
    tiny(context={"two_layers_back": True, "exclude_self": True, "lateral_radius": 1.5}),
    tiny(momentum=0.0, context={"top_to_all": False, "feedback": False}),
    tiny(prediction="change"),
    tiny(prediction="change", activation="rational"),
    tiny(prediction="change", input_norm={"decay": 0.8, "eps": 1e-3}),
    tiny(input_norm={"decay": 0.5}, features={"t_minus_2": True}),
], ids=["sigmoid", "rational-features", "context-options", "no-feedback", "change",
        "change-rational", "change-norm", "signal-norm"])
def test_batched_engine_matches_per_unit_reference(cfg):
    engine = PVMEngine(cfg)
    ref = reference_for(engine)
    start = [engine.unit_weights(0, 0)[0].clone()]
    for t, frame in enumerate(frames(8)):
        engine.step(frame)
        ref.step(frame.double().numpy())
        for l, topo in enumerate(engine.topology):
            for i in range(topo.units):
                w1, w2 = engine.unit_weights(l, i)
                unit = ref.layers[l][i]
                np.testing.assert_allclose(w1.double().numpy(), unit.w1, atol=2e-6, rtol=1e-4)
                np.testing.assert_allclose(w2.double().numpy(), unit.w2, atol=2e-6, rtol=1e-4)
                np.testing.assert_allclose(engine.layers[l].pred[i].double().numpy(),
                                           unit.pred, atol=2e-6, rtol=1e-4)
    # the test is not vacuous: the weights did learn
    assert (engine.unit_weights(0, 0)[0] - start[0]).abs().max() > 1e-3
    got = (engine.err_sq / 1).numpy()
    np.testing.assert_allclose(got, ref.err_sq, rtol=1e-4)


def test_frozen_layers_and_switches():
    cfg = tiny(schedule={**SCHEDULE, "delay_each_layer": 100})
    engine = PVMEngine(cfg)
    w_top = engine.layers[3].w1.clone()
    for frame in frames(3):
        engine.step(frame)
    assert torch.equal(engine.layers[3].w1, w_top)  # not yet learning
    assert engine.learning_rate(0) == SCHEDULE["intermediate_learning_rate"]  # step 3
    engine.frozen = True
    assert engine.learning_rate(0) == 0.0
    engine.frozen, engine.lr_override = False, 0.2
    assert engine.learning_rate(3) == 0.2
    engine.lateral, engine.feedback = True, False
    assert engine.context_switches() == (True, False)


@variants
def test_owned_slices_compute_what_the_whole_engine_computes(variant):
    cfg = tiny(**variant)
    whole = PVMEngine(cfg)
    halves = []
    buffers = {}
    for part in range(2):
        owned = []
        for t in whole.topology:
            cut = t.units // 2
            owned.append((0, cut) if part == 0 else (cut, t.units))
        halves.append(owned)
    # run the two halves in lockstep, exchanging hidden states by hand
    engines = []
    for p, owned in enumerate(halves):
        def exchange(l, hidden, p=p):
            buffers[(l, p)] = hidden
            return None
        engines.append(PVMEngine(cfg, owned=owned, exchange=exchange))
    for frame in frames(5):
        whole.step(frame)
        _lockstep(engines, buffers, frame)
    for l in range(4):
        joined = torch.cat([e.layers[l].w1 for e in engines])
        torch.testing.assert_close(joined, whole.layers[l].w1)
        joined = torch.cat([e.layers[l].pred for e in engines])
        torch.testing.assert_close(joined, whole.layers[l].pred)


def _lockstep(engines, buffers, frame):
    """Step engines that own halves of every layer, layer by layer, with threads."""
    import threading

    barrier = threading.Barrier(len(engines), timeout=120)

    def make(p):
        def exchange(l, hidden):
            buffers[(l, p)] = hidden
            barrier.wait()
            full = torch.cat([buffers[(l, q)] for q in range(len(engines))])
            barrier.wait()
            return full
        return exchange

    threads = []
    for p, e in enumerate(engines):
        e.exchange = make(p)
        threads.append(threading.Thread(target=e.step, args=(frame,)))
    for th in threads:
        th.start()
    for th in threads:
        th.join()


def test_rational_slope_matches_autograd():
    x = torch.linspace(-5, 5, 101, dtype=torch.float64, requires_grad=True)
    for kind in ("sigmoid", "rational"):
        y = activate(x, kind)
        (grad,) = torch.autograd.grad(y.sum(), x)
        torch.testing.assert_close(activation_slope(y.detach(), kind), grad)


def test_readout_learns_the_mask():
    cfg = tiny(readout={"tile_size": 2, "learning_rate": 0.5})
    cfg.schedule.initial_learning_rate = 0.0
    engine = PVMEngine(cfg)
    mask = torch.zeros(12, 12)
    mask[2:6, 2:6] = 1
    frame = frames(1)[0]
    errs = []
    for _ in range(200):
        engine.step(frame, mask)
        target = engine.heatmap_tiles(mask, 0) * 0.6 + 0.4
        errs.append((engine.layers[0].heat - target).abs().mean().item())
    assert errs[-1] < 0.5 * errs[0]


def test_prediction_image_inverts_patches():
    engine = PVMEngine(tiny())
    frame = frames(1)[0]
    engine.layers[0].pred = engine.patches(frame)
    assert torch.equal(engine.prediction_image(), frame)


def _addresses(engine):
    return [t.data_ptr() for t in engine.mutable_tensors()]


@variants
def test_graphed_step_matches_the_engine_and_keeps_every_buffer(variant):
    """The CUDA-graph path's bookkeeping, on CPU: recording (with its warm-up runs and
    state restore) and replaying from static buffers give the ordinary steps' results,
    across structure changes (first step, layers starting to learn, context switches),
    and no step moves a state tensor to new memory (a captured graph would not see it)."""
    from axon.pvm.graph import GraphedStep, eager_record

    cfg = tiny(readout={"tile_size": 2, "learning_rate": 0.5}, **variant)
    plain, graphed = PVMEngine(cfg), PVMEngine(cfg)
    stepper = GraphedStep(graphed, record=eager_record)
    before = _addresses(graphed)
    mask = torch.zeros(12, 12)
    mask[3:7, 2:8] = 1
    for t, frame in enumerate(frames(8)):
        plain.step(frame, mask)
        stepper.step(frame, mask)
        if t == 5:
            plain.frozen = graphed.frozen = True
    assert len(stepper.replays) >= 4  # the structure changed along the way
    assert _addresses(graphed) == before
    named = plain.state_tensors()
    assert ("layer0.out" in named) == ("prediction" in variant)
    assert ("layer0.norm_var" in named) == ("input_norm" in variant)
    for a, b in zip(named.values(), graphed.state_tensors().values()):
        torch.testing.assert_close(a, b, **float32_tolerance(variant))
    torch.testing.assert_close(plain.err_sq, graphed.err_sq)
    assert stepper.failed is None


def test_graphed_step_falls_back_to_eager_steps():
    from axon.pvm.graph import GraphedStep

    def broken(body):
        body()  # changes the model, as a warm-up would, then fails
        raise RuntimeError("no graphs here")

    plain, graphed = PVMEngine(tiny()), PVMEngine(tiny())
    stepper = GraphedStep(graphed, record=broken)
    with pytest.warns(UserWarning, match="no graphs here"):
        for frame in frames(4):
            plain.step(frame)
            stepper.step(frame)
    for a, b in zip(plain.state_tensors().values(), graphed.state_tensors().values()):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)


@variants
def test_chunked_steps_match_whole_layer_steps(variant):
    """Stepping units in cache-sized chunks computes, bit for bit, what one batch of
    all units does (every unit's rows are aligned alike, see axon.pvm.batch)."""
    cfg = tiny(**variant)
    whole, chunked = PVMEngine(cfg, chunk_bytes=None), PVMEngine(cfg, chunk_bytes=1)
    assert len(chunked.batches[0].chunks) == chunked.layers[0].n > 1
    for frame in frames(6):
        whole.step(frame)
        chunked.step(frame)
    _assert_equal_states(whole, chunked)


def _assert_equal_states(a, b):
    sa, sb = a.state_tensors(), b.state_tensors()
    assert sa.keys() == sb.keys()
    for name in sa:
        assert torch.equal(sa[name], sb[name]), name
    for x, y in zip((a.err_abs, a.err_sq, a.copy_sq), (b.err_abs, b.err_sq, b.copy_sq)):
        assert torch.equal(x, y)


TOGETHER = {**SCHEDULE, "delay_each_layer": 0}  # every layer learns from step 1
MERGED = {"original": {"activation": "rational"},
          "original-together": {"activation": "rational", "schedule": TOGETHER},
          "original-quirks": {"activation": "rational",
                              "context": {"top_twice": True, "lateral_from_layer0": True}},
          "axon-unit": {"prediction": "change", "input_norm": {"decay": 0.8}},
          "axon-unit-together": {"prediction": "change", "input_norm": {"decay": 0.8},
                                 "schedule": TOGETHER},
          "sigmoid-two-back": {"activation": "sigmoid", "momentum": 0.9,
                               "context": {"two_layers_back": True}}}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("kw", MERGED.values(), ids=MERGED.keys())
def test_merged_layers_step_exactly_as_the_per_layer_loop(kw, dtype):
    """The pipelined step with every layer of one unit shape merged into one batch
    (layers 1-3 here, of context widths 14, 13 and 6: zero rows pad the narrower ones)
    gives bit for bit the per-layer loop's weights, states and error sums, over steps
    where the layers start learning one by one (different momentum scales: one
    update call per layer) or together (one call for the batch), and the context
    switches on, chunked or not."""
    cfg = tiny(step="pipelined", readout={"tile_size": 2, "learning_rate": 0.5}, **kw)
    loop = PVMEngine(cfg, dtype=dtype, merge_layers=False)
    merged = PVMEngine(cfg, dtype=dtype, merge_layers=True)
    chunked = PVMEngine(cfg, dtype=dtype, merge_layers=True, chunk_bytes=1)
    assert [b.ids for b in loop.batches] == [[0], [1], [2], [3]]
    assert [b.ids for b in merged.batches] == [[0], [1, 2, 3]]
    widths = [layer.D for layer in merged.layers[1:]]
    assert len(set(widths)) == 3 and merged.batches[1].D == max(widths)
    mask = torch.zeros(12, 12)
    mask[3:7, 2:8] = 1
    start = merged.layers[3].w1.clone()
    for frame in frames(9):
        for engine in (loop, merged, chunked):
            engine.step(frame.to(dtype), mask)
    assert not torch.equal(merged.layers[3].w1, start)  # the top layer learned
    together = kw.get("schedule") is TOGETHER
    assert (merged.momentum_scale[1] == merged.momentum_scale[3]) == together
    _assert_equal_states(loop, merged)
    _assert_equal_states(loop, chunked)


def test_merging_layers_needs_the_pipelined_step():
    with pytest.raises(ValueError, match="pipelined"):
        PVMEngine(tiny(), merge_layers=True)
    assert len(PVMEngine(tiny(step="pipelined")).batches) == 4  # CPU default: per layer


def test_change_mode_predicts_the_signal_plus_the_change():
    engine = PVMEngine(tiny(prediction="change"))
    frame = frames(1)[0]
    engine.step(frame)
    layer = engine.layers[0]
    want = (engine.patches(frame) + 2 * (layer.out - 0.5)).clamp(0, 1)
    torch.testing.assert_close(layer.pred, want)
    assert not torch.equal(layer.out, layer.pred)


def test_copy_baseline_is_the_signal_change():
    engine = PVMEngine(tiny())
    video = frames(3)
    for frame in video:
        engine.step(frame)
    change = sum(((engine.patches(b) - engine.patches(a)) ** 2).sum().item()
                 for a, b in zip(video, video[1:]))
    assert engine.copy_sq[0].item() == pytest.approx(change, rel=1e-5)
    assert engine.err_count[0].item() == 2 * engine.patches(video[0]).numel()


def test_standardise_tracks_the_mean_and_variance():
    """Equal weights give the plain mean and variance of the steps so far; then the
    weight stays at 1 - decay; the output is the standardised input."""
    from axon.pvm.engine import standardise

    g = torch.Generator().manual_seed(0)
    xs = torch.rand(8, 2, 3, generator=g, dtype=torch.float64)
    mean, var = torch.zeros(2, 3, dtype=torch.float64), torch.zeros(2, 3, dtype=torch.float64)
    for t in range(4):
        x = xs[t].clone()
        standardise(x, mean, var, 1 / (t + 1), eps=1e-4)
        torch.testing.assert_close(mean, xs[:t + 1].mean(0))
        torch.testing.assert_close(var, xs[:t + 1].var(0, unbiased=False))
        torch.testing.assert_close(x, (xs[t] - mean) / (var + 1e-4).sqrt())
    m0, v0 = mean.clone(), var.clone()
    standardise(xs[4].clone(), mean, var, 0.1, eps=1e-4)
    torch.testing.assert_close(mean, 0.9 * m0 + 0.1 * xs[4])
    torch.testing.assert_close(var, 0.9 * v0 + 0.1 * 0.9 * (xs[4] - m0) ** 2)


def test_input_norm_standardises_the_signal_blocks():
    """After many steps every signal-block input of a unit has about zero mean and unit
    variance over the recent steps; context and bias are left as they are."""
    engine = PVMEngine(tiny(input_norm={"decay": 0.99}, schedule={**SCHEDULE,
                                                                  "initial_learning_rate": 0}))
    rows = []
    for frame in frames(300):
        engine.step(frame)
        rows.append(engine.layers[0].x_in[0].clone())
    x = torch.stack(rows[200:])
    # signal, derivative, integral and error of a 3x3x3 patch; the first two are white
    # noise here (the integral and the error are slow and need longer averages)
    white = x[:, :2 * 27]
    assert white.mean(0).abs().max() < 0.3
    assert ((white.std(0) - 1).abs().max()) < 0.3
    context = x[:, 4 * 27:-1]
    assert context.min() >= 0 and context.max() <= 1 and context.std() > 0
    assert torch.all(x[:, -1] == 1)


def _three_layers(**kw):
    """A 3-layer hierarchy learning from step 0 with lateral, feedback and top context."""
    sched = {**SCHEDULE, "delay_each_layer": 0, "enable_lateral_at": 0,
             "enable_feedback_at": 0}
    data = {"input_size": 12, "input_block_size": 3, "hidden_block_size": 3,
            "layer_shapes": [4, 2, 1], "step": "pipelined", "activation": "rational",
            "schedule": sched}
    data.update(kw)
    return parse_model(data)


@pytest.mark.parametrize("kw", [
    {}, {"context": {"top_twice": True, "lateral_from_layer0": True}},
    {"prediction": "change", "input_norm": {"decay": 0.8}},
], ids=["original", "original-quirks", "axon-unit"])
def test_pipelined_engine_matches_pipelined_reference(kw):
    """The pipelined step (every layer reads the previous step's states) of the batched
    engine equals the per-unit reference with the same timing, over 8 learning steps
    with lateral, feedback and top context on, on a 3-layer hierarchy."""
    engine = PVMEngine(_three_layers(**kw))
    ref = reference_for(engine)
    start = engine.unit_weights(1, 0)[0].clone()
    for frame in frames(8):
        engine.step(frame)
        ref.step(frame.double().numpy())
        for l, topo in enumerate(engine.topology):
            for i in range(topo.units):
                w1, w2 = engine.unit_weights(l, i)
                unit = ref.layers[l][i]
                tol = float32_tolerance(kw)
                np.testing.assert_allclose(w1.double().numpy(), unit.w1, **tol)
                np.testing.assert_allclose(w2.double().numpy(), unit.w2, **tol)
                np.testing.assert_allclose(engine.layers[l].pred[i].double().numpy(),
                                           unit.pred, **tol)
                np.testing.assert_allclose(engine.layers[l].hidden[i].double().numpy(),
                                           unit.hidden, **tol)
    assert (engine.unit_weights(1, 0)[0] - start).abs().max() > 1e-3
    np.testing.assert_allclose(engine.err_sq.numpy(), ref.err_sq, rtol=1e-4)


def test_pipelined_step_reads_the_previous_steps_states():
    """Pipelined, layer 1's signal at step t is layer 0's hidden state of step t-1;
    bottom-up, it is layer 0's hidden state of step t."""
    video = frames(3)
    for step in ("pipelined", "bottom_up"):
        engine = PVMEngine(_three_layers(step=step))
        for frame in video:
            before = engine.layers[0].hidden.clone()
            engine.step(frame)
            source = before if step == "pipelined" else engine.layers[0].hidden
            want = source[engine.layers[1].children.reshape(-1)].reshape(engine.layers[1].n, -1)
            torch.testing.assert_close(engine.layers[1].signal, want)


@pytest.mark.parametrize("step,per_step,merge", [("pipelined", 1, False), ("bottom_up", 3, False),
                                                ("pipelined", 1, True)],
                         ids=["pipelined", "bottom_up", "pipelined-merged"])
def test_owned_slices_exchange_once_per_step_when_pipelined(step, per_step, merge):
    """Two engines owning halves of every layer compute what the whole engine does;
    the pipelined step exchanges every layer's states in one call per step (also with
    each process's slices of layers 1-2 merged into one batch)."""
    import threading

    cfg = _three_layers(step=step)
    whole = PVMEngine(cfg)
    barrier = threading.Barrier(2, timeout=120)
    posted: dict = {}

    def make(p):
        def exchange_all(owned):
            posted[p] = owned
            barrier.wait()
            full = [torch.cat([posted[0][l], posted[1][l]]) for l in range(len(owned))]
            barrier.wait()
            return full
        return exchange_all

    engines = []
    for p in range(2):
        owned = [((0, t.units // 2) if p == 0 else (t.units // 2, t.units))
                 for t in whole.topology]
        all_p = make(p)
        engines.append(PVMEngine(cfg, owned=owned, exchange=lambda l, h, f=all_p: f([h])[0],
                                 exchange_all=all_p, merge_layers=merge))
        assert len(engines[-1].batches) == (2 if merge else 3)
    video = frames(5)
    for frame in video:
        whole.step(frame)
        threads = [threading.Thread(target=e.step, args=(frame,)) for e in engines]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    for e in engines:
        assert e.exchange_calls == per_step * len(video)
    for l in range(3):
        joined = torch.cat([e.layers[l].w1 for e in engines])
        torch.testing.assert_close(joined, whole.layers[l].w1)


def test_supervised_only_trains_the_readout_alone():
    cfg = tiny(readout={"tile_size": 2, "learning_rate": 0.5, "supervised_only": True})
    engine = PVMEngine(cfg)
    w1, readout = engine.layers[0].w1.clone(), engine.layers[0].readout.clone()
    mask = torch.zeros(12, 12)
    mask[2:6, 2:6] = 1
    for frame in frames(4):
        engine.step(frame, mask)
    assert torch.equal(engine.layers[0].w1, w1)
    assert not torch.equal(engine.layers[0].readout, readout)


def test_graphed_merged_step_updates_each_batch_in_one_call():
    """A merged engine replayed from recorded steps (the CUDA-graph path's bookkeeping,
    on CPU) steps as the eager merged engine, and layers sharing a momentum scale are
    updated by one call per batch in both."""
    from axon.pvm.graph import GraphedStep, eager_record

    cfg = tiny(step="pipelined", schedule=TOGETHER)
    plain = PVMEngine(cfg, merge_layers=True, chunk_bytes=None)
    graphed = PVMEngine(cfg, merge_layers=True, chunk_bytes=None)
    calls = {id(plain): 0, id(graphed): 0}
    for engine in (plain, graphed):
        learn = engine._learn

        def counted(*args, engine=engine, learn=learn):
            calls[id(engine)] += 1
            learn(*args)
        engine._learn = counted
    stepper = GraphedStep(graphed, record=eager_record)
    video = frames(6)
    plain.step(video[0])
    stepper.step(video[0])
    for frame in video[1:]:
        before = dict(calls)
        plain.step(frame)
        stepper.step(frame)
        assert calls[id(plain)] - before[id(plain)] == 2  # two batches, one call each
    assert calls[id(graphed)] - before[id(graphed)] == 2  # the last step was a replay
    assert stepper.failed is None
    for a, b in zip(plain.state_tensors().values(), graphed.state_tensors().values()):
        torch.testing.assert_close(a, b, **float32_tolerance({}))


def test_merged_and_per_layer_engines_read_each_others_snapshot_tensors():
    """Merging changes no snapshot: a merged engine's state tensors have the per-layer
    engine's names and shapes (each layer's own input width), and each engine continues
    bit for bit from the other's."""
    cfg = tiny(step="pipelined", prediction="change", input_norm={"decay": 0.8})
    video = frames(8)
    loop, merged = PVMEngine(cfg, merge_layers=False), PVMEngine(cfg, merge_layers=True)
    for frame in video[:4]:
        loop.step(frame)
        merged.step(frame)
    shapes = {n: t.shape for n, t in loop.state_tensors().items()}
    assert {n: t.shape for n, t in merged.state_tensors().items()} == shapes
    to_merged, to_loop = PVMEngine(cfg, merge_layers=True), PVMEngine(cfg, merge_layers=False)
    for src, dst in ((loop, to_merged), (merged, to_loop)):
        dst.load_state_tensors({n: t.clone() for n, t in src.state_tensors().items()})
        dst.step_count, dst.has_pred = src.step_count, src.has_pred
    for frame in video[4:]:
        for engine in (loop, merged, to_merged, to_loop):
            engine.step(frame)
    for engine in (merged, to_merged, to_loop):
        for name, t in loop.state_tensors().items():
            assert torch.equal(engine.state_tensors()[name], t), name
