"""Plots of temporal-difference learning (axon.classic.td): associations across
conditioning trials, the Dayan & Abbott dopamine figure, Sutton & Barto's random-walk
figures (Example 6.2, figures 6.2, 7.2, 12.3 and 12.6) and TD-Gammon's win rates during
training. Inputs are numpy arrays and lists."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from axon.viz.io import new_figure, save_figure


def plot_conditioning(
    history: np.ndarray, stimuli: list[str], stage_ends: list[int], title: str, path
) -> Path:
    """Associations (trials + 1, stimuli) across trials, stage ends marked."""
    fig, (ax,) = new_figure(width=6.5, height=3.8)
    trials = np.arange(len(history))
    for k, name in enumerate(stimuli):
        ax.plot(trials, history[:, k], label=f"w_{name}", lw=2)
    for end in stage_ends[:-1]:
        ax.axvline(end, color="grey", ls="--", lw=1)
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xlabel("trial")
    ax.set_ylabel("association (value predicted at onset)")
    ax.set_title(title)
    ax.legend()
    return save_figure(fig, path)


def plot_dopamine(
    deltas: np.ndarray, values: np.ndarray, omitted: np.ndarray, stimulus_time: int, reward_time: int, path
) -> Path:
    """Dayan & Abbott fig. 9.2. Left: delta(t) across trials (deltas (trials, steps)) as a
    heat map on a symmetric-log colour scale, so the small errors of the middle trials
    (about 0.06-0.09) stay visible beside the first trial's 1. Right: the book's panels
    u, r, v, delta v = v(t+1) - v(t) and delta for the first trial, the last (trained)
    trial and a trained trial with the reward omitted (values (trials, steps))."""
    from matplotlib.colors import SymLogNorm

    trials, steps = deltas.shape
    t = np.arange(steps)
    u = (t == stimulus_time).astype(float)
    reward = (t == reward_time).astype(float)

    def dv(v):
        return np.append(v[1:], 0.0) - v

    columns = [
        ("before training (trial 1)", values[0], deltas[0], reward),
        (f"after training (trial {trials})", values[-1], deltas[-1], reward),
        ("after training, reward omitted", values[-1], omitted, np.zeros(steps)),
    ]
    fig, _ = new_figure(1, 1, width=16.0, height=8.0)
    fig.clf()
    grid = fig.add_gridspec(5, 4, width_ratios=[1.5, 1, 1, 1], hspace=0.35, wspace=0.3)
    heat = fig.add_subplot(grid[:, 0])
    image = heat.imshow(
        deltas, aspect="auto", origin="lower", cmap="RdBu_r", interpolation="nearest",
        norm=SymLogNorm(linthresh=0.01, linscale=0.5, vmin=-1, vmax=1), extent=(0, steps, 0.5, trials + 0.5),
    )
    bar = fig.colorbar(image, ax=heat, label="delta (symmetric log scale)", location="bottom", pad=0.08)
    bar.set_ticks([-1, -0.1, -0.01, 0, 0.01, 0.1, 1])
    bar.set_ticklabels(["-1", "-0.1", "-0.01", "0", "0.01", "0.1", "1"])
    heat.set_xlabel("t")
    heat.set_ylabel("trial")
    heat.set_title("prediction error delta(t) across trials")
    for time in (stimulus_time, reward_time):
        heat.axvline(time, color="grey", ls="--", lw=0.8)
    rows = [("u", lambda v, d, r: u), ("r", lambda v, d, r: r), ("v", lambda v, d, r: v),
            ("delta v", lambda v, d, r: dv(v)), ("delta", lambda v, d, r: d)]
    for col, (title, v, d, r) in enumerate(columns, start=1):
        for row, (name, get) in enumerate(rows):
            ax = fig.add_subplot(grid[row, col])
            ax.plot(t, get(v, d, r), lw=1.3)
            ax.set_ylim(-1.2, 1.2)
            ax.axhline(0, color="black", lw=0.4)
            if row == 0:
                ax.set_title(title, fontsize=9)
            if col == 1:
                ax.set_ylabel(name)
            else:
                ax.set_yticklabels([])
            if row < len(rows) - 1:
                ax.set_xticklabels([])
            else:
                ax.set_xlabel("t")
    with warnings.catch_warnings():  # tight_layout cannot place a gridspec figure; the spacing is set above
        warnings.simplefilter("ignore", UserWarning)
        return save_figure(fig, path)


def plot_five_state(
    values: np.ndarray, shown, shown_alpha: float, td: np.ndarray, mc: np.ndarray, td_alphas, mc_alphas, path
) -> Path:
    """Sutton & Barto Example 6.2. Left: the values (len(shown), 5) one TD(0) run had after
    ``shown`` episodes, against the true values 1/6 .. 5/6. Right: RMS error (alphas,
    episodes + 1) of TD(0) and MC."""
    fig, (left, right) = new_figure(1, 2, width=5.2, height=4.2)
    states = np.arange(1, values.shape[1] + 1)
    for row, episode in zip(values, shown):
        left.plot(states, row, marker="o", ms=4, label=f"after {episode}")
    left.plot(states, states / (len(states) + 1), color="black", lw=2, label="true values")
    left.set_xticks(states, [chr(ord("A") + k) for k in range(len(states))])
    left.set_xlabel("state")
    left.set_ylabel("estimated value")
    left.set_title(f"values learned by TD(0), alpha = {shown_alpha:g} (one run)", fontsize=10)
    left.legend(fontsize=8, title="episodes", title_fontsize=8)
    episodes = np.arange(td.shape[1])
    for curve, alpha in zip(td, td_alphas):
        right.plot(episodes, curve, label=f"TD alpha={alpha:g}")
    for curve, alpha in zip(mc, mc_alphas):
        right.plot(episodes, curve, ls="--", label=f"MC alpha={alpha:g}")
    right.set_xlabel("walks / episodes")
    right.set_ylabel("RMS error, averaged over states and runs")
    right.set_title("TD(0) vs constant-alpha MC", fontsize=10)
    right.legend(fontsize=8)
    return save_figure(fig, path)


def plot_batch(td: np.ndarray, mc: np.ndarray, runs: int, path) -> Path:
    """Sutton & Barto figure 6.2: RMS error (episodes + 1,) under batch training."""
    fig, (ax,) = new_figure(width=6.0, height=4.2)
    episodes = np.arange(len(td))
    ax.plot(episodes[1:], td[1:], label="batch TD(0)")
    ax.plot(episodes[1:], mc[1:], ls="--", label="batch MC")
    ax.set_ylim(0, min(0.25, max(td[1:].max(), mc[1:].max()) * 1.05))
    ax.set_xlabel("walks / episodes")
    ax.set_ylabel("RMS error, averaged over states")
    ax.set_title(f"5-state random walk under batch training ({runs} runs)")
    ax.legend()
    return save_figure(fig, path)


def _alpha_panel(ax, errors: np.ndarray, params, alphas, episodes: int, title: str, param: str,
                 clip: float) -> None:
    """Mean RMS error (params, alphas) against alpha, one line per parameter, on the book's
    scale (up to `clip`): each line has its own style and open marker, so a curve lying on
    another still shows; errors above the scale are triangles on its top edge and diverged
    runs (NaN) crosses above it, instead of being dropped."""
    alphas = np.asarray(alphas, dtype=float)
    styles = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1))]
    markers = "os^Dvx<>P*"
    for k, (row, value) in enumerate(zip(errors, params)):
        row = np.asarray(row, dtype=float)
        color = f"C{k}"
        shown = np.where(row <= clip, row, np.nan)
        ax.plot(alphas, shown, ls=styles[k % len(styles)], marker=markers[k % len(markers)], ms=4, color=color,
                lw=1.4, label=f"{param}={value:g}", zorder=3 + k, markerfacecolor="none")
        above = np.isfinite(row) & (row > clip)  # one band row per line, so none hides another
        ax.plot(alphas[above], np.full(above.sum(), clip + 0.004 + 0.004 * k), "^", color=color, ms=4, zorder=3 + k)
        diverged = ~np.isfinite(row)
        ax.plot(alphas[diverged], np.full(diverged.sum(), clip + 0.05 + 0.004 * k), "x", color=color, ms=4,
                zorder=3 + k)
    ax.plot([], [], "^", color="grey", label=f"error above {clip:g}")  # legend entries for the two bands
    ax.plot([], [], "x", color="grey", label="diverged")
    ax.set_ylim(0.25, clip + 0.095)
    ax.axhline(clip, color="grey", lw=0.6)
    ax.set_xlim(0, max(alphas) * 1.02)
    ax.set_xlabel("alpha")
    ax.set_ylabel(f"RMS error over the first {episodes} episodes")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))


def plot_nineteen_state(errors: np.ndarray, params, alphas, episodes: int, path, title: str = "online TD(lambda)",
                        param: str = "lambda", clip: float = 0.55) -> Path:
    """The 19-state walk: mean RMS error over the first episodes (params, alphas) against
    alpha, one line per lambda (or n)."""
    fig, (ax,) = new_figure(width=7.0, height=4.6)
    _alpha_panel(ax, errors, params, alphas, episodes, f"19-state random walk: {title}", param, clip)
    return save_figure(fig, path)


def plot_lambda_return(offline: np.ndarray, online: np.ndarray, lambdas, alphas, episodes: int, path,
                       clip: float = 0.55) -> Path:
    """Sutton & Barto figures 12.3 and 12.6 side by side: the offline lambda-return
    algorithm and online TD(lambda) on the 19-state walk (errors (lambdas, alphas))."""
    fig, axes = new_figure(1, 2, width=6.6, height=4.6)
    _alpha_panel(axes[0], offline, lambdas, alphas, episodes, "offline lambda-return algorithm", "lambda", clip)
    _alpha_panel(axes[1], online, lambdas, alphas, episodes, "online TD(lambda)", "lambda", clip)
    return save_figure(fig, path)


def plot_win_rates(history: list[dict], path) -> Path:
    """TD-Gammon win rates against each opponent during training, with 95% intervals.
    history rows: {"games": n, "<opponent>": {"rate": p, "ci95": [low, high]}, ...}."""
    fig, (ax,) = new_figure(width=6.0, height=4.0)
    games = [row["games"] for row in history]
    opponents = [k for k in history[0] if isinstance(history[0][k], dict)] if history else []
    for name in opponents:
        rate = np.array([row[name]["rate"] for row in history])
        low = np.array([row[name]["ci95"][0] for row in history])
        high = np.array([row[name]["ci95"][1] for row in history])
        ax.plot(games, rate, marker=".", label=f"vs {name}")
        ax.fill_between(games, low, high, alpha=0.2)
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set_ylim(0, 1)
    ax.set_xlabel("self-play games")
    ax.set_ylabel("win rate")
    ax.set_title("TD-Gammon during self-play training")
    ax.legend()
    return save_figure(fig, path)


def plot_foraging(fraction_blue: np.ndarray, swap_at: int, eps: float, beta: float, eps_grid, betas,
                  preference: np.ndarray, path) -> Path:
    """The bee-foraging figure: left, the fraction of bees on each colour at each visit
    (fraction_blue (visits,)), the swap of contingencies marked; right, the preference for
    the constant colour (betas, eps_grid) against the learning rate, one line per beta."""
    fig, axes = new_figure(1, 2, width=5.6, height=4.2)
    visits = np.arange(1, len(fraction_blue) + 1)
    axes[0].plot(visits, fraction_blue, color="tab:blue", label="blue")
    axes[0].plot(visits, 1 - fraction_blue, color="goldenrod", label="yellow")
    axes[0].axvline(swap_at + 0.5, color="black", ls="--", lw=1)
    axes[0].text(swap_at + 3, 0.03, "contingencies\nswapped", fontsize=8, va="bottom")
    axes[0].text(swap_at / 2, 1.01, "blue constant, yellow variable", ha="center", va="bottom", fontsize=8)
    axes[0].text(swap_at + (len(visits) - swap_at) / 2, 1.01, "blue variable, yellow constant", ha="center",
                 va="bottom", fontsize=8)
    axes[0].set_ylim(0, 1.1)
    axes[0].set_xlabel("visit")
    axes[0].set_ylabel("fraction of bees visiting")
    axes[0].set_title(f"choices (eps = {eps:g}, beta = {beta:g})", pad=16)
    axes[0].legend(loc="lower left", fontsize=8)
    for row, b in zip(preference, betas):
        axes[1].plot(eps_grid, row, marker="o", label=f"beta = {b:g}")
    axes[1].axhline(0.5, color="grey", lw=0.8, ls=":")
    axes[1].set_xlabel("learning rate eps")
    axes[1].set_ylabel("fraction of visits to the constant colour")
    axes[1].set_title("risk aversion grows with the learning rate", pad=16)
    axes[1].set_ylim(0.45, 1.0)
    axes[1].legend(loc="upper left", fontsize=8)
    return save_figure(fig, path)
