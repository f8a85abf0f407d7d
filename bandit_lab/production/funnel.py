"""Funnels: offers whose value is impression -> click -> purchase -> revenue, simulated.

Taught in notebooks/09_production_concerns.ipynb.

    FunnelEnv          offers with a click rate, a purchase rate given a click and a
                       log-normal revenue per purchase; knows each offer's value per impression
    simulate_funnel    many runs of policies that learn from click, purchase and revenue
    FunnelHistory      what it returns for one policy
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .._rng import resolve_rng
from .._validation import check_int, check_positive, check_probability
from ..scores import argmax_random
from ..simulate import _RunsBySteps, _named_policies as _named

__all__ = ["FunnelEnv", "FunnelOutcome", "FunnelHistory", "simulate_funnel"]


def _require(name, policy, methods, what):
    missing = [m for m in methods if not callable(getattr(policy, m, None))]
    if missing:
        raise TypeError(f"policies[{name!r}] is of type {type(policy).__name__} and has no "
                        f"{', '.join(missing)}, must be {what}.")
    if not hasattr(policy, "n_arms"):
        raise TypeError(f"policies[{name!r}] is of type {type(policy).__name__} and has no n_arms, "
                        f"must be {what}.")


# ---------------------------------------------------------------------------------------
# Funnels: click, purchase, revenue
# ---------------------------------------------------------------------------------------
class FunnelOutcome(NamedTuple):
    """One step's outcomes for every run and every arm, each of shape (n_runs, n_arms)."""

    clicked: np.ndarray
    purchased: np.ndarray
    revenue: np.ndarray


class FunnelEnv:
    """Offers whose value is a funnel: impression -> click -> purchase -> revenue.

    Arm ``k`` is clicked with probability ``click_rates[k]``; a click becomes a purchase
    with probability ``purchase_rates[k]``; a purchase brings a log-normal revenue with mean
    ``revenue_means[k]`` and log-scale spread ``revenue_sigma``. The value of an impression
    is ``click * purchase * revenue mean``, what a revenue-maximising policy should rank by.

    Taught in notebooks/09_production_concerns.ipynb.

    Examples
    --------
    >>> env = FunnelEnv([0.10, 0.05], [0.2, 0.5], [50.0, 80.0])
    >>> env.value_per_impression.round(2).tolist(), env.best_arm
    ([1.0, 2.0], 1)
    >>> out = env.draw(4, np.random.default_rng(0))
    >>> out.clicked.shape, bool((out.purchased <= out.clicked).all())
    ((4, 2), True)
    """

    def __init__(self, click_rates, purchase_rates, revenue_means, *, revenue_sigma=0.5):
        c = np.asarray(click_rates, dtype=float)
        if c.ndim != 1 or c.size < 1:
            raise ValueError(f"click_rates has shape {c.shape}, must be a 1-D sequence of at least "
                             "one rate.")
        arrays = {"click_rates": c, "purchase_rates": np.asarray(purchase_rates, dtype=float),
                  "revenue_means": np.asarray(revenue_means, dtype=float)}
        for name, arr in arrays.items():
            if arr.shape != c.shape:
                raise ValueError(f"{name} has shape {arr.shape}, must be {c.shape} (one per arm).")
            for i, v in enumerate(arr):
                if name == "revenue_means":
                    check_positive(f"{name}[{i}]", v)
                else:
                    check_probability(f"{name}[{i}]", v)
        self.click_rates = arrays["click_rates"]
        self.purchase_rates = arrays["purchase_rates"]
        self.revenue_means = arrays["revenue_means"]
        self.revenue_sigma = check_positive("revenue_sigma", revenue_sigma)
        self.n_arms = c.size

    @property
    def purchase_per_impression(self):
        return self.click_rates * self.purchase_rates

    @property
    def value_per_impression(self):
        """Expected revenue per impression of each arm."""
        return self.purchase_per_impression * self.revenue_means

    @property
    def best_arm(self):
        return int(np.argmax(self.value_per_impression))

    def draw(self, n_runs, rng):
        """Outcomes of one step for ``n_runs`` runs and every arm (three numbers per run,
        shared by the arms: a policy sees only the arm it chose)."""
        gen = resolve_rng(rng)
        u = gen.random((n_runs, 2))
        z = gen.standard_normal(n_runs)
        clicked = u[:, :1] < self.click_rates
        purchased = clicked & (u[:, 1:] < self.purchase_rates)
        s = self.revenue_sigma
        revenue = self.revenue_means * np.exp(s * z[:, None] - 0.5 * s * s)
        return FunnelOutcome(clicked, purchased, np.where(purchased, revenue, 0.0))

    def __repr__(self):
        return f"FunnelEnv(n_arms={self.n_arms})"


