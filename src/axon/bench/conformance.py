"""The conformance battery: checks every axon.nn layer and zoo model passes.

Each case builds a small `Model` (a layer wrapped between `Input`s, or a zoo model at
a small input size). The checks:

- shapes: the shapes inferred when the graph was built equal the activations' shapes;
- gradients: autograd against central finite differences in float64, for inputs and for
  weights (the full Jacobian for small cases, random directional derivatives for zoo models);
- batch_invariance: in eval mode each sample's output equals its output run alone;
- spec_round_trip: `axon.nn.save` then `axon.nn.load` gives bitwise identical outputs;
- determinism: two forward+backward passes on CPU give bitwise equal outputs and gradients;
- reference: agreement with the same thing written with PyTorch (where there is one);
- bfloat16: a bfloat16 forward is within tolerance of the float32 one;
- cuda: CUDA outputs match CPU outputs (skipped without a GPU, saying so).

Dropout is made repeatable inside a check by reseeding torch's generator before every
forward, so gradients are checked in training mode.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass
from typing import Callable, Iterable

import torch
import torch.nn.functional as F

from axon import nn as ann
from axon import zoo

Pair = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class Case:
    """One model the battery runs: `build()` gives a fresh float32 Model."""

    name: str
    build: Callable[[], ann.Model]
    batch: int = 3
    grad_batch: int = 2  # batch of the float64 gradient check
    reference: Callable[[ann.Model, tuple[torch.Tensor, ...]], Pair] | None = None
    reference_tol: float = 1e-5
    bf16_tol: float = 2e-2


@dataclass(frozen=True)
class Result:
    case: str
    check: str
    status: str  # "pass", "fail" or "skip"
    detail: str = ""


class CheckFailed(Exception):
    pass


class CheckSkipped(Exception):
    pass


# ---- helpers -----------------------------------------------------------------------
def make_inputs(model: ann.Model, batch: int, dtype=torch.float32, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Standard normal inputs `(batch, *shape)` for each model input, from a seeded generator."""
    gen = torch.Generator().manual_seed(seed)
    return tuple(torch.randn((batch, *model.shapes[n]), generator=gen, dtype=dtype) for n in model.input_names)


def _outputs(out) -> tuple[torch.Tensor, ...]:
    return out if isinstance(out, tuple) else (out,)


def _seeded(fn):
    """Run `fn` with torch's generator reseeded (same dropout masks every call), restoring it after."""

    def run(*args):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(1234)
            return fn(*args)

    return run


def _rel_err(got: torch.Tensor, expected: torch.Tensor) -> float:
    """Max absolute difference, relative to 1 + the largest expected magnitude."""
    got, expected = got.double(), expected.double()
    return ((got - expected).abs().max() / (1 + expected.abs().max())).item()


def _layer_model(layer_fn: Callable[[], ann.Layer], *shapes) -> Callable[[], ann.Model]:
    def build() -> ann.Model:
        inputs = [ann.Input(s, name=f"input{k}") for k, s in enumerate(shapes, start=1)]
        return ann.Model(inputs, layer_fn()(*inputs))

    return build


# ---- the checks --------------------------------------------------------------------
def check_shapes(case: Case, model: ann.Model) -> str:
    model.eval()
    with torch.no_grad():
        acts = model.activations(*make_inputs(model, case.batch))
    for name, value in acts.items():
        if tuple(value.shape[1:]) != model.shapes[name]:
            raise CheckFailed(f"{name}: inferred {model.shapes[name]}, ran {tuple(value.shape[1:])}")
    return f"{len(acts)} nodes"


FULL_JACOBIAN_LIMIT = 1000  # numbers in inputs + weights up to which the whole Jacobian is checked


def check_gradients(case: Case, model: ann.Model) -> str:
    model = copy.deepcopy(model).double().train()
    inputs = tuple(x.requires_grad_() for x in make_inputs(model, case.grad_batch, torch.float64))
    params = tuple(model.parameters())  # perturbed in place by the finite differences
    f = _seeded(lambda *args: model(*args[: len(inputs)]))
    size = sum(t.numel() for t in inputs + params)
    if size <= FULL_JACOBIAN_LIMIT:
        try:
            torch.autograd.gradcheck(f, inputs + params, eps=1e-6, atol=1e-6, rtol=1e-4)
        except RuntimeError as err:
            raise CheckFailed(str(err).splitlines()[0]) from None
        return f"full Jacobian over {size} numbers"
    return _check_directional(f, inputs, params)


