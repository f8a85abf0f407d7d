"""What a simulation is judged by: regret, shares, summaries and the Lai-Robbins bound.

Taught in notebooks/01_explore_exploit.ipynb, notebooks/04_comparing_strategies.ipynb and
notebooks/06_credit_card_personalisation.ipynb.

Regret here is *pseudo*-regret: the expected reward of the best arm minus the expected
reward of the arm chosen, summed over steps. It uses the true means (known only in a
simulation), not the noisy realised rewards, so two runs that made the same choices have
the same regret.

Every function here works on every history the package's simulators return (the protocol
of :mod:`bandit_lab.history`: ``arms``, ``rewards``, ``expected_rewards``, ``best_rewards``):
context-free, contextual, funnel or budgeted.

    cumulative_regret     pseudo-regret per run and step
    arm_shares            share of each run's decisions per arm
    summarize             one row per policy: reward rate, share of best choices, regret
    paired_gain           extra reward of one policy over another, paired by run
    learning_curve        a metric averaged over blocks of steps, with an interval
    lai_robbins_constant  the constant in the log(T) lower bound on regret
    bernoulli_kl          KL divergence between Bernoulli distributions
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from ._special import bernoulli_kl
from ._validation import check_int, check_probability

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "cumulative_regret",
    "lai_robbins_constant",
    "arm_shares",
    "bernoulli_kl",
    "summarize",
    "paired_gain",
    "learning_curve",
]


def _check_history(history, name="history"):
    for attr in ("arms", "expected_rewards", "best_rewards", "arm_shares"):
        if not hasattr(history, attr):
            raise TypeError(
                f"{name} is of type {type(history).__name__} and has no {attr!r}, "
                "must be a History returned by a simulator (such as "
                "bandit_lab.simulate)."
            )
    return history


def cumulative_regret(history: Any) -> np.ndarray:
    """Cumulative pseudo-regret, shape ``(n_runs, n_steps)``.

    ``history`` is what a simulator returns for one policy (any :class:`~bandit_lab.History`):
    entry ``[r, t]`` is the regret of run ``r`` after ``t + 1`` steps.
    """
    history = _check_history(history)
    return np.cumsum(history.best_rewards - history.expected_rewards, axis=1)


def arm_shares(history: Any, *, upto: int | None = None) -> np.ndarray:
    """Share of each run's decisions that went to each arm, shape ``(n_runs, n_arms)``.

    ``upto`` limits the count to the first ``upto`` steps.
    """
    return _check_history(history).arm_shares(upto=upto)


def lai_robbins_constant(means: ArrayLike) -> float:
    """The Lai-Robbins constant of a Bernoulli bandit.

    Any consistent policy's regret grows at least like ``C * log(T)`` with
    ``C = sum over suboptimal arms i of (mu* - mu_i) / KL(mu_i, mu*)``.

    >>> round(lai_robbins_constant([0.1, 0.2, 0.9]), 3)
    0.969
    """
    mu = np.asarray(means, dtype=float)
    if mu.ndim != 1 or mu.size < 1:
        raise ValueError(
            f"means has shape {mu.shape}, must be a 1-D sequence of at least one rate."
        )
    for i, m in enumerate(mu):
        check_probability(f"means[{i}]", m)
    best = mu.max()
    sub = mu < best
    if best >= 1.0 and sub.any():
        return float("inf")
    gaps = best - mu[sub]
    return float(np.sum(gaps / bernoulli_kl(mu[sub], best)))


# ---------------------------------------------------------------------------------------
# Reading the results of many runs: means over runs with confidence intervals
# ---------------------------------------------------------------------------------------
def _mean_interval(values, level):
    values = np.asarray(values, dtype=float)
    n = values.shape[0]
    mean = values.mean(axis=0)
    se = values.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full_like(mean, np.nan)
    from scipy import stats as _stats

    half = _stats.t.ppf(0.5 + level / 2, max(n - 1, 1)) * se
    return mean, mean - half, mean + half


def summarize(
    results: dict[str, Any],
    *,
    start: int = 0,
    stop: int | None = None,
    level: float = 0.95,
    per: int = 10_000,
) -> pd.DataFrame:
    """One row per policy: conversion rate and share of best offers (means over runs with
    a ``level`` confidence interval, from the spread across runs) and regret per ``per``
    customers, over steps ``start:stop``."""
    level = check_probability("level", level, open_low=True, open_high=True)
    rows = []
    for name, h in results.items():
        _check_history(h, f"results[{name!r}]")
        conv = _mean_interval(h.conversion_rate(start=start, stop=stop), level)
        best = _mean_interval(h.optimal_share(start=start, stop=stop), level)
        lost = (h.best_rewards - h.expected_rewards)[:, start:stop].mean(axis=1) * per
        rows.append(
            {
                "policy": name,
                "conversion": conv[0],
                "conversion_low": conv[1],
                "conversion_high": conv[2],
                "best_offer_share": best[0],
                "best_offer_low": best[1],
                "best_offer_high": best[2],
                f"regret_per_{per}": lost.mean(),
            }
        )
    import pandas as pd

    return pd.DataFrame(rows).set_index("policy")


def paired_gain(
    results: dict[str, Any],
    policy: str,
    baseline: str,
    *,
    start: int = 0,
    stop: int | None = None,
    level: float = 0.95,
    per: int = 10_000,
    expected: bool = False,
) -> tuple[float, float, float]:
    """Extra conversions per ``per`` customers of ``policy`` over ``baseline``: the mean of
    the per-run differences (both faced the same customers and outcomes) with its
    ``level`` confidence interval, as ``(mean, low, high)``."""
    level = check_probability("level", level, open_low=True, open_high=True)
    for key in (policy, baseline):
        if key not in results:
            raise ValueError(f"{key!r} is not among the results, must be one of {list(results)}.")
    diff = (
        results[policy].conversion_rate(start=start, stop=stop, expected=expected)
        - results[baseline].conversion_rate(start=start, stop=stop, expected=expected)
    ) * per
    mean, low, high = _mean_interval(diff, level)
    return float(mean), float(low), float(high)


def learning_curve(
    history: Any, *, block: int = 100, metric: str = "conversion", level: float = 0.95
) -> pd.DataFrame:
    """How a policy improves: the metric averaged over blocks of ``block`` customers.

    ``metric`` is ``"conversion"`` (expected conversion of the offers made, less noisy than
    the realised one) or ``"best_offer"`` (share of best offers). Returns a DataFrame with
    the block's last step, the mean over runs and a ``level`` interval.
    """
    block = check_int("block", block, minimum=1)
    if metric == "conversion":
        values = history.expected_rewards
    elif metric == "best_offer":
        values = history.optimal.astype(float)
    else:
        raise ValueError(f"metric == {metric!r}, must be 'conversion' or 'best_offer'.")
    n_blocks = history.n_steps // block
    if n_blocks < 1:
        raise ValueError(f"block == {block}, must be <= n_steps == {history.n_steps}.")
    per_block = values[:, : n_blocks * block].reshape(history.n_runs, n_blocks, block).mean(axis=2)
    mean, low, high = _mean_interval(per_block, level)
    import pandas as pd

    return pd.DataFrame(
        {"step": (np.arange(n_blocks) + 1) * block, "mean": mean, "low": low, "high": high}
    )