@dataclass
class FunnelHistory(_RunsBySteps):
    """What happened in ``n_runs`` runs of one policy on a :class:`FunnelEnv`.

    ``arms``, ``clicks``, ``purchases`` (n_runs, n_steps); ``revenue`` (n_runs, n_steps),
    0 where nothing was bought; ``values`` (n_arms,) the true value of an impression.
    """

    arms: np.ndarray
    clicks: np.ndarray
    purchases: np.ndarray
    revenue: np.ndarray
    values: np.ndarray
    name: str = ""

    def revenue_per_impression(self, *, expected=True):
        """Per run: revenue per impression (expected value of the arms chosen by default,
        which is less noisy; ``expected=False`` for the revenue realised)."""
        if expected:
            return self.values[self.arms].mean(axis=1)
        return self.revenue.mean(axis=1)

    def regret(self):
        """Per run: expected revenue lost to always showing the best arm, summed over steps."""
        return (self.values.max() - self.values[self.arms]).sum(axis=1)

    def arm_shares(self):
        """Per run: share of impressions of each arm, (n_runs, n_arms)."""
        return np.stack([(self.arms == k).mean(axis=1) for k in range(self.values.size)], axis=1)

    def __repr__(self):
        return f"FunnelHistory(name={self.name!r}, n_runs={self.n_runs}, n_steps={self.n_steps})"


def simulate_funnel(policies, env, *, n_steps, n_runs=1, rng=None):
    """Run every policy ``n_runs`` times for ``n_steps`` impressions on a :class:`FunnelEnv`.

    Each policy is a configuration with ``n_arms``, ``initial_state(shape)``,
    ``scores(state, rng)`` and ``update_state(state, arms, clicked, purchased, revenue)``,
    such as :class:`bandit_lab.MultiObjectiveTS`; it is not modified. A policy that learns
    from one number per impression is written as such a class (notebook 09 does it for the
    source article's versions).

    Taught in notebooks/09_production_concerns.ipynb.

    Returns
    -------
    dict of name -> FunnelHistory

    Examples
    --------
    >>> from bandit_lab import MultiObjectiveTS
    >>> env = FunnelEnv([0.10, 0.05], [0.2, 0.5], [50.0, 80.0])
    >>> res = simulate_funnel({"value": MultiObjectiveTS(2)}, env, n_steps=20, n_runs=3, rng=0)
    >>> res["value"].arms.shape
    (3, 20)
    """
    named = _named(policies)
    if not isinstance(env, FunnelEnv):
        raise TypeError(f"env is of type {type(env).__name__}, must be a FunnelEnv.")
    for name, p in named.items():
        _require(name, p, ("initial_state", "scores", "update_state"),
                 "a funnel policy such as MultiObjectiveTS")
        if p.n_arms != env.n_arms:
            raise ValueError(f"policies[{name!r}] has n_arms == {p.n_arms}, must match "
                             f"env.n_arms == {env.n_arms}.")
    n_steps = check_int("n_steps", n_steps, minimum=1)
    n_runs = check_int("n_runs", n_runs, minimum=1)
    env_rng, *policy_rngs = resolve_rng(rng).spawn(1 + len(named))
    pols = list(named.values())
    states = [p.initial_state((n_runs,)) for p in pols]
    rows = np.arange(n_runs)
    logs = [{k: np.empty((n_steps, n_runs), dtype=d) for k, d in
             (("arms", np.int16), ("clicks", bool), ("purchases", bool), ("revenue", np.float32))}
            for _ in pols]
    for t in range(n_steps):
        out = env.draw(n_runs, env_rng)
        for i, p in enumerate(pols):
            arms = argmax_random(p.scores(states[i], policy_rngs[i]), policy_rngs[i])
            c, b, r = out.clicked[rows, arms], out.purchased[rows, arms], out.revenue[rows, arms]
            p.update_state(states[i], arms, c, b, r)
            log = logs[i]
            log["arms"][t], log["clicks"][t], log["purchases"][t], log["revenue"][t] = arms, c, b, r
    return {name: FunnelHistory(*(np.ascontiguousarray(logs[i][k].T) for k in
                                  ("arms", "clicks", "purchases", "revenue")),
                                env.value_per_impression, name)
            for i, name in enumerate(named)}
