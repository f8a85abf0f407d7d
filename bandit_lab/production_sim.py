"""Simulations for the production concerns: funnels, budgets, stopping, other segments.

Taught in notebooks/09_production_concerns.ipynb.

Like :func:`bandit_lab.simulate`, every helper here runs many independent runs at once and
gives every policy compared the same random outcomes (common random numbers), so the
differences are those of the policies, not of luck.

    FunnelEnv          offers with a click rate, a purchase rate given a click and a
                       log-normal revenue per purchase; knows each offer's value per impression
    simulate_funnel    many runs of policies that learn from click, purchase and revenue
    FunnelHistory      what it returns for one policy
    simulate_budget    many runs of budgeted policies, each run ending when its budget is spent
    BudgetHistory      what it returns for one policy
    stopping_times     when a stopping rule would have ended each run of a simulation
    StoppingResult     what it returns
    with_segments      a CreditCardEnv whose customers are grouped by other segments
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ._rng import resolve_rng
from ._validation import check_int, check_positive, check_probability
from .environments import Environment
from .scores import argmax_random
from .simulate import _RunsBySteps, _named_policies as _named

__all__ = [
    "FunnelEnv",
    "FunnelOutcome",
    "FunnelHistory",
    "simulate_funnel",
    "BudgetHistory",
    "simulate_budget",
    "StoppingResult",
    "stopping_times",
    "with_segments",
]


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
    >>> from bandit_lab.production import MultiObjectiveTS
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


# ---------------------------------------------------------------------------------------
# Budgets
# ---------------------------------------------------------------------------------------
@dataclass
class BudgetHistory(_RunsBySteps):
    """What happened in ``n_runs`` runs of one budgeted policy, each until its budget ran out.

    ``arms`` (n_runs, n_steps) is -1 after a run's end; ``rewards`` 0 there. ``spent``
    (n_runs,) is what each run paid; ``rates`` and ``costs`` (n_arms,) the truth.
    """

    arms: np.ndarray
    rewards: np.ndarray
    spent: np.ndarray
    rates: np.ndarray
    costs: np.ndarray
    budget: float
    name: str = ""

    @property
    def decisions(self):
        """Per run: how many decisions the budget paid for."""
        return (self.arms >= 0).sum(axis=1)

    @property
    def conversions(self):
        """Per run: conversions realised."""
        return self.rewards.sum(axis=1, dtype=float)

    @property
    def expected_conversions(self):
        """Per run: expected conversions of the decisions made (less noisy)."""
        return np.where(self.arms >= 0, self.rates[np.maximum(self.arms, 0)], 0.0).sum(axis=1)

    @property
    def upper_bound(self):
        """Expected conversions of the best plan with the rates known: the whole budget on
        the arm with the highest rate per unit cost (the fractional-knapsack bound)."""
        return float(self.budget * (self.rates / self.costs).max())

    def arm_spend_shares(self):
        """Per run: share of the money spent on each arm, (n_runs, n_arms)."""
        spend = np.stack([(self.arms == k).sum(axis=1) * self.costs[k]
                          for k in range(self.costs.size)], axis=1)
        return spend / np.maximum(spend.sum(axis=1, keepdims=True), 1e-300)

    def __repr__(self):
        return f"BudgetHistory(name={self.name!r}, n_runs={self.n_runs}, budget={self.budget:g})"


def simulate_budget(policies, env, *, n_runs=1, rng=None):
    """Run every budgeted policy ``n_runs`` times on ``env`` until each run's budget is spent.

    Each policy is a configuration such as :class:`bandit_lab.BudgetedTS` (``costs``,
    ``budget``, ``initial_state``, ``scores``, ``affordable_in``, ``charge_state``,
    ``update_state``); it is not modified. A run ends cleanly when no arm is affordable;
    the simulation ends when every run of every policy has ended. At step ``t`` every
    policy faces the same outcomes.

    Taught in notebooks/09_production_concerns.ipynb.

    Returns
    -------
    dict of name -> BudgetHistory

    Examples
    --------
    >>> from bandit_lab import BernoulliBandit
    >>> from bandit_lab.production import BudgetedTS
    >>> env = BernoulliBandit([0.05, 0.08])
    >>> res = simulate_budget({"ts": BudgetedTS(2, costs=[1.0, 2.0], budget=50.0)}, env,
    ...                       n_runs=4, rng=0)
    >>> h = res["ts"]
    >>> bool((h.spent <= 50.0).all()), bool((h.spent > 48.0).all())
    (True, True)
    """
    named = _named(policies)
    if not isinstance(env, Environment):
        raise TypeError(f"env is of type {type(env).__name__}, must be an Environment such as "
                        "BernoulliBandit.")
    for name, p in named.items():
        _require(name, p, ("initial_state", "scores", "affordable_in", "charge_state", "update_state"),
                 "a budgeted policy such as BudgetedTS")
        if p.n_arms != env.n_arms:
            raise ValueError(f"policies[{name!r}] has n_arms == {p.n_arms}, must match "
                             f"env.n_arms == {env.n_arms}.")
    n_runs = check_int("n_runs", n_runs, minimum=1)
    pols = list(named.values())
    caps = [int(np.floor(p.budget / np.min(p.costs) * (1 + 1e-9))) + 1 for p in pols]
    n_max = max(caps)
    env_rng, *policy_rngs = resolve_rng(rng).spawn(1 + len(named))
    states = [p.initial_state((n_runs,)) for p in pols]
    arms_log = [np.full((n_max, n_runs), -1, dtype=np.int16) for _ in pols]
    rewards_log = [np.zeros((n_max, n_runs), dtype=np.float32) for _ in pols]
    rates = np.asarray(env.means_at(0), dtype=float)
    t = 0
    while t < n_max:
        active = [p.affordable_in(s).any(axis=-1) for p, s in zip(pols, states)]
        if not any(a.any() for a in active):
            break
        if not np.array_equal(env.means_at(t), rates):
            raise ValueError("env changes its rates over time; simulate_budget needs fixed rates.")
        outcomes = env.draw(t, n_runs, env_rng)
        for i, p in enumerate(pols):
            rows = np.flatnonzero(active[i])
            if rows.size == 0:
                continue
            arms = argmax_random(p.scores(states[i], policy_rngs[i]), policy_rngs[i])
            rewards = env.rewards(outcomes, arms, t)
            p.charge_state(states[i], arms[rows], runs=rows)
            p.update_state(states[i], arms[rows], rewards[rows], runs=rows)
            arms_log[i][t, rows] = arms[rows]
            rewards_log[i][t, rows] = rewards[rows]
        t += 1
    return {name: BudgetHistory(np.ascontiguousarray(arms_log[i][:t].T),
                                np.ascontiguousarray(rewards_log[i][:t].T),
                                states[i]["spent_"].copy(), rates, np.asarray(p.costs, dtype=float),
                                float(p.budget), name)
            for i, (name, p) in enumerate(named.items())}


# ---------------------------------------------------------------------------------------
# Stopping
# ---------------------------------------------------------------------------------------
@dataclass
class StoppingResult:
    """When a stopping rule ended each run, and what it chose.

    ``stop_step`` (n_runs,): the number of decisions made when the rule fired, -1 if it
    never did within ``n_steps``; ``choice``: the arm it chose, -1 if it never fired.
    """

    stop_step: np.ndarray
    choice: np.ndarray
    n_steps: int
    check_every: int

    @property
    def stopped(self):
        return self.stop_step >= 0

    @property
    def stop_rate(self):
        """Share of runs in which the rule fired."""
        return float(self.stopped.mean())

    def wrong_rate(self, best_arm):
        """Among the runs that stopped, the share whose choice was not ``best_arm``."""
        s = self.stopped
        return float((self.choice[s] != best_arm).mean()) if s.any() else float("nan")

    def median_stop(self):
        """Median number of decisions before stopping, over the runs that stopped."""
        s = self.stopped
        return float(np.median(self.stop_step[s])) if s.any() else float("nan")


def stopping_times(history, rule, *, check_every, alpha0=1.0, beta0=1.0):
    """When would ``rule`` have stopped each run of ``history``?

    Stopping does not change what a policy did before it stopped, so a full simulation can
    be read afterwards: every ``check_every`` steps the Beta posteriors
    ``Beta(alpha0 + successes, beta0 + failures)`` of the runs not yet stopped are handed to
    ``rule(alpha, beta) -> (stop, choice)`` (arrays (n_active, n_arms) in, (n_active,) out),
    such as :class:`bandit_lab.PosteriorStoppingRule`.

    Taught in notebooks/09_production_concerns.ipynb.

    Parameters
    ----------
    history : History
        From :func:`bandit_lab.simulate` (``arms``, ``rewards`` of shape (n_runs, n_steps)).
    rule : callable
    check_every : int >= 1
    alpha0, beta0 : float > 0
        The prior of the posteriors the rule sees.

    Returns
    -------
    StoppingResult

    Examples
    --------
    >>> from bandit_lab import BernoulliBandit, BetaBernoulliTS, simulate
    >>> from bandit_lab.production import PosteriorStoppingRule
    >>> h = simulate(BetaBernoulliTS(2), BernoulliBandit([0.2, 0.5]), n_steps=400, n_runs=20, rng=0)
    >>> res = stopping_times(h, PosteriorStoppingRule(level=0.95, rng=1), check_every=50)
    >>> res.stop_rate, res.wrong_rate(1)
    (1.0, 0.0)
    """
    if not callable(rule):
        raise TypeError(f"rule is of type {type(rule).__name__}, must be callable as "
                        "rule(alpha, beta) -> (stop, choice).")
    arms = np.asarray(history.arms)
    rewards = np.asarray(history.rewards, dtype=float)
    if arms.ndim != 2 or rewards.shape != arms.shape:
        raise ValueError(f"history has arms of shape {arms.shape} and rewards of shape "
                         f"{rewards.shape}, must both be (n_runs, n_steps).")
    check_every = check_int("check_every", check_every, minimum=1)
    alpha0 = check_positive("alpha0", alpha0)
    beta0 = check_positive("beta0", beta0)
    n_runs, n_steps = arms.shape
    n_arms = int(getattr(history, "n_arms", arms.max() + 1))
    succ = np.zeros((n_runs, n_arms))
    pulls = np.zeros((n_runs, n_arms))
    stop_step = np.full(n_runs, -1, dtype=np.int64)
    choice = np.full(n_runs, -1, dtype=np.int64)
    prev = 0
    for c in range(check_every, n_steps + 1, check_every):
        a, r = arms[:, prev:c], rewards[:, prev:c]
        for k in range(n_arms):
            hit = a == k
            pulls[:, k] += hit.sum(axis=1)
            succ[:, k] += (r * hit).sum(axis=1)
        prev = c
        active = np.flatnonzero(stop_step < 0)
        if active.size == 0:
            break
        stop, chosen = rule(alpha0 + succ[active], beta0 + pulls[active] - succ[active])
        stop = np.asarray(stop, dtype=bool).reshape(active.size)
        chosen = np.asarray(chosen).reshape(active.size)
        stop_step[active[stop]] = c
        choice[active[stop]] = chosen[stop]
    return StoppingResult(stop_step, choice, n_steps, check_every)


# ---------------------------------------------------------------------------------------
# Segments
# ---------------------------------------------------------------------------------------
def with_segments(env, segments, n_segments):
    """A copy of a :class:`bandit_lab.CreditCardEnv` whose customers carry other segments.

    ``segments`` gives one integer code in ``[0, n_segments)`` per customer of the
    population (``len(env.customers)``). The customers, features, truth and serving order
    are unchanged, so policies run on the copy and on ``env`` with the same ``rng`` face
    the same customers and outcomes. ``env`` is not modified.

    Taught in notebooks/09_production_concerns.ipynb.

    Examples
    --------
    >>> from bandit_lab import CreditCardEnv
    >>> env = CreditCardEnv(n_customers=500, n_history=200, rng=0)
    >>> one = with_segments(env, np.zeros(500, dtype=int), 1)
    >>> one.n_segments, env.n_segments
    (1, 4)
    """
    for attr in ("segments", "n_segments", "serve", "outcomes"):
        if not hasattr(env, attr):
            raise TypeError(f"env is of type {type(env).__name__}, must be an environment such as "
                            f"CreditCardEnv (it has no {attr!r}).")
    n_segments = check_int("n_segments", n_segments, minimum=1)
    seg = np.asarray(segments)
    n = len(env.segments)
    if seg.shape != (n,):
        raise ValueError(f"segments has shape {seg.shape}, must be ({n},): one code per customer.")
    if seg.dtype.kind not in "iu":
        raise TypeError(f"segments has dtype {seg.dtype}, must hold integer codes.")
    if n and (seg.min() < 0 or seg.max() >= n_segments):
        bad = int(seg[(seg < 0) | (seg >= n_segments)][0])
        raise ValueError(f"segments contains {bad}, every code must be in [0, {n_segments - 1}].")
    out = copy.copy(env)
    out.segments = seg.astype(np.int64)
    out.n_segments = n_segments
    return out
