"""Reading the results of many runs: means over runs with confidence intervals.

Taught in notebooks/06_credit_card_personalisation.ipynb.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_int, check_probability

__all__ = ["summarize", "paired_gain", "learning_curve"]


def _mean_interval(values, level):
    values = np.asarray(values, dtype=float)
    n = values.shape[0]
    mean = values.mean(axis=0)
    se = values.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full_like(mean, np.nan)
    from scipy import stats as _stats

    half = _stats.t.ppf(0.5 + level / 2, max(n - 1, 1)) * se
    return mean, mean - half, mean + half


def summarize(results, *, start=0, stop=None, level=0.95, per=10_000):
    """One row per policy: conversion rate and share of best offers (means over runs with
    a ``level`` confidence interval, from the spread across runs) and regret per ``per``
    customers, over steps ``start:stop``."""
    level = check_probability("level", level, open_low=True, open_high=True)
    rows = []
    for name, h in results.items():
        conv = _mean_interval(h.conversion_rate(start=start, stop=stop), level)
        best = _mean_interval(h.optimal_share(start=start, stop=stop), level)
        lost = (h.best_rewards - h.expected_rewards)[:, start:stop].mean(axis=1) * per
        rows.append({"policy": name,
                     "conversion": conv[0], "conversion_low": conv[1], "conversion_high": conv[2],
                     "best_offer_share": best[0], "best_offer_low": best[1], "best_offer_high": best[2],
                     f"regret_per_{per}": lost.mean()})
    import pandas as pd

    return pd.DataFrame(rows).set_index("policy")


def paired_gain(results, policy, baseline, *, start=0, stop=None, level=0.95, per=10_000,
                expected=False):
    """Extra conversions per ``per`` customers of ``policy`` over ``baseline``: the mean of
    the per-run differences (both faced the same customers and outcomes) with its
    ``level`` confidence interval, as ``(mean, low, high)``."""
    level = check_probability("level", level, open_low=True, open_high=True)
    for key in (policy, baseline):
        if key not in results:
            raise ValueError(f"{key!r} is not among the results, must be one of {list(results)}.")
    diff = (results[policy].conversion_rate(start=start, stop=stop, expected=expected)
            - results[baseline].conversion_rate(start=start, stop=stop, expected=expected)) * per
    mean, low, high = _mean_interval(diff, level)
    return float(mean), float(low), float(high)


def learning_curve(history, *, block=100, metric="conversion", level=0.95):
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

    return pd.DataFrame({"step": (np.arange(n_blocks) + 1) * block, "mean": mean, "low": low, "high": high})
