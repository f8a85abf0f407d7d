"""Pictures of beliefs and experiments.

Every function takes ``ax=None`` (a new figure is made when it is None), draws, and returns
the ``Axes``. None calls ``plt.show()`` or changes global ``rcParams``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from .metrics import cumulative_regret, lai_robbins_constant
from .posteriors import BetaPosterior

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_regret", "plot_beta", "plot_allocation", "plot_share_distribution", "new_axes"]


def new_axes(ax: Axes | None = None, figsize: tuple[float, float] = (7, 4)) -> Axes:
    """``ax`` itself, or the axes of a new figure."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_regret(
    results: Any,
    ax: Axes | None = None,
    *,
    band: tuple[float, float] | None = (10, 90),
    lai_robbins: bool = True,
    log_x: bool = False,
) -> Axes:
    """Mean cumulative regret of each policy, with a band between two percentiles over runs.

    Parameters
    ----------
    results : History or dict of name -> History
    band : (low, high) percentiles, or None for no band
    lai_robbins : bool
        Also draw the Lai-Robbins asymptote ``C log t`` (a lower bound that holds as t
        grows; at small t a good policy can sit below it).
    log_x : bool
        Logarithmic time axis, on which a policy that matches the bound runs parallel to it.
    """
    ax = new_axes(ax)
    items = results.items() if isinstance(results, dict) else [(results.name, results)]
    means = None
    for name, hist in items:
        reg = cumulative_regret(hist)
        t = np.arange(1, reg.shape[1] + 1)
        (line,) = ax.plot(t, reg.mean(axis=0), label=f"{name} (mean of {reg.shape[0]} runs)")
        if band is not None and reg.shape[0] > 1:
            lo, hi = np.percentile(reg, band, axis=0)
            ax.fill_between(t, lo, hi, color=line.get_color(), alpha=0.15, linewidth=0)
        means = hist.mean_rewards[0]  # (n_steps, n_arms): the truth of the first run
    if lai_robbins and means is not None and np.allclose(means, means[0]):
        c = lai_robbins_constant(means[0])
        t = np.arange(1, means.shape[0] + 1)
        ax.plot(t, c * np.log(t), "k--", linewidth=1, label=f"Lai-Robbins asymptote {c:.1f} log t")
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel("step t")
    ax.set_ylabel("cumulative regret (expected conversions lost)")
    title = "Cumulative regret"
    if band is not None:
        title += f", band: {band[0]}th-{band[1]}th percentile over runs"
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize="small")
    return ax


def plot_beta(
    alpha: Any,
    beta: ArrayLike | None = None,
    ax: Axes | None = None,
    *,
    labels: Any = None,
    level: float = 0.95,
    x: ArrayLike | None = None,
) -> Axes:
    """Density of Beta beliefs (one curve per arm) with the credible interval shaded.

    ``alpha`` may be a :class:`BetaPosterior`, or arrays of ``alpha`` and ``beta``.
    """
    post = alpha if isinstance(alpha, BetaPosterior) else BetaPosterior(alpha, beta)
    a = np.atleast_1d(post.alpha)
    b = np.atleast_1d(post.beta)
    ax = new_axes(ax)
    if x is None:
        hi = float(min(1.0, max(BetaPosterior(a, b).interval(0.999)[1].max() * 1.1, 0.05)))
        x = np.linspace(0, hi, 400)
    x = np.clip(x, 1e-6, 1 - 1e-6)
    for k in range(a.size):
        p = BetaPosterior(a[k], b[k])
        y = p.pdf(x)
        name = labels[k] if labels is not None else f"arm {k}"
        (line,) = ax.plot(x, y, label=f"{name}: Beta({a[k]:.3g}, {b[k]:.3g})")
        lo, hi = p.interval(level)
        inside = (x >= lo) & (x <= hi)
        ax.fill_between(x[inside], y[inside], color=line.get_color(), alpha=0.15, linewidth=0)
    ax.set_xlabel("success rate p")
    ax.set_ylabel("density")
    ax.set_title(f"Beliefs about the rate (shaded: {level:.0%} credible interval)")
    ax.legend(fontsize="small")
    return ax


def plot_allocation(
    history: Any, ax: Axes | None = None, *, labels: Any = None, smooth: int = 100
) -> Axes:
    """Share of runs pulling each arm at each step (a stacked area over time)."""
    ax = new_axes(ax)
    arms = np.asarray(history.arms)
    n_arms = history.n_arms
    shares = np.stack([(arms == k).mean(axis=0) for k in range(n_arms)])
    if smooth and smooth > 1 and shares.shape[1] > smooth:
        kernel = np.ones(smooth) / smooth
        shares = np.stack([np.convolve(s, kernel, mode="valid") for s in shares])
    t = np.arange(1, shares.shape[1] + 1)
    names = labels or [f"arm {k}" for k in range(n_arms)]
    ax.stackplot(t, shares, labels=names, alpha=0.85)
    ax.set_xlim(1, t[-1])
    ax.set_ylim(0, 1)
    ax.set_xlabel("step t")
    ax.set_ylabel("share of pulls")
    ax.set_title(f"Who gets the traffic ({history.name or 'policy'}, {history.n_runs} runs)")
    ax.legend(loc="upper left", fontsize="small")
    return ax


def plot_share_distribution(
    results: dict[str, Any], arm: int, ax: Axes | None = None, *, bins: int = 30
) -> Axes:
    """Histogram over runs of the share of pulls that went to ``arm``."""
    from .metrics import arm_shares

    ax = new_axes(ax)
    items = results.items() if isinstance(results, dict) else [(results.name, results)]
    edges = np.linspace(0, 1, bins + 1)
    for name, hist in items:
        share = arm_shares(hist)[:, arm]
        ax.hist(share, bins=edges, alpha=0.5, label=f"{name}: median {np.median(share):.0%}")
    ax.set_xlabel(f"share of pulls to arm {arm} in one run")
    ax.set_ylabel("number of runs")
    ax.set_title(f"One run is not the average: arm {arm}'s share across runs")
    ax.legend(fontsize="small")
    return ax
