"""Plots of temporal-difference learning (axon.classic.td): associations across
conditioning trials, the Dayan & Abbott dopamine figure, Sutton & Barto's random-walk
figures and TD-Gammon's win rates during training. Inputs are numpy arrays and lists."""

from __future__ import annotations

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
    deltas: np.ndarray, omitted: np.ndarray, stimulus_time: int, reward_time: int, path
) -> Path:
    """Dayan & Abbott fig. 9.2: delta(t) over trials (deltas (trials, steps)) as a
    surface and as stacked lines, and after training with the reward omitted."""
    fig, axes = new_figure(1, 3, width=5.0, height=4.2)
    trials, steps = deltas.shape
    image = axes[0].imshow(
        deltas, aspect="auto", origin="lower", cmap="RdBu_r", vmin=-1, vmax=1,
        extent=(0, steps, 1, trials),
    )
    fig.colorbar(image, ax=axes[0], label="delta")
    axes[0].set_xlabel("t")
    axes[0].set_ylabel("trial")
    axes[0].set_title("prediction error delta(t) across trials")
    shown = np.unique(np.linspace(0, trials - 1, 8).astype(int))
    offset = 1.2
    for i, k in enumerate(shown):
        axes[1].plot(np.arange(steps), deltas[k] + offset * i, color="C0")
        axes[1].text(steps, offset * i, f" {k + 1}", va="bottom", fontsize=8)
    axes[1].set_yticks([])
    axes[1].set_xlabel("t")
    axes[1].set_title("delta(t), trials stacked (first at bottom)")
    axes[2].plot(deltas[-1], label="trained, reward given")
    axes[2].plot(omitted, label="trained, reward omitted", ls="--")
    axes[2].plot(deltas[0], label="first trial", ls=":")
    axes[2].set_xlabel("t")
    axes[2].set_ylabel("delta")
    axes[2].set_title("dopamine response")
    axes[2].legend(fontsize=8)
    for ax in axes:
        for time in (stimulus_time, reward_time):
            ax.axvline(time, color="grey", ls="--", lw=0.8)
    return save_figure(fig, path)


def plot_five_state(
    td: np.ndarray, mc: np.ndarray, td_alphas, mc_alphas, path
) -> Path:
    """Sutton & Barto Example 6.2: RMS error (alphas, episodes + 1) of TD(0) and MC."""
    fig, (ax,) = new_figure(width=6.0, height=4.2)
    episodes = np.arange(td.shape[1])
    for curve, alpha in zip(td, td_alphas):
        ax.plot(episodes, curve, label=f"TD alpha={alpha:g}")
    for curve, alpha in zip(mc, mc_alphas):
        ax.plot(episodes, curve, ls="--", label=f"MC alpha={alpha:g}")
    ax.set_xlabel("walks / episodes")
    ax.set_ylabel("RMS error, averaged over states")
    ax.set_title("5-state random walk: TD(0) vs constant-alpha MC")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_nineteen_state(errors: np.ndarray, lambdas, alphas, episodes: int, path) -> Path:
    """The 19-state walk: mean RMS error over the first episodes (lambdas, alphas)
    against alpha, one line per lambda, clipped like the book's figure."""
    fig, (ax,) = new_figure(width=6.0, height=4.2)
    for row, lam in zip(errors, lambdas):
        ax.plot(alphas, np.where(row < 0.56, row, np.nan), marker=".", label=f"lambda={lam:g}")
    ax.set_ylim(0.25, 0.56)
    ax.set_xlim(0, max(alphas))
    ax.set_xlabel("alpha")
    ax.set_ylabel(f"RMS error over the first {episodes} episodes")
    ax.set_title("19-state random walk: online TD(lambda)")
    ax.legend(fontsize=8)
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
