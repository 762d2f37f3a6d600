"""The 19-state random walk, online TD(lambda) over the book's grid: axon's learner
(runs packed into one stream of transitions, traces shared by the step sizes, tables
stored state-major) against the previous version (axon before 2026-11-29: one Python
step per time step of each padded episode, on a (lambdas x alphas x runs, 21) table),
kept here only as the baseline. Both run in this process on the same episodes; the
error tables must agree to rounding (the old version's fused multiply-add).

    PYTHONPATH=src nice -n 10 /work/venv/bin/python benchmarks/td_random_walk_speed.py [--runs 100]
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from axon.classic.td.random_walk import ALPHAS_19, LAMBDAS_19
from axon.classic.td.tabular import online_td_lambda
from axon.classic.td.walks import NINETEEN, sample_episodes


def _previous_episode(values, states, rewards, live, alphas, lams):
    """The previous version's online TD(lambda) through one padded episode (accumulating
    traces), in place on values (batch, n + 2); alphas and lams (batch,) per row."""
    rows = torch.arange(values.shape[0])
    traces = torch.zeros_like(values)
    decay = lams.unsqueeze(1)
    step = torch.where(live, alphas.unsqueeze(1), 0.0)
    for t in range(states.shape[1] - 1):
        s = states[:, t]
        delta = rewards[:, t] + values[rows, states[:, t + 1]] - values[rows, s]
        traces.mul_(decay)
        traces[rows, s] += 1.0
        values.addcmul_((step[:, t] * delta).unsqueeze(1), traces)


def previous_version(data, alphas, lambdas) -> torch.Tensor:
    """RMS error curves (lambdas, alphas, episodes + 1), the previous way."""
    runs, count = data.lengths.shape
    copies = len(lambdas) * len(alphas)
    grid = torch.cartesian_prod(lambdas, alphas)
    lam, alpha = grid[:, 0].repeat_interleave(runs), grid[:, 1].repeat_interleave(runs)
    values = NINETEEN.initial_values(copies * runs)
    errors = [NINETEEN.rms_error(values)]
    for e in range(count):
        steps = int(data.lengths[:, e].max())
        states = data.states[:, e, : steps + 1].repeat(copies, 1)
        rewards = data.rewards[:, e, :steps].repeat(copies, 1)
        live = data.live[:, e, :steps].repeat(copies, 1)
        _previous_episode(values, states, rewards, live, alpha, lam)
        errors.append(NINETEEN.rms_error(values))
    return torch.stack(errors, dim=-1).view(len(lambdas), len(alphas), runs, count + 1).mean(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    alphas = torch.tensor(ALPHAS_19, dtype=torch.float64)
    lambdas = torch.tensor(LAMBDAS_19, dtype=torch.float64)
    data = sample_episodes(NINETEEN, args.runs, args.episodes, torch.Generator().manual_seed(0))
    print(f"19-state walk, online TD(lambda): {len(lambdas)} lambdas x {len(alphas)} alphas x {args.runs} runs x "
          f"{args.episodes} episodes ({int(data.lengths.sum())} steps per setting); torch threads "
          f"{torch.get_num_threads()}; loadavg {open('/proc/loadavg').read().split()[:3]}; pid {os.getpid()}")
    start, cpu = time.perf_counter(), time.process_time()
    curves = online_td_lambda(NINETEEN, data, alphas, lambdas).errors.mean(0).permute(1, 2, 0)
    axon_s, axon_cpu = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    before = previous_version(data, alphas, lambdas)
    before_s, before_cpu = time.perf_counter() - start, time.process_time() - cpu
    both = torch.isfinite(curves) & torch.isfinite(before)
    same_divergence = torch.equal(torch.isfinite(curves), torch.isfinite(before))
    gap = ((curves - before).abs() / before.abs().clamp(min=1))[both].max().item()
    print(f"previous version: {before_s:.2f} s wall, {before_cpu:.2f} s CPU; axon now: {axon_s:.2f} s wall, "
          f"{axon_cpu:.2f} s CPU; speed-up x{before_s / axon_s:.1f} wall, x{before_cpu / axon_cpu:.1f} CPU")
    print(f"RMS curves: max |now - previous| / max(|previous|, 1) {gap:.2e} over finite entries (growing runs reach "
          f"1e150 before they overflow); same diverged settings: {same_divergence}")
    print(f"loadavg after: {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()
