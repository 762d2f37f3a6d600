"""`axon classic gates|perceptron|xor|voting|weights|hopfield|hopfield-rules|hopfield-states|
capacity|modern-hopfield|boltzmann|rbm|dbn`: the experiments of axon.classic. Each prints its result and writes its
plot (PNG) under --out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from axon.cli import common_options
from axon.errors import AxonError

DEFAULT_OUT = "runs/classic"


def _say(message: str) -> None:
    """A progress line: through rich on a terminal, plain otherwise."""
    if sys.stdout.isatty():
        from rich.console import Console

        Console().print(message, highlight=False)
    else:
        print(message, flush=True)


def _add(commands, name: str, help_text: str, handler, out: bool = True, seed: bool = True, device: bool = False):
    parser = commands.add_parser(name, help=help_text, description=help_text, parents=[common_options()],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    if out:
        parser.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help="folder for the plot (and weights)")
    if seed:
        parser.add_argument("--seed", type=int, default=0, help="seed of the experiment's random generator")
    if device:
        parser.add_argument("--device", default="cpu", help="torch device to compute on (cpu, cuda, cuda:1, ...)")
    parser.set_defaults(func=handler)
    return parser


def add_commands(commands) -> None:
    """Add the classic-model experiments to the `axon classic` subparsers."""
    p = _add(commands, "gates", "print the truth tables of seed 002's sigmoid-neuron logic gates", _gates,
             out=False, seed=False)
    p.add_argument("--gate", help="only this gate (AND, OR, NOT, '(NOT a) AND (NOT b)', XNOR); default all")

    p = _add(commands, "perceptron", "Rosenblatt's perceptron on AND, OR, XOR and on the digits", _perceptron, out=False)
    p.add_argument("--max-iter", type=int, default=50, help="epochs at most")

    p = _add(commands, "xor", "an MLP learning XOR by backprop with axon's Trainer", _xor, out=False, device=True)
    p.add_argument("--hidden", type=int, default=4, help="hidden sigmoid units")
    p.add_argument("--epochs", type=int, default=300, help="full-batch training steps")
    p.add_argument("--lr", type=float, default=0.05, help="AdamW learning rate")

    p = _add(commands, "voting", "train seed 002's voting digit recogniser; save its weights and weight maps", _voting)
    p.add_argument("--max-iter", type=int, default=20, help="epochs at most")
    p.add_argument("--ink-threshold", type=float, default=0.5, help="a pixel has ink (votes) when its value is >= this (0.5: ink level 8 of 16 on the digits)")

    p = _add(commands, "weights", "draw the voting recogniser's weight maps (blob area = |weight|, colour = sign)",
             _weights, seed=False)
    p.add_argument("--weights", metavar="FILE",
                   help="weights saved by `axon classic voting` (default OUT/voting.safetensors; trained if missing)")

    p = _add(commands, "hopfield", "Hopfield recall from corrupted cues (asynchronous and synchronous); draws one "
             "recall step by step with its energy trace", _hopfield)
    p.add_argument("--neurons", type=int, default=400, help="N (drawn as a near-square image)")
    p.add_argument("--patterns", type=int, default=20, help="stored patterns p")
    p.add_argument("--flip", type=float, default=0.3, help="fraction of each cue's signs flipped")
    p.add_argument("--rule", choices=["hebb", "storkey", "pseudo-inverse"], default="hebb", help="learning rule")
    p.add_argument("--temperature", type=float, default=0.0, help="Glauber temperature (0: deterministic)")
    p.add_argument("--sweeps", type=int, default=3, help="asynchronous sweeps drawn")

    p = _add(commands, "hopfield-rules", "capacity of the Hebb, Storkey and pseudo-inverse rules on one plot",
             _hopfield_rules, device=True)
    p.add_argument("--neurons", type=int, default=200, help="N")
    p.add_argument("--alphas", type=float, nargs="+",
                   default=[0.05, 0.1, 0.14, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], help="loads alpha = p/N")
    p.add_argument("--trials", type=int, default=4, help="networks per load")
    p.add_argument("--cues", type=int, default=8, help="stored patterns used as starting states per network")
    p.add_argument("--max-sweeps", type=int, default=20, help="asynchronous sweeps at most")

    p = _add(commands, "hopfield-states", "Glauber dynamics against temperature (patterns and mixtures) and a census "
             "of the states reached from random starts (patterns, reversals, mixtures, other spurious)",
             _hopfield_states)
    p.add_argument("--neurons", type=int, default=300, help="N")
    p.add_argument("--temperatures", type=float, nargs="+",
                   default=[0.05, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2], help="temperatures T")
    p.add_argument("--census-patterns", type=int, nargs="+", default=[1, 3, 5, 7, 10, 15, 20, 30],
                   help="numbers of stored patterns for the census")
    p.add_argument("--starts", type=int, default=100, help="random starting states per census point")

    p = _add(commands, "capacity", "the Hopfield capacity experiment: overlap against load p/N, with theory",
             _capacity, device=True)
    p.add_argument("--sizes", type=int, nargs="+", default=[100, 250, 500, 1000, 2000], help="network sizes N")
    p.add_argument("--alphas", type=float, nargs="+",
                   default=[0.02, 0.05, 0.08, 0.1, 0.11, 0.12, 0.13, 0.14, 0.15, 0.16, 0.18, 0.2, 0.25],
                   help="loads alpha = p/N")
    p.add_argument("--trials", type=int, default=8, help="networks per (N, alpha)")
    p.add_argument("--cues", type=int, default=8, help="stored patterns used as starting states per network")
    p.add_argument("--max-sweeps", type=int, default=30, help="asynchronous sweeps at most")

    p = _add(commands, "modern-hopfield", "modern Hopfield retrieval against beta and the number of stored patterns",
             _modern, device=True)
    p.add_argument("--dim", type=int, default=64, help="pattern length N")
    p.add_argument("--patterns", type=int, nargs="+", default=[8, 64, 512, 4096, 16384], help="numbers of stored patterns")
    p.add_argument("--betas", type=float, nargs="+", default=[0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0], help="inverse temperatures")
    p.add_argument("--flip", type=float, default=0.2, help="fraction of each cue's signs flipped")
    p.add_argument("--queries", type=int, default=200, help="cues per setting")

    p = _add(commands, "boltzmann", "a Boltzmann machine learning 3x3 bars and stripes; exact KL by enumeration",
             _boltzmann, device=True)
    p.add_argument("--hidden", type=int, default=4, help="hidden units")
    p.add_argument("--iters", type=int, default=500, help="full-batch updates")
    p.add_argument("--lr", type=float, default=0.5, help="learning rate")
    p.add_argument("--statistics", choices=["gibbs", "exact"], default="gibbs",
                   help="estimate the correlations by Gibbs sampling or compute them exactly")

    p = _add(commands, "rbm", "an RBM on the digits: pseudo-likelihood, features for logistic regression, filters",
             _rbm, device=True)
    p.add_argument("--visible", choices=["bernoulli", "gaussian"], default="bernoulli", help="visible unit type")
    p.add_argument("--components", type=int, default=100, help="hidden units")
    p.add_argument("--epochs", type=int, default=20, help="epochs")
    p.add_argument("--lr", type=float, help="learning rate (default 0.02 Bernoulli, 0.002 Gaussian)")
    p.add_argument("--k", type=int, default=1, help="Gibbs steps per update")
    p.add_argument("--pcd", action="store_true", help="persistent CD-k instead of CD-k")
    p.add_argument("--chain-steps", type=int, default=1000, help="Gibbs steps of the drawn sampling chains")
    p.add_argument("--nudged", action="store_true",
                   help="also run scikit-learn's nudged-digits example: RBM + logistic regression against raw pixels")

    p = _add(commands, "dbn", "a DBN on the digits: test accuracy with and without greedy RBM pretraining", _dbn,
             out=False, device=True)
    p.add_argument("--hidden", type=int, nargs="+", default=[256, 128], help="hidden layer sizes")
    p.add_argument("--rbm-epochs", type=int, default=10, help="pretraining epochs per RBM")
    p.add_argument("--epochs", type=int, default=30, help="fine-tuning epochs (axon Trainer)")
    p.add_argument("--lr", type=float, default=3e-3, help="fine-tuning AdamW learning rate")
    p.add_argument("--quiet", action="store_true", help="no per-epoch progress, only the results")


def _gates(args) -> int:
    from axon.classic.logic import GATES, format_truth_table

    for name in [args.gate] if args.gate else list(GATES):
        print(format_truth_table(name) + "\n")
    return 0


def _perceptron(args) -> int:
    from axon.classic.experiments import perceptron_on_gates, train_on_digits
    from axon.classic.perceptron import Perceptron

    for gate, (epochs, accuracy) in perceptron_on_gates(args.max_iter, args.seed).items():
        status = "converged" if accuracy == 1.0 else "did not converge (not linearly separable)"
        print(f"{gate:>3}: {status} after {epochs} epochs, training accuracy {accuracy:.2f}")
    model, accuracy = train_on_digits(Perceptron(max_iter=args.max_iter, random_state=args.seed))
    print(f"digits: multi-class perceptron, {model.n_iter_} epochs, test accuracy {accuracy:.4f}")
    return 0


def _xor(args) -> int:
    from axon.classic.xor import train_xor

    result = train_xor(hidden=args.hidden, epochs=args.epochs, lr=args.lr, seed=args.seed, device=args.device)
    print(result.format_table())
    print(f"final loss {result.history[-1]['train_loss']:.4f}, accuracy {result.accuracy:.2f}")
    return 0


def _voting(args) -> int:
    from axon.classic.experiments import voting_recognizer
    from axon.classic.io import save_tensors
    from axon.viz.classic import plot_weight_maps

    model, accuracy = voting_recognizer(args.max_iter, args.ink_threshold, args.seed)
    out = Path(args.out)
    weights = save_tensors(out / "voting.safetensors", {"coef": model.coef_})
    plot = plot_weight_maps(model.coef_.cpu().numpy(), (8, 8), out / "voting_weights.png",
                            title=f"Voting recogniser weights (test accuracy {accuracy:.3f})")
    print(f"voting recogniser: {model.n_iter_} epochs, mistakes per epoch {model.mistakes_}")
    print(f"test accuracy {accuracy:.4f}")
    print(f"weights: {weights}\nweight maps: {plot}")
    return 0


def _weights(args) -> int:
    from axon.classic.io import load_tensors
    from axon.viz.classic import plot_weight_maps

    out = Path(args.out)
    path = Path(args.weights) if args.weights else out / "voting.safetensors"
    if not path.exists() and args.weights is None:
        _say(f"{path} not found: training the voting recogniser first")
        from axon.classic.experiments import voting_recognizer
        from axon.classic.io import save_tensors

        model, _ = voting_recognizer()
        save_tensors(path, {"coef": model.coef_})
    coef = load_tensors(path, required=("coef",))["coef"]
    if coef.dim() != 2 or coef.shape[1] != 64:
        raise AxonError(f"{path}: expected 'coef' of shape (n_classes, 64) for 8x8 digits, got {tuple(coef.shape)}")
    plot = plot_weight_maps(coef.numpy(), (8, 8), out / "voting_weights.png", title="Voting recogniser weights")
    print(f"weight maps of {path}: {plot}")
    return 0


def _image_shape(n: int) -> tuple[int, int]:
    """The most square (rows, columns) with rows * columns = n."""
    rows = max(d for d in range(1, int(n**0.5) + 1) if n % d == 0)
    return rows, n // rows


def _hopfield(args) -> int:
    from axon.classic.experiments import hopfield_recall_demo
    from axon.classic.hopfield_states import recall_trace
    from axon.viz.classic import plot_recall

    demo = hopfield_recall_demo(args.neurons, args.patterns, args.flip, args.seed, args.rule, args.temperature)
    print(f"N = {demo.n_neurons}, p = {demo.n_patterns} (alpha = {demo.n_patterns / demo.n_neurons:.3f}), "
          f"{demo.flip_fraction:.0%} of each cue flipped")
    print(f"cues:        overlap {demo.cue_overlap:.4f}, energy {demo.cue_energy:.2f}")
    for update in ("async", "sync"):
        print(f"{update + ' recall:':<13}overlap {demo.recalled_overlap[update]:.4f}, energy {demo.recalled_energy[update]:.2f}")
    print(f"stored patterns: energy {demo.stored_energy:.2f} (about -N/2 = {-demo.n_neurons / 2:.0f} for Hebb's rule)")
    trace = recall_trace(args.neurons, args.patterns, args.flip, args.rule, args.temperature, args.sweeps, seed=args.seed)
    title = (f"{args.rule} rule, N = {args.neurons}, p = {args.patterns}, {args.flip:.0%} of the cue flipped, "
             f"T = {args.temperature:g}")
    plot = plot_recall(trace.frames, trace.frame_every, trace.energies, trace.overlaps, trace.pattern,
                       trace.stored_energy, _image_shape(args.neurons), Path(args.out) / "hopfield_recall.png", title)
    print(f"recall drawn: overlap {trace.overlaps[0]:.2f} -> {trace.overlaps[-1]:.2f}, energy "
          f"{trace.energies[0]:.1f} -> {trace.energies[-1]:.1f} (stored pattern {trace.stored_energy:.1f}): {plot}")
    return 0


def _hopfield_rules(args) -> int:
    import numpy as np

    from axon.classic.capacity import ags_overlap, capacity_curve
    from axon.viz.classic import plot_rule_capacity

    overlaps = {}
    for rule in ("hebb", "storkey", "pseudo-inverse"):
        result = capacity_curve([args.neurons], args.alphas, trials=args.trials, cues=args.cues,
                                max_sweeps=args.max_sweeps, seed=args.seed, device=args.device, rule=rule)
        overlaps[rule] = result.overlaps[0]
        _say(f"hopfield-rules: {rule} done")
    print(f"N = {args.neurons}: overlap after recall from stored patterns")
    print("alpha  " + "  ".join(f"{rule:>14}" for rule in overlaps))
    for j, alpha in enumerate(args.alphas):
        print(f"{alpha:<6.3f} " + "  ".join(f"{overlaps[rule][j]:>14.4f}" for rule in overlaps))
    theory_alphas = np.linspace(min(args.alphas), max(args.alphas), 300)
    plot = plot_rule_capacity(args.alphas, overlaps, args.neurons, Path(args.out) / "hopfield_rules.png",
                              theory=(theory_alphas, [ags_overlap(a) for a in theory_alphas]))
    print(f"plot: {plot}")
    return 0


def _hopfield_states(args) -> int:
    from axon.classic.hopfield_states import KINDS, attractor_census, temperature_sweep
    from axon.viz.classic import plot_hopfield_states

    sweep = temperature_sweep(args.temperatures, n_neurons=args.neurons, seed=args.seed)
    print(f"Glauber dynamics, N = {sweep.n_neurons}, p = {sweep.n_patterns}: overlap with the start")
    print("T       pattern  mixture  theory")
    for row in zip(sweep.temperatures, sweep.pattern, sweep.mixture, sweep.theory):
        print("{:<6g}  {:7.3f}  {:7.3f}  {:6.3f}".format(*row))
    census = attractor_census(args.neurons, args.census_patterns, args.starts, seed=args.seed)
    print(f"states reached from {args.starts} random starts (T = 0), fractions:")
    print("p     " + "  ".join(f"{kind:>16}" for kind in KINDS))
    for p, row in zip(census.n_patterns, census.fractions):
        print(f"{p:<5} " + "  ".join(f"{v:>16.3f}" for v in row))
    plot = plot_hopfield_states(sweep.temperatures, sweep.pattern, sweep.mixture, sweep.theory, census.n_patterns,
                                census.fractions, KINDS, Path(args.out) / "hopfield_states.png")
    print(f"plot: {plot}")
    return 0


def _capacity(args) -> int:
    import numpy as np

    from axon.classic.capacity import ALPHA_C, ags_overlap, capacity_curve
    from axon.viz.classic import plot_capacity

    result = capacity_curve(args.sizes, args.alphas, trials=args.trials, cues=args.cues, max_sweeps=args.max_sweeps,
                            seed=args.seed, device=args.device,
                            progress=lambda done, total: _say(f"capacity: N = {args.sizes[done - 1]} done ({done}/{total})"))
    theory_alphas = np.linspace(min(args.alphas + [0.01]), max(args.alphas + [0.2]), 300)
    theory = [ags_overlap(a) for a in theory_alphas]
    print("alpha  " + "  ".join(f"N={n:<6}" for n in result.sizes) + "  theory")
    for j, alpha in enumerate(result.alphas):
        print(f"{alpha:<6.3f} " + "  ".join(f"{row[j]:<8.4f}" for row in result.overlaps) + f"  {ags_overlap(alpha):.4f}")
    plot = plot_capacity(result.sizes, result.alphas, result.overlaps, theory_alphas, theory,
                         Path(args.out) / "hopfield_capacity.png", ALPHA_C)
    print(f"plot: {plot}")
    return 0


def _modern(args) -> int:
    from axon.classic.modern_hopfield import retrieval_experiment
    from axon.viz.classic import plot_modern_retrieval

    result = retrieval_experiment(args.dim, args.patterns, args.betas, args.flip, args.queries, args.seed, args.device)
    print(f"N = {result.dim}, {result.flip_fraction:.0%} of each cue flipped; exact retrieval rate:")
    print("p \\ beta  " + " ".join(f"{b:>6g}" for b in result.betas))
    for p, row in zip(result.n_patterns, result.success):
        print(f"{p:<9} " + " ".join(f"{v:>6.2f}" for v in row))
    plot = plot_modern_retrieval(result.betas, result.n_patterns, result.success, result.dim,
                                 Path(args.out) / "modern_hopfield.png")
    print(f"plot: {plot}")
    return 0


def _boltzmann(args) -> int:
    from axon.classic.boltzmann import BoltzmannMachine, bars_and_stripes
    from axon.viz.classic import plot_image_rows, plot_kl

    data = bars_and_stripes(3)
    machine = BoltzmannMachine(n_hidden=args.hidden, learning_rate=args.lr, n_iter=args.iters,
                               statistics=args.statistics, random_state=args.seed, device=args.device).fit(data)
    history = machine.kl_history_
    print(f"3x3 bars and stripes ({data.shape[0]} patterns), 9 visible + {args.hidden} hidden units, "
          f"{args.statistics} statistics")
    for step in sorted({0, *range(49, len(history), 50), len(history) - 1}):
        print(f"update {step + 1:>5}: KL(data || model) = {history[step]:.4f} nats")
    plot = plot_kl(history, Path(args.out) / "boltzmann_kl.png",
                   title=f"Boltzmann machine on 3x3 bars and stripes ({args.hidden} hidden units)")
    print(f"plot: {plot}")
    samples = machine.sample(28, sweeps=100, random_state=args.seed).cpu().numpy()
    patterns = {tuple(row) for row in data.tolist()}
    share = sum(tuple(row) in patterns for row in samples.tolist()) / len(samples)
    drawn = plot_image_rows([("training patterns", data.numpy()), ("samples", samples[:14]), ("", samples[14:])],
                            (3, 3), Path(args.out) / "boltzmann_samples.png",
                            f"Boltzmann machine samples (100 Gibbs sweeps from noise): {share:.0%} are training patterns")
    print(f"samples: {share:.0%} of 28 are bars-and-stripes patterns; drawn: {drawn}")
    return 0


def _rbm(args) -> int:
    from axon.classic.experiments import load_digits_flat, logistic_accuracy, rbm_pipeline_vs_raw
    from axon.classic.rbm import RBM
    from axon.viz.classic import plot_filters

    digits = load_digits_flat()
    x_train, x_test = digits.x_train, digits.x_test
    if args.visible == "gaussian":
        # standardise each pixel; pixels constant in training (the blank border) keep scale 1
        mean, std = x_train.mean(0), x_train.std(0)
        std[std < 1e-2] = 1.0
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    lr = args.lr if args.lr is not None else (0.02 if args.visible == "bernoulli" else 0.002)
    rbm = RBM(n_components=args.components, visible=args.visible, learning_rate=lr, n_iter=args.epochs, k=args.k,
              persistent=args.pcd, random_state=args.seed, device=args.device, verbose=True).fit(x_train)
    if args.visible == "bernoulli":
        print(f"test pseudo-likelihood: {rbm.score(x_test):.3f}")
    print(f"test reconstruction error: {rbm.reconstruction_error(x_test):.4f}")
    features = logistic_accuracy(rbm.transform(x_train), digits.y_train, rbm.transform(x_test), digits.y_test)
    raw = logistic_accuracy(digits.x_train, digits.y_train, digits.x_test, digits.y_test)
    print(f"digits, logistic regression test accuracy: RBM features {features:.4f}, raw pixels {raw:.4f}")
    if args.nudged:
        nudged = rbm_pipeline_vs_raw(seed=args.seed, device=args.device)
        print(f"nudged digits (scikit-learn's example: 100 hidden, lr 0.06, 10 epochs, C 6000 / 100): "
              f"RBM + logistic {nudged.rbm_accuracy:.4f}, raw-pixel logistic {nudged.raw_accuracy:.4f}")
    plot = plot_filters(rbm.components_.cpu().numpy(), (8, 8), Path(args.out) / f"rbm_filters_{args.visible}.png",
                        title=f"RBM filters ({args.visible} visible units)")
    print(f"filters: {plot}")
    print(f"samples and reconstructions: {_draw_rbm(rbm, x_test, args)}")
    return 0


def _draw_rbm(rbm, x_test, args) -> Path:
    """Test digits and their reconstructions, Gibbs chains from noise and from data, and
    (under PCD) the persistent chains, drawn as rows of 8x8 images."""
    from axon.viz.classic import plot_image_rows

    steps = args.chain_steps
    record = max(1, steps // 4)
    from_noise = rbm.sample(10, n_steps=steps, record_every=record, random_state=args.seed)
    from_data = rbm.sample(n_steps=steps, start=x_test[:10], random_state=args.seed)
    rows = [("test digits", x_test[:10]), ("reconstructions", rbm.reconstruct(x_test[:10]))]
    rows += [(f"noise chain,\nstep {k * record}", images) for k, images in enumerate(from_noise)]
    rows.append((f"chain from data,\nstep {steps}", from_data))
    if args.pcd:
        rows.append(("persistent chains\n(end of training)", rbm.visible_means(rbm.h_samples_[:10])))
    low, high = (0.0, 1.0) if args.visible == "bernoulli" else (-2.0, 2.0)
    return plot_image_rows(rows, (8, 8), Path(args.out) / f"rbm_samples_{args.visible}.png",
                           f"RBM ({args.visible} visible units): E[v | h] along Gibbs chains", low, high)


def _dbn(args) -> int:
    from axon.classic.dbn import DBN
    from axon.classic.experiments import train_on_digits

    for pretrain in (True, False):
        model = DBN(hidden_layer_sizes=tuple(args.hidden), pretrain=pretrain, rbm_n_iter=args.rbm_epochs,
                    epochs=args.epochs, learning_rate=args.lr, random_state=args.seed, device=args.device,
                    verbose=not args.quiet)
        _, accuracy = train_on_digits(model)
        label = "with greedy RBM pretraining" if pretrain else "without pretraining (random init)"
        print(f"DBN {args.hidden}, {label}: test accuracy {accuracy:.4f}, final train loss "
              f"{model.history_[-1]['train_loss']:.4f}")
    return 0