def _check_directional(f, inputs: tuple[torch.Tensor, ...], params: tuple[torch.Tensor, ...]) -> str:
    """Central differences along one random unit direction in the inputs and one in the
    weights, against autograd's directional derivative of a random projection of the outputs."""
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        n_out = sum(o.numel() for o in _outputs(f(*inputs)))
    projection = torch.randn(n_out, generator=gen, dtype=torch.float64)

    def scalar() -> torch.Tensor:
        return torch.cat([o.reshape(-1) for o in _outputs(f(*inputs))]) @ projection

    analytic = torch.autograd.grad(scalar(), inputs + params)
    worst, eps = 0.0, 1e-6
    for part, tensors, grads in (("inputs", inputs, analytic[: len(inputs)]),
                                 ("weights", params, analytic[len(inputs):])):
        dirs = [torch.randn(t.shape, generator=gen, dtype=torch.float64) for t in tensors]
        norm = torch.sqrt(sum((d * d).sum() for d in dirs))
        dirs = [d / norm for d in dirs]
        with torch.no_grad():
            for t, d in zip(tensors, dirs):
                t.add_(eps * d)
            plus = scalar()
            for t, d in zip(tensors, dirs):
                t.sub_(2 * eps * d)
            minus = scalar()
            for t, d in zip(tensors, dirs):
                t.add_(eps * d)
        numeric = ((plus - minus) / (2 * eps)).item()
        exact = sum((g * d).sum() for g, d in zip(grads, dirs)).item()
        err = abs(numeric - exact) / (1e-12 + abs(exact))
        worst = max(worst, err)
        if err > 1e-5:
            raise CheckFailed(f"{part}: directional derivative {exact:.10g} by autograd, {numeric:.10g} by "
                              f"finite differences (relative error {err:.2e})")
    size = sum(t.numel() for t in inputs + params)
    return f"directional derivatives over {size} numbers, worst relative error {worst:.1e}"


def check_batch_invariance(case: Case, model: ann.Model) -> str:
    model = copy.deepcopy(model).double().eval()
    inputs = make_inputs(model, case.batch, torch.float64)
    with torch.no_grad():
        together = _outputs(model(*inputs))
        alone = [_outputs(model(*[x[i : i + 1] for x in inputs])) for i in range(case.batch)]
    worst = 0.0
    for k, out in enumerate(together):
        worst = max(worst, _rel_err(torch.cat([a[k] for a in alone]), out))
    if worst > 1e-10:
        raise CheckFailed(f"batch of {case.batch} differs from samples run alone by {worst:.2e}")
    return f"max difference {worst:.1e}"


def check_spec_round_trip(case: Case, model: ann.Model) -> str:
    model.eval()
    inputs = make_inputs(model, case.batch)
    with tempfile.TemporaryDirectory() as folder:
        ann.save(model, folder)
        loaded = ann.load(folder).eval()
    if loaded.to_spec() != model.to_spec():
        raise CheckFailed("the loaded model's spec differs from the saved one")
    with torch.no_grad():
        for a, b in zip(_outputs(model(*inputs)), _outputs(loaded(*inputs))):
            if not torch.equal(a, b):
                raise CheckFailed(f"outputs differ after save/load by {(a - b).abs().max().item():.2e}")
    return "bitwise equal"


def check_determinism(case: Case, model: ann.Model) -> str:
    model.train()

    @_seeded
    def step():
        model.zero_grad(set_to_none=True)
        inputs = tuple(x.requires_grad_() for x in make_inputs(model, case.batch))
        outs = _outputs(model(*inputs))
        sum((o * torch.linspace(-1, 1, o.numel()).reshape(o.shape)).sum() for o in outs).backward()
        grads = [x.grad for x in inputs] + [p.grad for p in model.parameters() if p.grad is not None]
        return [o.detach() for o in outs] + [g.clone() for g in grads]

    first, second = step(), step()
    for a, b in zip(first, second):
        if not torch.equal(a, b):
            raise CheckFailed(f"two passes differ by {(a - b).abs().max().item():.2e}")
    return f"{len(first)} tensors bitwise equal"


def check_reference(case: Case, model: ann.Model) -> str:
    if case.reference is None:
        raise CheckSkipped("no PyTorch reference for this case")
    model.eval()
    with torch.no_grad():
        got, expected = case.reference(model, make_inputs(model, case.batch))
    err = _rel_err(got, expected)
    if tuple(got.shape) != tuple(expected.shape) or err > case.reference_tol:
        raise CheckFailed(f"differs from the PyTorch reference by {err:.2e} (tolerance {case.reference_tol:g})")
    return f"max difference {err:.1e}"


def check_bfloat16(case: Case, model: ann.Model) -> str:
    model.eval()
    inputs = make_inputs(model, case.batch)
    low = copy.deepcopy(model).to(torch.bfloat16)
    with torch.no_grad():
        full = _outputs(model(*inputs))
        half = _outputs(low(*[x.to(torch.bfloat16) for x in inputs]))
    worst = max(_rel_err(h.float(), f) for h, f in zip(half, full))
    if worst > case.bf16_tol:
        raise CheckFailed(f"bfloat16 differs from float32 by {worst:.2e} (tolerance {case.bf16_tol:g})")
    return f"max difference {worst:.1e}"


