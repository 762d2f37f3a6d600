"""Time within a trial: the tapped delay line, the naive time-extended Rescorla-Wagner
rule, and TD(lambda) (TD(0) when lambda = 0) with accumulating or replacing traces.

Within a trial of T steps the features are x[t] (T, features) and the rewards r[t].
The value is linear, v[t] = w . x[t], with v = 0 after the last step. The seed's TD
equations, delta[t] = r[t+1] + gamma v[t+1] - v[t] and w <- w + eps delta[t] u[t],
are used with r[t+1] (the reward that arrives during step t) stored at index t, as
in Dayan & Abbott: a reward "at t = 200" is ``r[200]``. With lambda > 0 the update
uses the eligibility trace e[t] instead of x[t]:

    accumulating: e[t] = gamma lambda e[t-1] + x[t]
    replacing:    e[t] = x[t] where x[t] != 0, else gamma lambda e[t-1]

``online=True`` updates the weights after every step (the seed's w[t] = w[t-1] + ...);
``online=False`` sums a trial's updates and applies them at its end, computed for all
steps at once. Every update is vectorised over the features and over any leading
batch dimensions.
"""

from __future__ import annotations

import torch

from axon.classic.td.params import check_count, check_fraction, check_rate, check_trace


def delay_line(u, taps: int) -> torch.Tensor:
    """Tapped delay line: stimuli u (..., T, stimuli) -> features (..., T, stimuli * taps)
    with feature (s, k) at time t equal to u[t - k, s] (0 before the trial). With a
    single-step stimulus pulse this is the complete serial compound of Dayan & Abbott."""
    check_count("taps", taps)
    u = torch.as_tensor(u, dtype=torch.float64)
    T = u.shape[-2]
    shifted = []
    for k in range(taps):
        lagged = torch.zeros_like(u)
        if k < T:
            lagged[..., k:, :] = u[..., : T - k, :]
        shifted.append(lagged)
    return torch.stack(shifted, dim=-1).flatten(-2)


def _discounted_cumsum(x: torch.Tensor, decay: float) -> torch.Tensor:
    """y[t] = sum_{k <= t} decay^(t - k) x[k] along dim -2 of x (..., T, n)."""
    T = x.shape[-2]
    t = torch.arange(T, dtype=torch.float64)
    lag = t[:, None] - t[None, :]
    weights = torch.where(lag >= 0, decay ** lag.clamp(min=0), torch.zeros(()))
    return weights @ x


def _replacing_traces(x: torch.Tensor, decay: float) -> torch.Tensor:
    """e[t] = x[last] decay^(t - last), last the latest step <= t with x != 0."""
    T = x.shape[-2]
    t = torch.arange(T).view(T, 1).expand(x.shape[-2:])
    active = x != 0
    last = torch.where(active, t, torch.full_like(t, -1)).cummax(dim=-2).values
    seen = last >= 0
    source = torch.gather(x, -2, last.clamp(min=0).expand(x.shape))
    return torch.where(seen, source * decay ** (t - last).to(torch.float64), torch.zeros(()))


class TemporalDifference:
    """TD(lambda) with a linear value over features.

    Args:
        eps: learning rate in (0, 1].
        gamma: discount in [0, 1].
        lam: trace decay lambda in [0, 1]; 0 gives TD(0).
        trace: "accumulating" or "replacing".
        online: update after every step (True) or once per trial (False).

    After ``fit``: ``w_`` (..., features), ``history_`` (..., trials + 1, features) the
    weights before each trial and after the last, ``deltas_`` and ``values_``
    (..., trials, T) the prediction errors and values seen during each trial.
    """

    def __init__(
        self,
        eps: float = 0.1,
        gamma: float = 1.0,
        lam: float = 0.0,
        trace: str = "accumulating",
        online: bool = True,
    ):
        self.eps = check_rate("eps", eps)
        self.gamma = check_fraction("gamma", gamma)
        self.lam = check_fraction("lambda", lam)
        self.trace = check_trace(trace)
        self.online = online

    def _errors(self, v: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        """delta[t] = r[t] + gamma v[t+1] - v[t] with v after the trial = 0; v, r (..., T)."""
        following = torch.cat([v[..., 1:], torch.zeros_like(v[..., :1])], dim=-1)
        return r + self.gamma * following - v

    def trial(self, w: torch.Tensor, x: torch.Tensor, r: torch.Tensor):
        """One trial from weights w (..., n) with features x (..., T, n) and rewards r
        (..., T); returns (new weights, deltas (..., T), values (..., T))."""
        decay = self.gamma * self.lam
        if not self.online:
            v = (x * w.unsqueeze(-2)).sum(-1)
            delta = self._errors(v, r)
            if decay == 0:
                e = x
            elif self.trace == "accumulating":
                e = _discounted_cumsum(x, decay)
            else:
                e = _replacing_traces(x, decay)
            return w + self.eps * (delta.unsqueeze(-1) * e).sum(-2), delta, v
        T = x.shape[-2]
        e = torch.zeros_like(w)
        deltas, values = [], []
        for t in range(T):
            xt = x[..., t, :]
            v = (w * xt).sum(-1)
            following = (w * x[..., t + 1, :]).sum(-1) if t + 1 < T else torch.zeros_like(v)
            delta = r[..., t] + self.gamma * following - v
            if self.trace == "accumulating":
                e = decay * e + xt
            else:
                e = torch.where(xt != 0, xt, decay * e)
            w = w + self.eps * delta.unsqueeze(-1) * e
            deltas.append(delta)
            values.append(v)
        return w, torch.stack(deltas, -1), torch.stack(values, -1)

    def fit(self, x, r, w0=None) -> "TemporalDifference":
        """Run trials in order: x (..., trials, T, features), r (..., trials, T); w0
        (..., features) the starting weights (zeros)."""
        x = torch.as_tensor(x, dtype=torch.float64)
        r = torch.as_tensor(r, dtype=torch.float64)
        if x.dim() < 3 or r.shape != x.shape[:-1]:
            raise ValueError(
                f"x, r: shapes {tuple(x.shape)}, {tuple(r.shape)}; expected "
                f"(..., trials, T, features) and (..., trials, T)"
            )
        w = torch.zeros(x.shape[:-3] + x.shape[-1:], dtype=torch.float64)
        if w0 is not None:
            w = w + torch.as_tensor(w0, dtype=torch.float64)
        history, deltas, values = [w], [], []
        for k in range(x.shape[-3]):
            w, delta, v = self.trial(w, x[..., k, :, :], r[..., k, :])
            history.append(w)
            deltas.append(delta)
            values.append(v)
        self.w_ = w
        self.history_ = torch.stack(history, dim=-2)
        self.deltas_ = torch.stack(deltas, dim=-2)
        self.values_ = torch.stack(values, dim=-2)
        return self

    def predict(self, x) -> torch.Tensor:
        """Values v[t] = w . x[t] for features x (..., T, features)."""
        return (torch.as_tensor(x, dtype=torch.float64) * self.w_.unsqueeze(-2)).sum(-1)


class NaiveTemporalRW(TemporalDifference):
    """The straightforward (and wrong) time extension of Rescorla-Wagner:
    v[t] = w . u[t], delta[t] = r[t] - v[t], w <- w + eps delta[t] u[t]; it is TD with
    gamma = 0 and lambda = 0, predicting only the reward of the current step."""

    def __init__(self, eps: float = 0.1, online: bool = True):
        super().__init__(eps=eps, gamma=0.0, lam=0.0, online=online)
