"""`axon classic conditioning|dopamine|random-walk|foraging|td-gammon`: the temporal-difference
experiments of axon.classic.td; each prints its result and writes its plot."""

from __future__ import annotations

import json
from pathlib import Path

from axon.cli import common_options

DEFAULT_OUT = "runs/td"


def _out(parser) -> None:
    parser.add_argument(
        "--out", default=DEFAULT_OUT, metavar="DIR",
        help=f"folder for the plots and files (default {DEFAULT_OUT})",
    )


def _seed(parser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def run_conditioning(args) -> int:
    from axon.classic.td.conditioning import simulate
    from axon.viz.td import plot_conditioning

    result = simulate(
        args.paradigm, args.model, eps=args.eps, gamma=args.gamma, lam=args.lam,
        trace=args.trace, reward_prob=args.reward_prob, trials=args.trials, seed=args.seed,
    )
    print(result.report())
    path = Path(args.out) / f"conditioning_{args.paradigm}_{args.model}.png"
    title = f"{args.paradigm} under {args.model.upper()}"
    plot_conditioning(result.history, result.stimuli, result.stage_ends, title, path)
    print(f"plot: {path}")
    return 0


def run_dopamine(args) -> int:
    from axon.classic.td.dopamine import dopamine_experiment
    from axon.viz.td import plot_dopamine

    result = dopamine_experiment(
        trials=args.trials, eps=args.eps, gamma=args.gamma, steps=args.steps,
        stimulus_time=args.stimulus_time, reward_time=args.reward_time,
    )
    print(result.report())
    path = plot_dopamine(
        result.deltas, result.values, result.omitted, result.stimulus_time, result.reward_time,
        Path(args.out) / "dopamine.png",
    )
    print(f"plot: {path}")
    return 0


WALK_METHODS = {5: ("td-mc", "batch"), 19: ("online", "lambda-return", "n-step")}


def run_random_walk(args) -> int:
    from axon.classic.td import random_walk
    from axon.errors import ConfigError
    from axon.viz import td as plots

    method = args.method or WALK_METHODS[args.states][0]
    if method not in WALK_METHODS[args.states]:
        raise ConfigError(f"--method: {method!r} with --states {args.states}; expected one of "
                          f"{', '.join(WALK_METHODS[args.states])}")
    out = Path(args.out)
    episodes = args.episodes if args.episodes is not None else (100 if args.states == 5 else 10)
    if method == "td-mc":
        result = random_walk.five_state(episodes=episodes, runs=args.runs, seed=args.seed)
        path = plots.plot_five_state(result.values, result.shown, result.shown_alpha, result.td, result.mc,
                                     result.td_alphas, result.mc_alphas, out / "random_walk_5.png")
    elif method == "batch":
        result = random_walk.batch_walk(episodes=episodes, runs=args.runs, seed=args.seed)
        path = plots.plot_batch(result.td, result.mc, result.runs, out / "random_walk_5_batch.png")
    elif method == "n-step":
        result = random_walk.n_step(episodes=episodes, runs=args.runs, seed=args.seed)
        path = plots.plot_nineteen_state(result.errors, result.params, result.alphas, episodes,
                                         out / "random_walk_19_n_step.png", "n-step TD", "n")
    else:
        result = random_walk.nineteen_state(episodes=episodes, runs=args.runs, trace=args.trace, seed=args.seed)
        if method == "online":
            path = plots.plot_nineteen_state(result.errors, result.params, result.alphas, episodes,
                                             out / "random_walk_19.png", result.method)
        else:
            online = result
            result = random_walk.nineteen_state(episodes=episodes, runs=args.runs, seed=args.seed, offline=True)
            print(online.report())
            path = plots.plot_lambda_return(result.errors, online.errors, result.params, result.alphas, episodes,
                                            out / "random_walk_19_lambda_return.png")
    print(result.report())
    print(f"plot: {path}")
    return 0


def run_foraging(args) -> int:
    from axon.classic.td.foraging import foraging_experiment
    from axon.viz.td import plot_foraging

    result = foraging_experiment(bees=args.bees, visits=args.visits, swap_at=args.swap_at, eps=args.eps,
                                 beta=args.beta, eps_grid=args.eps_grid, betas=args.betas, seed=args.seed)
    print(result.report())
    path = plot_foraging(result.fraction_blue, result.swap_at, result.eps, result.beta, result.eps_grid,
                         result.betas, result.preference, Path(args.out) / "foraging.png")
    print(f"plot: {path}")
    return 0


def run_td_gammon(args) -> int:
    from axon.classic.td.backgammon import run
    from axon.viz.td import plot_win_rates

    if args.action == "train":
        info = run.train(
            args.out, args.games, hidden=args.hidden, alpha=args.alpha, lam=args.lam,
            seed=args.seed, checkpoint_every=args.checkpoint_every,
            eval_games=args.eval_games, resume=args.resume,
        )
        print(f"trained {info['games']} games in {info['seconds']:.0f} s of self-play; "
              f"checkpoint {Path(args.out) / run.CHECKPOINT}")
        history_file = Path(args.out) / run.HISTORY
        if history_file.exists():
            history = json.loads(history_file.read_text())
            print(f"plot: {plot_win_rates(history, Path(args.out) / 'win_rates.png')}")
        return 0
    checkpoint = args.checkpoint or str(Path(args.out) / run.CHECKPOINT)
    for name, result in run.play(checkpoint, args.games, seed=args.seed).items():
        print(f"vs {name}: {result}")
    return 0


def add_commands(subparsers) -> None:
    from axon.classic.td.paradigms import MODELS, PARADIGMS
    from axon.classic.td.params import TRACES

    p = subparsers.add_parser(
        "conditioning", parents=[common_options()],
        help="a conditioning paradigm under Rescorla-Wagner or TD",
        description="Train Rescorla-Wagner (trial level) or TD (tapped-delay-line stimuli "
        "within each trial) through a paradigm's stages; print each stimulus's association "
        "after every stage and plot the associations across trials.",
    )
    p.add_argument("paradigm", metavar="PARADIGM", help=f"one of {', '.join(PARADIGMS)}")
    p.add_argument("--model", default="rw", help=f"{' or '.join(MODELS)} (default rw)")
    p.add_argument("--eps", type=float, default=0.2, help="learning rate in (0, 1] (default 0.2)")
    p.add_argument("--gamma", type=float, default=1.0, help="TD discount in [0, 1] (default 1)")
    p.add_argument("--lam", type=float, default=0.0, help="TD trace decay lambda in [0, 1] (default 0)")
    p.add_argument("--trace", default="accumulating", help=f"TD trace: {' or '.join(TRACES)}")
    p.add_argument("--reward-prob", type=float, default=1.0,
                   help="probability that each reward is delivered (default 1)")
    p.add_argument("--trials", type=int, default=None,
                   help="trials per stage (default: the paradigm's own counts)")
    _seed(p)
    _out(p)
    p.set_defaults(func=run_conditioning)

    p = subparsers.add_parser(
        "dopamine", parents=[common_options()],
        help="Dayan & Abbott fig. 9.2: the TD error moving from reward to stimulus",
        description="TD(0) with a tapped delay line: a stimulus at --stimulus-time and a reward "
        "at --reward-time; prints where delta(t) peaks as training goes on and after the reward "
        "is omitted, and plots delta over trials.",
    )
    p.add_argument("--trials", type=int, default=300, help="training trials (default 300)")
    p.add_argument("--eps", type=float, default=0.5, help="learning rate in (0, 1] (default 0.5)")
    p.add_argument("--gamma", type=float, default=1.0, help="discount in [0, 1] (default 1)")
    p.add_argument("--steps", type=int, default=250, help="steps per trial (default 250)")
    p.add_argument("--stimulus-time", type=int, default=100, help="stimulus step (default 100)")
    p.add_argument("--reward-time", type=int, default=200, help="reward step (default 200)")
    _out(p)
    p.set_defaults(func=run_dopamine)

    p = subparsers.add_parser(
        "random-walk", parents=[common_options()],
        help="Sutton & Barto's random walks: TD vs MC, batch training, TD(lambda), lambda-return, n-step",
        description="--states 5: Example 6.2 (--method td-mc: the values TD(0) learns and the RMS "
        "error of TD(0) and constant-alpha MC over episodes) or figure 6.2 (--method batch: batch "
        "TD(0) vs batch MC). --states 19: the RMS error over the first episodes against alpha for "
        "online TD(lambda) (--method online, figure 12.6), the offline lambda-return algorithm beside "
        "it (--method lambda-return, figure 12.3) or n-step TD (--method n-step, figure 7.2).",
    )
    p.add_argument("--states", type=int, choices=(5, 19), default=5, help="5 or 19 (default 5)")
    p.add_argument("--method", default=None,
                   help="5 states: td-mc (default) or batch; 19 states: online (default), lambda-return or n-step")
    p.add_argument("--runs", type=int, default=100, help="independent runs averaged (default 100)")
    p.add_argument("--episodes", type=int, default=None,
                   help="episodes per run (default 100 for 5 states, 10 for 19)")
    p.add_argument("--trace", default="accumulating",
                   help=f"online TD(lambda): {' or '.join(TRACES)} traces (default accumulating)")
    _seed(p)
    _out(p)
    p.set_defaults(func=run_random_walk)

    p = subparsers.add_parser(
        "foraging", parents=[common_options()],
        help="bee foraging (Montague, Dayan, Person & Sejnowski 1995): risk aversion and the swap",
        description="Bees choose blue or yellow flowers by a softmax (sharpness --beta) of the "
        "nectar they predict from the colour; the prediction error delta = r - w.u trains the "
        "colour weights (learning rate --eps). Blue holds 2 ul always, yellow 6 ul on a third of "
        "its flowers (equal means) until --swap-at, then the other way round. Prints and plots "
        "the fraction of bees on each colour per visit and the preference for the constant "
        "colour against the learning rate.",
    )
    p.add_argument("--bees", type=int, default=1000, help="bees simulated, in one batch (default 1000)")
    p.add_argument("--visits", type=int, default=200, help="flower visits per bee (default 200)")
    p.add_argument("--swap-at", type=int, default=100,
                   help="visits before the colours' contingencies are swapped (default 100)")
    p.add_argument("--eps", type=float, default=0.5, help="learning rate of the swap run (default 0.5)")
    p.add_argument("--beta", type=float, default=1.0, help="softmax sharpness of the swap run (default 1)")
    p.add_argument("--eps-grid", type=float, nargs="+", default=[0.01, 0.03, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0],
                   help="learning rates of the preference sweep")
    p.add_argument("--betas", type=float, nargs="+", default=[0.5, 1.0, 2.0],
                   help="softmax sharpnesses of the preference sweep (one line each)")
    _seed(p)
    _out(p)
    p.set_defaults(func=run_foraging)

    p = subparsers.add_parser(
        "td-gammon", parents=[common_options()],
        help="TD(lambda) self-play backgammon: train, or play against random and heuristic",
        description="train: self-play games with TD(lambda), a progress bar, a checkpoint "
        "(td_gammon.safetensors) and an evaluation (history.json) every --checkpoint-every "
        "games, and a win-rate plot. play: load a checkpoint and report win rates with 95% "
        "confidence intervals against a random player and a heuristic player.",
    )
    p.add_argument("action", choices=("train", "play"), help="train or play")
    p.add_argument("--games", type=int, default=1000,
                   help="train: self-play games to add; play: games per opponent (default 1000)")
    p.add_argument("--hidden", type=int, default=40, help="train: hidden units (default 40)")
    p.add_argument("--alpha", type=float, default=0.1, help="train: learning rate in (0, 1] (default 0.1)")
    p.add_argument("--lam", type=float, default=0.7, help="train: lambda in [0, 1] (default 0.7)")
    p.add_argument("--checkpoint-every", type=int, default=1000,
                   help="train: games between checkpoints and evaluations (default 1000)")
    p.add_argument("--eval-games", type=int, default=200,
                   help="train: games per opponent at each evaluation, 0 for none (default 200)")
    p.add_argument("--resume", action="store_true", help="train: continue the run in --out")
    p.add_argument("--checkpoint", default=None, metavar="FILE",
                   help="play: a .safetensors checkpoint (default --out/td_gammon.safetensors)")
    _seed(p)
    _out(p)
    p.set_defaults(func=run_td_gammon)