def check_cuda(case: Case, model: ann.Model) -> str:
    if not torch.cuda.is_available():
        raise CheckSkipped("no CUDA device (torch.cuda.is_available() is False)")
    model.eval()
    inputs = make_inputs(model, case.batch)
    gpu = copy.deepcopy(model).cuda()
    tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        with torch.no_grad():
            cpu_out = _outputs(model(*inputs))
            gpu_out = _outputs(gpu(*[x.cuda() for x in inputs]))
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32
    worst = max(_rel_err(g.cpu(), c) for g, c in zip(gpu_out, cpu_out))
    if worst > 1e-4:
        raise CheckFailed(f"CUDA differs from CPU by {worst:.2e}")
    return f"max difference {worst:.1e}"


CHECKS: dict[str, Callable[[Case, ann.Model], str]] = {
    "shapes": check_shapes,
    "gradients": check_gradients,
    "batch_invariance": check_batch_invariance,
    "spec_round_trip": check_spec_round_trip,
    "determinism": check_determinism,
    "reference": check_reference,
    "bfloat16": check_bfloat16,
    "cuda": check_cuda,
}


def run_check(case: Case, check: str) -> Result:
    """Run one check on a freshly built model of `case`, on one thread (the shapes are
    small: extra threads cost more than they bring, many times more on a busy CPU)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        model = case.build()
        if not isinstance(model, ann.Model):
            raise CheckFailed(f"built a {type(model).__name__}, not an axon.nn.Model: the battery needs a graph "
                              "(its input shapes and spec)")
        return Result(case.name, check, "pass", CHECKS[check](case, model))
    except CheckSkipped as why:
        return Result(case.name, check, "skip", str(why))
    except CheckFailed as why:
        return Result(case.name, check, "fail", str(why))
    finally:
        torch.set_num_threads(threads)


def run_battery(cases: Iterable[Case] | None = None, checks: Iterable[str] | None = None,
                on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """Every check on every case (all by default); `on_result` is called after each."""
    results = []
    for case in CASES if cases is None else cases:
        for check in CHECKS if checks is None else checks:
            result = run_check(case, check)
            if on_result is not None:
                on_result(result)
            results.append(result)
    return results


# ---- references --------------------------------------------------------------------
def _conv_reference(model: ann.Model, inputs) -> Pair:
    conv = model.layer("layer")
    return model(*inputs), F.conv2d(inputs[0], conv.weight, conv.bias, conv.stride,
                                    (conv.kernel_size[0] // 2, conv.kernel_size[1] // 2))


def _tied_local_reference(model: ann.Model, inputs) -> Pair:
    local = model.layer("layer")
    conv = ann.Conv(local.in_bands, local.out_bands, local.kernel_size)
    local.tie_(conv.weight, conv.bias)
    return model(*inputs), conv(inputs[0])


def _inception_by_hand(model: ann.Model, inputs) -> Pair:
    block = model.layer("layer")
    x = inputs[0]

    def conv_relu(t, seq, k):
        conv = seq[k]
        return F.relu(F.conv2d(t, conv.weight, conv.bias, padding=conv.kernel_size[0] // 2))

    b1 = conv_relu(x, block.branch_1x1, 0)
    b3 = conv_relu(conv_relu(x, block.branch_3x3, 0), block.branch_3x3, 2)
    b5 = conv_relu(conv_relu(x, block.branch_5x5, 0), block.branch_5x5, 2)
    bp = conv_relu(F.max_pool2d(x, 3, stride=1, padding=1), block.branch_pool, 1)
    return model(*inputs), torch.cat([b1, b3, b5, bp], dim=1)


def _lrn_formula(model: ann.Model, inputs) -> Pair:
    lrn = model.layer("layer")
    x = inputs[0]
    half = lrn.size // 2
    squares = F.pad(x * x, (0, 0, 0, 0, half, lrn.size - 1 - half))
    window = sum(squares[:, c : c + x.shape[1]] for c in range(lrn.size))
    return model(*inputs), x / (lrn.k + lrn.alpha / lrn.size * window) ** lrn.beta


def _torch_module_reference(make_torch: Callable[[ann.Layer], torch.nn.Module]):
    def reference(model: ann.Model, inputs) -> Pair:
        return model(*inputs), make_torch(model.layer("layer"))(*inputs)

    return reference


def _layer_case(name: str, layer_fn: Callable[..., ann.Layer], *shapes, **options) -> Case:
    return Case(name, _layer_model(lambda: layer_fn(name="layer"), *shapes), **options)


CASES: list[Case] = [
    _layer_case("Conv 3x3", lambda name: ann.Conv(3, 4, 3, name=name), (3, 6, 6), reference=_conv_reference),
    _layer_case("Conv 5x3 stride 2", lambda name: ann.Conv(2, 3, (5, 3), stride=2, name=name), (2, 7, 6),
                reference=_conv_reference),
    _layer_case("Conv 1x1 no bias", lambda name: ann.Conv(4, 2, 1, bias=False, name=name), (4, 3, 3),
                reference=_conv_reference),
    _layer_case("LocallyConnected2d", lambda name: ann.LocallyConnected2d(2, 2, 3, (4, 3), name=name), (2, 4, 3),
                reference=_tied_local_reference),
    _layer_case("Concat", lambda name: ann.Concat(name=name), (2, 3, 3), (3, 3, 3),
                reference=lambda m, xs: (m(*xs), torch.cat(xs, dim=1))),
    _layer_case("Inception", lambda name: ann.Inception(4, 2, 2, 3, 1, 2, 2, name=name), (4, 5, 5),
                reference=_inception_by_hand),
    _layer_case("Subsample max 3/2 ceil", lambda name: ann.Subsample(3, 2, ceil_mode=True, name=name), (2, 6, 6),
                reference=_torch_module_reference(lambda s: torch.nn.MaxPool2d(3, 2, ceil_mode=True))),
    _layer_case("Subsample avg 2", lambda name: ann.Subsample(2, mode="avg", name=name), (2, 6, 4),
                reference=_torch_module_reference(lambda s: torch.nn.AvgPool2d(2))),
    _layer_case("AdaptivePool avg 2x2", lambda name: ann.AdaptivePool(2, name=name), (3, 5, 5),
                reference=_torch_module_reference(lambda s: torch.nn.AdaptiveAvgPool2d(2))),
    _layer_case("GlobalAvgPool", lambda name: ann.GlobalAvgPool(name=name), (3, 4, 4),
                reference=lambda m, xs: (m(*xs), xs[0].mean(dim=(2, 3)))),
    _layer_case("Dense", lambda name: ann.Dense(6, 4, name=name), (6,),
                reference=lambda m, xs: (m(*xs), xs[0] @ m.layer("layer").weight.T + m.layer("layer").bias)),
    _layer_case("Flatten", lambda name: ann.Flatten(name=name), (2, 3, 3),
                reference=lambda m, xs: (m(*xs), xs[0].reshape(len(xs[0]), -1))),
    *[
        _layer_case(f"Activation {kind}", lambda name, kind=kind: ann.Activation(kind, name=name), (3, 4, 4))
        for kind in sorted(ann.ACTIVATIONS)
    ],
    _layer_case("BatchNorm images", lambda name: ann.BatchNorm(3, name=name), (3, 4, 4),
                reference=_torch_module_reference(lambda b: torch.nn.BatchNorm2d(3).eval())),
    _layer_case("BatchNorm features", lambda name: ann.BatchNorm(5, name=name), (5,),
                reference=_torch_module_reference(lambda b: torch.nn.BatchNorm1d(5).eval())),
    _layer_case("Dropout", lambda name: ann.Dropout(0.5, name=name), (3, 4, 4)),
    _layer_case("LocalResponseNorm", lambda name: ann.LocalResponseNorm(3, alpha=0.5, name=name), (5, 3, 3),
                reference=_lrn_formula),
    _layer_case("Softmax", lambda name: ann.Softmax(name=name), (6,),
                reference=lambda m, xs: (m(*xs), torch.exp(xs[0]) / torch.exp(xs[0]).sum(1, keepdim=True))),
]

# Zoo models are checked with these builder arguments (small inputs); a registered model not
# listed here is checked with its defaults.
ZOO_CASES = {
    "digits-mlp": ("zoo digits-mlp", dict(hidden=16), {}),
    "mlp": ("zoo mlp", dict(input_shape=(2, 3, 3), hidden=(8, 6), activation="tanh"), {}),
    "googlenet": ("zoo googlenet 64x64 aux", dict(num_classes=10, image_size=64, aux_logits=True),
                  dict(batch=2, grad_batch=1, bf16_tol=5e-2)),
}


# Zoo models that are not image graphs, with where they are checked instead.
NOT_IN_BATTERY = {"pointpillars": "takes pillars of lidar points, not images: checked against per-point references "
                                  "in tests/nn/test_pillars.py, tests/zoo and tests/detect"}


def _zoo_case(name: str) -> Case:
    label, kwargs, options = ZOO_CASES.get(name, (f"zoo {name}", {}, {}))
    return Case(label, lambda: zoo.create(name, **kwargs), **options)


CASES += [_zoo_case(name) for name in zoo.names() if name not in NOT_IN_BATTERY]
