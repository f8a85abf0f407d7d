"""When to stop an experiment: the one home of the stopping rules.

Taught in notebooks/08_bayesian_ab_testing.ipynb (A/B tests) and
notebooks/09_production_concerns.ipynb (bandits).

Rules that read the posteriors of the variants (or arms)
    stop_on_expected_loss     stop once choosing some variant costs < ``threshold`` on average
                              (exact: :func:`~bandit_lab.ab_testing.expected_loss`)
    stop_on_prob_best         stop once some variant is the best with probability > ``level``
                              (exact: :func:`~bandit_lab.ab_testing.prob_being_best`)
    PosteriorStoppingRule     either criterion as an object with its own random stream, by
                              Monte Carlo over many arms and runs at once; ``rule(alpha, beta)``
    StopCheck                 what a check found: stop, best arm, P(best), expected loss

Reading a simulation afterwards
    stopping_times            when a rule would have ended each run of a simulation
    StoppingResult            what it returns
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .._rng import RNGLike, resolve_rng
from .._validation import check_int, check_positive, check_probability
from ..posteriors import BetaPosterior, monte_carlo_best
from .bayes import expected_loss, prob_being_best

__all__ = [
    "stop_on_expected_loss",
    "stop_on_prob_best",
    "PosteriorStoppingRule",
    "StopCheck",
    "stopping_times",
    "StoppingResult",
]


def stop_on_expected_loss(
    *variants: Any, threshold: float
) -> tuple[bool | np.ndarray, int | np.ndarray]:
    """Stop when the variant with the smallest expected loss costs less than ``threshold``.

    The "threshold of caring": a conversion-rate difference too small to matter. The rule
    stops as soon as choosing the current favourite would, on average over the posterior,
    give up less than that; it answers "which variant should we ship?", not "are they
    different?", so with two equal variants it stops and ships either.

    Taught in notebooks/08_bayesian_ab_testing.ipynb.

    Parameters
    ----------
    *variants : BetaPosterior or (alpha, beta) pair, at least two
    threshold : float > 0
        On the rate scale (e.g. 0.0005 = 0.05 percentage points of conversion).

    Returns
    -------
    stop : bool or ndarray of bool
        Whether to stop (per experiment).
    choice : int or ndarray of int
        Index of the variant with the smallest expected loss (the one to ship).

    Examples
    --------
    >>> stop_on_expected_loss((41, 961), (59, 943), threshold=0.001)
    (True, 1)
    >>> stop_on_expected_loss((5, 95), (6, 94), threshold=0.001)   # too early to tell
    (False, 1)
    """
    threshold = check_positive("threshold", threshold)
    loss = expected_loss(*variants)
    stop = loss.min(axis=-1) < threshold
    choice = loss.argmin(axis=-1)
    if stop.ndim == 0:
        return bool(stop), int(choice)
    return stop, choice


def stop_on_prob_best(*variants: Any, level: float) -> tuple[bool | np.ndarray, int | np.ndarray]:
    """Stop when some variant is the best with posterior probability above ``level``.

    This is the source tutorial's Exercise 2 rule ("stop when P(winner > loser) > 0.99").
    The probabilities come from :func:`prob_being_best` (exact for two variants).

    Taught in notebooks/08_bayesian_ab_testing.ipynb.

    Parameters
    ----------
    *variants : BetaPosterior or (alpha, beta) pair, at least two
    level : float in (0, 1)

    Returns
    -------
    stop : bool or ndarray of bool
    choice : int or ndarray of int
        Index of the variant most likely to be the best.

    Examples
    --------
    >>> stop_on_prob_best((41, 961), (59, 943), level=0.95)
    (True, 1)
    >>> stop_on_prob_best((41, 961), (59, 943), level=0.99)
    (False, 1)
    """
    level = check_probability("level", level, open_low=True, open_high=True)
    probs = prob_being_best(*variants)
    stop = probs.max(axis=-1) > level
    choice = probs.argmax(axis=-1)
    if stop.ndim == 0:
        return bool(stop), int(choice)
    return stop, choice


class StopCheck(NamedTuple):
    """What :meth:`PosteriorStoppingRule.check` found (arrays carry leading run axes)."""

    stop: bool | np.ndarray
    best_arm: int | np.ndarray
    prob_best: np.ndarray
    expected_loss: np.ndarray


class PosteriorStoppingRule:
    """Stop a bandit experiment on what the posterior says, not on overlapping intervals.

    Give exactly one criterion:

    - ``level``: stop when some arm is the best with posterior probability > ``level``;
      that arm is the choice;
    - ``loss_threshold``: stop when choosing the arm with the smallest *expected loss*
      (E[best rate - its rate]) gives up less than ``loss_threshold`` (on the rate scale).
      Unlike ``level``, it also stops when two arms are too close to matter.

    Both quantities are Monte Carlo estimates from ``n_samples`` joint draws of the Beta
    posteriors (drawn with :meth:`BetaPosterior.sample`); their standard error is at most
    ``0.5 / sqrt(n_samples)`` for P(best). Unlike a rule that waits for every arm to
    reach a minimum number of pulls, neither needs the bad arms to be pulled: Thompson
    sampling starves them, and a starved arm is one the posterior is already sure about.

    Taught in notebooks/09_production_concerns.ipynb.

    Parameters
    ----------
    level : float in (0, 1), optional
    loss_threshold : float > 0, optional
    n_samples : int >= 100, default 4000
    rng : None, int or numpy.random.Generator

    Examples
    --------
    >>> import numpy as np
    >>> rule = PosteriorStoppingRule(level=0.95, rng=0)
    >>> alpha = np.array([31.0, 46.0, 61.0])          # 30, 45, 60 conversions ...
    >>> beta = np.array([971.0, 956.0, 941.0])        # ... out of 1000 each
    >>> rule(alpha, beta)
    (False, 2)
    >>> check = rule.check(alpha + [0, 0, 200], beta + [0, 0, 2800])   # arm 2: 3000 more pulls
    >>> check.stop, check.best_arm, bool(check.prob_best[2] > 0.95)
    (True, 2, True)
    """

    def __init__(
        self,
        *,
        level: float | None = None,
        loss_threshold: float | None = None,
        n_samples: int = 4000,
        rng: RNGLike = None,
    ) -> None:
        if (level is None) == (loss_threshold is None):
            raise ValueError(
                f"level == {level!r} and loss_threshold == {loss_threshold!r}, must give "
                "exactly one of them."
            )
        self.level = (
            None
            if level is None
            else check_probability("level", level, open_low=True, open_high=True)
        )
        self.loss_threshold = (
            None if loss_threshold is None else check_positive("loss_threshold", loss_threshold)
        )
        self.n_samples = check_int("n_samples", n_samples, minimum=100)
        self.rng = rng
        self._rng = resolve_rng(rng)

    def check(self, alpha: ArrayLike, beta: ArrayLike) -> StopCheck:
        """Evaluate the rule on Beta posteriors (arms on the last axis; leading axes are
        separate experiments); return a :class:`StopCheck`."""
        post = BetaPosterior(alpha, beta)
        prob, loss = monte_carlo_best(
            post.alpha, post.beta, n_samples=self.n_samples, rng=self._rng
        )
        if self.level is not None:
            best = prob.argmax(axis=-1)
            stop = prob.max(axis=-1) > self.level
        else:
            best = loss.argmin(axis=-1)
            stop = loss.min(axis=-1) < self.loss_threshold
        if stop.ndim == 0:
            return StopCheck(bool(stop), int(best), prob, loss)
        return StopCheck(stop, best, prob, loss)

    def __call__(self, alpha, beta):
        """``(stop, choice)``: whether to stop, and the arm to keep (per experiment)."""
        c = self.check(alpha, beta)
        return c.stop, c.best_arm

    def __repr__(self):
        what = (
            f"level={self.level:g}"
            if self.level is not None
            else f"loss_threshold={self.loss_threshold:g}"
        )
        return f"PosteriorStoppingRule({what})"


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
    def stopped(self) -> np.ndarray:
        return self.stop_step >= 0

    @property
    def stop_rate(self) -> float:
        """Share of runs in which the rule fired."""
        return float(self.stopped.mean())

    def wrong_rate(self, best_arm: int) -> float:
        """Among the runs that stopped, the share whose choice was not ``best_arm``."""
        s = self.stopped
        return float((self.choice[s] != best_arm).mean()) if s.any() else float("nan")

    def median_stop(self) -> float:
        """Median number of decisions before stopping, over the runs that stopped."""
        s = self.stopped
        return float(np.median(self.stop_step[s])) if s.any() else float("nan")


def stopping_times(
    history: Any, rule: Callable, *, check_every: int, alpha0: float = 1.0, beta0: float = 1.0
) -> StoppingResult:
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
    >>> h = simulate(BetaBernoulliTS(2), BernoulliBandit([0.2, 0.5]), n_steps=400, n_runs=20, rng=0)
    >>> res = stopping_times(h, PosteriorStoppingRule(level=0.95, rng=1), check_every=50)
    >>> res.stop_rate, res.wrong_rate(1)
    (1.0, 0.0)
    """
    if not callable(rule):
        raise TypeError(
            f"rule is of type {type(rule).__name__}, must be callable as "
            "rule(alpha, beta) -> (stop, choice)."
        )
    arms = np.asarray(history.arms)
    rewards = np.asarray(history.rewards, dtype=float)
    if arms.ndim != 2 or rewards.shape != arms.shape:
        raise ValueError(
            f"history has arms of shape {arms.shape} and rewards of shape "
            f"{rewards.shape}, must both be (n_runs, n_steps)."
        )
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
