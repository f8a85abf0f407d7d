"""Budgets: every decision costs money; Thompson sampling on conversions per unit cost.

Taught in notebooks/09_production_concerns.ipynb.

    BudgetedTS                sampled rate per unit cost among the arms still affordable;
                              tracks spend; ``select()`` raises :class:`BudgetExhausted` once
                              nothing is affordable
    BudgetExhausted           the signal that the budget is spent (a clean end, not a crash)
    budgeted_thompson_scores  the score: Beta draw / cost, -inf where unaffordable
    simulate_budget           many runs of budgeted policies, each until its budget is spent
    BudgetHistory             what it returns for one policy
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .. import scores as _scores
from .._rng import RNGLike
from .._runs import Runner, check_policy, named_policies, run
from .._validation import check_int, check_per_arm, check_positive
from ..environments import Environment
from ..history import History
from ..policies import Policy
from ..posteriors import BetaPosterior
from ..scores import argmax_one, argmax_random

__all__ = [
    "BudgetedTS",
    "BudgetExhausted",
    "budgeted_thompson_scores",
    "BudgetHistory",
    "simulate_budget",
]


class BudgetExhausted(RuntimeError):
    """Raised by :meth:`BudgetedTS.select` when no arm is affordable any more.

    Not an error in the data: the signal that the campaign is over. Check
    :attr:`BudgetedTS.exhausted` before selecting to avoid it.
    """


BudgetExhausted.__module__ = "bandit_lab.production"  # where users import it from


def budgeted_thompson_scores(
    alpha: ArrayLike,
    beta: ArrayLike,
    costs: ArrayLike,
    remaining: ArrayLike,
    rng: np.random.Generator,
) -> np.ndarray:
    """Sampled success rate per unit cost; ``-inf`` for an arm that costs more than is left.

    ``alpha``, ``beta`` (..., K); ``costs`` (K,); ``remaining`` (...) the budget left per run.
    Maximising conversions for a budget is a knapsack: with rates known, the best plan spends
    everything on the arm with the highest rate / cost. Thompson sampling uses a posterior
    draw of the rate in its place.

    Taught in notebooks/09_production_concerns.ipynb.

    >>> import numpy as np
    >>> s = budgeted_thompson_scores(np.array([50., 50.]), np.array([50., 50.]),
    ...                              np.array([1.0, 3.0]), 2.0, np.random.default_rng(0))
    >>> bool(np.isfinite(s[0])), bool(np.isneginf(s[1]))    # arm 1 costs 3 > 2 left
    (True, True)
    """
    draws = _scores.thompson_scores(alpha, beta, rng)
    affordable = np.asarray(costs) <= np.asarray(remaining, dtype=float)[..., None] + _COST_TOL
    return np.where(affordable, draws / np.asarray(costs), -np.inf)


_COST_TOL = 1e-9  # spend is a sum of floats: 10 x 0.1 must still afford a 1.0 budget's last 0.1


class BudgetedTS(Policy):
    """Thompson sampling under a budget: conversions per unit cost among affordable arms.

    Each decision costs ``costs[arm]`` (a mailing, a bonus, a paid placement) and the
    campaign has ``budget`` to spend. The policy samples each arm's rate from its Beta
    posterior and picks the highest *rate / cost* among the arms it can still afford.

    The end is clean and documented: :meth:`select` charges the arm's cost at once (the
    offer is made, the money is spent) and, once no arm is affordable, raises
    :class:`BudgetExhausted` instead of returning a value that breaks the next call.
    :meth:`update` only learns and never refuses a reward: the reward of an offer already
    paid for may arrive after the budget is spent. Loop ``while not policy.exhausted``.

    Taught in notebooks/09_production_concerns.ipynb.

    Parameters
    ----------
    n_arms : int
    costs : float or sequence of float > 0
        Cost of one decision for each arm.
    budget : float > 0
    alpha0, beta0 : float > 0, default 1.0
    rng : None, int or numpy.random.Generator

    Attributes
    ----------
    alpha_, beta_ : ndarray (n_arms,)
        The Beta posterior of every arm's rate.
    pulls_ : ndarray (n_arms,)
        Decisions made (and paid for) per arm.
    spent_ : float

    Examples
    --------
    >>> bt = BudgetedTS(2, costs=[1.0, 4.0], budget=5.0, rng=0)
    >>> while not bt.exhausted:
    ...     arm = bt.select()
    ...     _ = bt.update(arm, 0.0)
    >>> bt.spent_ <= 5.0, bt.remaining < 1.0
    (True, True)
    >>> bt.select()
    Traceback (most recent call last):
    ...
    bandit_lab.production.BudgetExhausted: no arm is affordable: 5 of the budget 5 is spent and the cheapest arm costs 1.
    """

    _state_names = ("alpha_", "beta_", "pulls_", "spent_")

    family = "budget"

    def __init__(
        self,
        n_arms: int,
        *,
        costs: ArrayLike,
        budget: float,
        alpha0: float = 1.0,
        beta0: float = 1.0,
        rng: RNGLike = None,
    ) -> None:
        n_arms = check_int("n_arms", n_arms, minimum=1)
        self.costs = check_per_arm("costs", costs, n_arms)
        self.budget = check_positive("budget", budget)
        self.alpha0 = check_positive("alpha0", alpha0)
        self.beta0 = check_positive("beta0", beta0)
        super().__init__(n_arms, rng=rng)

    # -- the pieces the simulator uses ----------------------------------------------------
    def initial_state(self, shape: tuple[int, ...] = ()) -> dict[str, np.ndarray]:
        """Fresh state: Beta parameters and pulls ``shape + (n_arms,)``, spend ``shape``."""
        full = tuple(shape) + (self.n_arms,)
        return {
            "alpha_": np.full(full, self.alpha0),
            "beta_": np.full(full, self.beta0),
            "pulls_": np.zeros(full),
            "spent_": np.zeros(tuple(shape)),
        }

    def scores(self, state: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
        """Sampled rate / cost; -inf for the arms the remaining budget cannot pay."""
        return budgeted_thompson_scores(
            state["alpha_"], state["beta_"], self.costs, self.budget - state["spent_"], rng
        )

    def affordable_in(self, state: dict[str, np.ndarray]) -> np.ndarray:
        """Which arms each run can still pay for, shape ``spent_.shape + (n_arms,)``."""
        left = self.budget - np.asarray(state["spent_"], dtype=float)
        return self.costs <= left[..., None] + _COST_TOL

    def charge_state(
        self, state: dict[str, np.ndarray], arms: ArrayLike, runs: ArrayLike | None = None
    ) -> None:
        """In place: pay for the chosen arm of each run (or of the ``runs`` named)."""
        arms = np.asarray(arms)
        if arms.ndim == 0:
            state["pulls_"][arms] += 1.0
            state["spent_"] = state["spent_"] + self.costs[arms]
            return
        rows = np.arange(arms.shape[0]) if runs is None else np.asarray(runs)
        state["pulls_"][rows, arms] += 1.0
        state["spent_"][rows] += self.costs[arms]

    def update_state(
        self,
        state: dict[str, np.ndarray],
        arms: ArrayLike,
        rewards: ArrayLike,
        runs: ArrayLike | None = None,
    ) -> None:
        """In place: the Beta update of the chosen arm of each run."""
        _scores.beta_update(state["alpha_"], state["beta_"], arms, rewards, runs)

    # -- what a learner calls ------------------------------------------------------------
    @property
    def remaining(self) -> float:
        """Budget not yet spent."""
        return self.budget - self.spent_

    def affordable(self) -> np.ndarray:
        """Boolean array: the arms whose cost the remaining budget still covers."""
        return self.costs <= self.remaining + _COST_TOL

    @property
    def exhausted(self) -> bool:
        """True once no arm is affordable: the campaign is over."""
        return not self.affordable().any()

    def select(self) -> int:
        """Choose an affordable arm by sampled rate per unit cost and pay for it.

        Raises
        ------
        BudgetExhausted
            When no arm is affordable (check :attr:`exhausted` first).
        """
        if self.exhausted:
            raise BudgetExhausted(
                f"no arm is affordable: {self.spent_:g} of the budget {self.budget:g} "
                f"is spent and the cheapest arm costs {self.costs.min():g}."
            )
        state = self._state()
        arm = argmax_one(self.scores(state, self._rng), self._rng)
        self.charge_state(state, np.asarray(arm))
        self.spent_ = float(state["spent_"])
        return arm

    def update(self, arm: int, reward: float) -> BudgetedTS:
        """Learn from one reward in [0, 1] for ``arm`` (already paid for); return ``self``."""
        return super().update(arm, reward)

    def _update_one(self, arm, reward):
        self.alpha_[arm] += reward
        self.beta_[arm] += 1.0 - reward

    def _update_arm_total(self, state, arm, n, total):
        state["alpha_"][arm] += total
        state["beta_"][arm] += n - total

    def posterior(self) -> BetaPosterior:
        """The belief about every arm's rate, as a :class:`BetaPosterior`."""
        return BetaPosterior(self.alpha_, self.beta_)

    # -- state as plain data -------------------------------------------------------------
    def _check_saved(self, arrays):
        spent = float(arrays["spent_"])
        if not 0.0 <= spent <= self.budget + _COST_TOL:
            raise ValueError(
                f"state['state']['spent_'] == {spent!r}, must be in [0, budget == {self.budget!r}]."
            )

    def _set_state(self, state):
        self.alpha_, self.beta_, self.pulls_ = state["alpha_"], state["beta_"], state["pulls_"]
        self.spent_ = float(state["spent_"])

    def _state(self):
        return {
            "alpha_": self.alpha_,
            "beta_": self.beta_,
            "pulls_": self.pulls_,
            "spent_": np.asarray(self.spent_),
        }

    def __repr__(self):
        return f"BudgetedTS({self.n_arms}, costs={self.costs.tolist()}, budget={self.budget:g})"


