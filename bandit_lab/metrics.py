"""What a simulation is judged by: regret and the Lai-Robbins lower bound.

Taught in notebooks/01_explore_exploit.ipynb and notebooks/04_comparing_strategies.ipynb.

Regret here is *pseudo*-regret: the expected reward of the best arm minus the expected
reward of the arm chosen, summed over steps. It uses the true means (known only in a
simulation), not the noisy realised rewards, so two runs that made the same choices have
the same regret.
"""
from __future__ import annotations

import numpy as np

from ._special import bernoulli_kl
from ._validation import check_probability

__all__ = ["cumulative_regret", "lai_robbins_constant", "arm_shares", "bernoulli_kl"]


def _regret_per_step(history):
    arms = np.asarray(history.arms)
    means = np.asarray(history.mean_rewards, dtype=float)  # (n_steps, n_arms)
    chosen = np.take_along_axis(means[None, :, :], arms[:, :, None].astype(np.intp), axis=2)[..., 0]
    return means.max(axis=1)[None, :] - chosen


def cumulative_regret(history):
    """Cumulative pseudo-regret, shape ``(n_runs, n_steps)``.

    ``history`` is what :func:`bandit_lab.simulate` returns for one policy: entry
    ``[r, t]`` is the regret of run ``r`` after ``t + 1`` steps.
    """
    return np.cumsum(_regret_per_step(history), axis=1)


def arm_shares(history, *, upto=None):
    """Share of pulls each arm got in each run, shape ``(n_runs, n_arms)``.

    ``upto`` limits the count to the first ``upto`` steps.
    """
    arms = np.asarray(history.arms)
    if upto is not None:
        arms = arms[:, :upto]
    n_arms = np.asarray(history.mean_rewards).shape[-1]
    counts = np.stack([(arms == k).sum(axis=1) for k in range(n_arms)], axis=1)
    return counts / arms.shape[1]


def lai_robbins_constant(means):
    """The Lai-Robbins constant of a Bernoulli bandit.

    Any consistent policy's regret grows at least like ``C * log(T)`` with
    ``C = sum over suboptimal arms i of (mu* - mu_i) / KL(mu_i, mu*)``.

    >>> round(lai_robbins_constant([0.1, 0.2, 0.9]), 3)
    0.969
    """
    mu = np.asarray(means, dtype=float)
    if mu.ndim != 1 or mu.size < 1:
        raise ValueError(f"means has shape {mu.shape}, must be a 1-D sequence of at least one rate.")
    for i, m in enumerate(mu):
        check_probability(f"means[{i}]", m)
    best = mu.max()
    sub = mu < best
    if best >= 1.0 and sub.any():
        return float("inf")
    gaps = best - mu[sub]
    return float(np.sum(gaps / bernoulli_kl(mu[sub], best)))
