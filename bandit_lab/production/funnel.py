"""Funnels: offers whose value is impression -> click -> purchase -> revenue, simulated.

Taught in notebooks/09_production_concerns.ipynb.

    FunnelEnv          offers with a click rate, a purchase rate given a click and a
                       log-normal revenue per purchase; its truth (``mean_rewards``) is each
                       offer's expected revenue per impression
    simulate_funnel    many runs of policies that learn from click, purchase and revenue
    FunnelHistory      what it returns for one policy: a History whose rewards are the
                       revenue, plus the clicks and purchases
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .._rng import RNGLike, stream
from .._runs import Runner, check_policy, named_policies, run
from .._validation import check_positive, check_probability
from ..environments import Environment
from ..history import History
from ..scores import argmax_random

__all__ = ["FunnelEnv", "FunnelOutcome", "FunnelHistory", "simulate_funnel"]


class FunnelOutcome(NamedTuple):
    """A step's outcomes: for every run and every arm (each (n_runs, n_arms)) from
    :meth:`FunnelEnv.draw`, or for the arm each run chose (each (n_runs,)) as feedback."""

    clicked: np.ndarray
    purchased: np.ndarray
    revenue: np.ndarray


class FunnelEnv(Environment):
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
    >>> out = env.draw(0, 4, np.random.default_rng(0))
    >>> out.clicked.shape, bool((out.purchased <= out.clicked).all())
    ((4, 2), True)
    """

    def __init__(
        self,
        click_rates: ArrayLike,
        purchase_rates: ArrayLike,
        revenue_means: ArrayLike,
        *,
        revenue_sigma: float = 0.5,
    ) -> None:
        c = np.asarray(click_rates, dtype=float)
        if c.ndim != 1 or c.size < 1:
            raise ValueError(
                f"click_rates has shape {c.shape}, must be a 1-D sequence of at least one rate."
            )
        arrays = {
            "click_rates": c,
            "purchase_rates": np.asarray(purchase_rates, dtype=float),
            "revenue_means": np.asarray(revenue_means, dtype=float),
        }
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
    def purchase_per_impression(self) -> np.ndarray:
        return self.click_rates * self.purchase_rates

    @property
    def value_per_impression(self) -> np.ndarray:
        """Expected revenue per impression of each arm (the truth, ``means_at(t)``)."""
        return self.purchase_per_impression * self.revenue_means

    @property
    def best_arm(self) -> int:
        return int(np.argmax(self.value_per_impression))

    def means_at(self, t: int) -> np.ndarray:
        """Expected revenue per impression of each arm, at every step."""
        return self.value_per_impression

    def draw(
        self, t: Any, n_runs: Any = None, rng: np.random.Generator | None = None
    ) -> FunnelOutcome:
        """Outcomes of step ``t`` for ``n_runs`` runs and every arm (three numbers per run,
        shared by the arms: a policy sees only the arm it chose). ``draw(n_runs, rng)``,
        without ``t``, is accepted too (the outcomes do not depend on the step)."""
        if rng is None and isinstance(n_runs, np.random.Generator):
            t, n_runs, rng = 0, t, n_runs  # the spelling before the environment protocol
        gen = stream(rng, method="FunnelEnv.draw")
        u = gen.random((n_runs, 2))
        z = gen.standard_normal(n_runs)
        clicked = u[:, :1] < self.click_rates
        purchased = clicked & (u[:, 1:] < self.purchase_rates)
        s = self.revenue_sigma
        revenue = self.revenue_means * np.exp(s * z[:, None] - 0.5 * s * s)
        return FunnelOutcome(clicked, purchased, np.where(purchased, revenue, 0.0))

    def rewards(self, outcome: FunnelOutcome, arms: np.ndarray, t: int) -> np.ndarray:
        """The revenue each run's chosen arm brought (0 without a purchase)."""
        return outcome.revenue[np.arange(len(arms)), arms]

    def feedback(self, outcome: FunnelOutcome, arms: np.ndarray, t: int) -> FunnelOutcome:
        """What a funnel policy learns from: click, purchase and revenue of the chosen arms."""
        rows = np.arange(len(arms))
        return FunnelOutcome(
            outcome.clicked[rows, arms], outcome.purchased[rows, arms], outcome.revenue[rows, arms]
        )

    def __repr__(self):
        return f"FunnelEnv(n_arms={self.n_arms})"