@dataclass(eq=False, repr=False)
class BudgetHistory(History):
    """What happened in ``n_runs`` runs of one budgeted policy, each until its budget ran out:
    a :class:`~bandit_lab.History` whose ``arms`` are -1 after a run's end (``rewards`` 0
    there), plus what each run ``spent`` (n_runs,), the arms' ``costs`` (n_arms,) and the
    ``budget``. Its truth (``rates``) is each arm's conversion rate.
    """

    spent: np.ndarray | None = field(default=None, kw_only=True)
    costs: np.ndarray | None = field(default=None, kw_only=True)
    budget: float = field(default=0.0, kw_only=True)

    @property
    def rates(self) -> np.ndarray:
        """Every arm's true conversion rate, (n_arms,)."""
        return self.mean_rewards[0, 0]

    @property
    def decisions(self) -> np.ndarray:
        """Per run: how many decisions the budget paid for."""
        return (self.arms >= 0).sum(axis=1)

    @property
    def conversions(self) -> np.ndarray:
        """Per run: conversions realised."""
        return self.rewards.sum(axis=1, dtype=float)

    @property
    def expected_conversions(self) -> np.ndarray:
        """Per run: expected conversions of the decisions made (less noisy)."""
        return self.expected_rewards.sum(axis=1)

    @property
    def upper_bound(self) -> float:
        """Expected conversions of the best plan with the rates known: the whole budget on
        the arm with the highest rate per unit cost (the fractional-knapsack bound)."""
        return float(self.budget * (self.rates / self.costs).max())

    def arm_spend_shares(self) -> np.ndarray:
        """Per run: share of the money spent on each arm, (n_runs, n_arms)."""
        spend = np.stack(
            [(self.arms == k).sum(axis=1) * self.costs[k] for k in range(self.costs.size)], axis=1
        )
        return spend / np.maximum(spend.sum(axis=1, keepdims=True), 1e-300)

    def __repr__(self):
        return f"BudgetHistory(name={self.name!r}, n_runs={self.n_runs}, budget={self.budget:g})"


class _BudgetRunner(Runner):
    def active(self):
        return self.policy.affordable_in(self.state).any(axis=-1)

    def choose(self, step):
        rates = np.asarray(step.mean_rewards, dtype=float)
        if not hasattr(self, "rates"):
            self.rates = rates
        elif not np.array_equal(rates, self.rates):
            raise ValueError("env changes its rates over time; simulate_budget needs fixed rates.")
        return argmax_random(self.policy.scores(self.state, self.rng), self.rng)

    def learn(self, step, arms, rewards, runs=None):
        self.policy.charge_state(self.state, arms, runs=runs)
        self.policy.update_state(self.state, arms, rewards, runs=runs)


def simulate_budget(
    policies: Any,
    env: Environment,
    *,
    n_runs: int = 1,
    rng: RNGLike = None,
    progress: bool = False,
    record_propensities: bool = False,
    executor: Any = None,
    block_runs: int | None = None,
) -> dict[str, BudgetHistory]:
    """Run every budgeted policy ``n_runs`` times on ``env`` until each run's budget is spent.

    Each policy is a configuration such as :class:`bandit_lab.BudgetedTS` (``costs``,
    ``budget``, ``initial_state``, ``scores``, ``affordable_in``, ``charge_state``,
    ``update_state``); it is not modified. A run ends cleanly when no arm is affordable;
    the simulation ends when every run of every policy has ended. At step ``t`` every
    policy faces the same outcomes. The other options are those of
    :func:`bandit_lab.simulate`.

    Taught in notebooks/09_production_concerns.ipynb.

    Returns
    -------
    dict of name -> BudgetHistory

    Examples
    --------
    >>> from bandit_lab import BernoulliBandit, BudgetedTS
    >>> env = BernoulliBandit([0.05, 0.08])
    >>> res = simulate_budget({"ts": BudgetedTS(2, costs=[1.0, 2.0], budget=50.0)}, env,
    ...                       n_runs=4, rng=0)
    >>> h = res["ts"]
    >>> bool((h.spent <= 50.0).all()), bool((h.spent > 48.0).all())
    (True, True)
    """
    named, _ = named_policies(policies)
    if not isinstance(env, Environment):
        raise TypeError(
            f"env is of type {type(env).__name__}, must be an Environment such as BernoulliBandit."
        )
    for name, p in named.items():
        check_policy(
            name,
            p,
            "budget",
            "simulate_budget",
            env=env,
            methods=("initial_state", "scores", "affordable_in", "charge_state", "update_state"),
            example="BudgetedTS",
        )
    n_runs = check_int("n_runs", n_runs, minimum=1)
    n_max = max(int(np.floor(p.budget / np.min(p.costs) * (1 + 1e-9))) + 1 for p in named.values())
    logs = run(
        env,
        [(name, p, _BudgetRunner) for name, p in named.items()],
        n_steps=n_max,
        n_runs=n_runs,
        rng=rng,
        executor=executor,
        block_runs=block_runs,
        progress=progress,
        record_propensities=record_propensities,
        until_inactive=True,
    )
    return {
        name: BudgetHistory(
            log["arms"],
            log["rewards"],
            logs["truth"],
            name,
            spent=log["final_state"]["spent_"].copy(),
            costs=np.asarray(p.costs, dtype=float),
            budget=float(p.budget),
            propensities=log.get("propensities"),
            final_state=log["final_state"],
        )
        for (name, p), log in zip(named.items(), logs["policies"])
    }