@dataclass(eq=False, repr=False)
class FunnelHistory(History):
    """What happened in ``n_runs`` runs of one policy on a :class:`FunnelEnv`: a
    :class:`~bandit_lab.History` whose ``rewards`` are the revenue (0 where nothing was
    bought) and whose truth is each arm's value of an impression, plus ``clicks`` and
    ``purchases`` (n_runs, n_steps)."""

    clicks: np.ndarray | None = field(default=None, kw_only=True)
    purchases: np.ndarray | None = field(default=None, kw_only=True)

    @property
    def revenue(self) -> np.ndarray:
        """Revenue of each impression, (n_runs, n_steps): the rewards."""
        return self.rewards

    @property
    def values(self) -> np.ndarray:
        """The true value of an impression of each arm, (n_arms,)."""
        return self.mean_rewards[0, 0]

    def revenue_per_impression(self, *, expected: bool = True) -> np.ndarray:
        """Per run: revenue per impression (expected value of the arms chosen by default,
        which is less noisy; ``expected=False`` for the revenue realised)."""
        return self.conversion_rate(expected=expected)


class _FunnelRunner(Runner):
    extras: ClassVar[dict[str, Any]] = {"clicks": bool, "purchases": bool}

    def choose(self, step):
        return argmax_random(self.policy.scores(self.state, self.rng), self.rng)

    def learn(self, step, arms, feedback, runs=None):
        c, b, r = feedback
        if runs is None:
            self.policy.update_state(self.state, arms, c, b, r)
        else:
            self.policy.update_state(self.state, arms, c, b, r, runs=runs)

    def log_extras(self, logs, t, rows, feedback):
        logs["clicks"][t, rows] = feedback.clicked
        logs["purchases"][t, rows] = feedback.purchased


def simulate_funnel(
    policies: Any,
    env: FunnelEnv,
    *,
    n_steps: int,
    n_runs: int = 1,
    rng: RNGLike = None,
    progress: bool = False,
    record_propensities: bool = False,
    executor: Any = None,
    block_runs: int | None = None,
) -> dict[str, FunnelHistory]:
    """Run every policy ``n_runs`` times for ``n_steps`` impressions on a :class:`FunnelEnv`.

    Each policy is a configuration with ``n_arms``, ``initial_state(shape)``,
    ``scores(state, rng)`` and ``update_state(state, arms, clicked, purchased, revenue)``,
    such as :class:`bandit_lab.MultiObjectiveTS`; it is not modified. A policy that learns
    from one number per impression is written as such a class (notebook 09 does it for the
    source article's versions). The other options are those of :func:`bandit_lab.simulate`.

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
    named, _ = named_policies(policies)
    if not isinstance(env, FunnelEnv):
        raise TypeError(f"env is of type {type(env).__name__}, must be a FunnelEnv.")
    for name, p in named.items():
        check_policy(
            name,
            p,
            "funnel",
            "simulate_funnel",
            env=env,
            methods=("initial_state", "scores", "update_state"),
            example="MultiObjectiveTS",
        )
    logs = run(
        env,
        [(name, p, _FunnelRunner) for name, p in named.items()],
        n_steps=n_steps,
        n_runs=n_runs,
        rng=rng,
        executor=executor,
        block_runs=block_runs,
        progress=progress,
        record_propensities=record_propensities,
    )
    return {
        name: FunnelHistory(
            log["arms"],
            log["rewards"],
            logs["truth"],
            name,
            clicks=log["clicks"],
            purchases=log["purchases"],
            propensities=log.get("propensities"),
            final_state=log["final_state"],
        )
        for name, log in zip(named, logs["policies"])
    }
