"""Simulated A/B experiments that peek at their data, and what peeking does to a test.

Taught in notebooks/08_bayesian_ab_testing.ipynb.

    sequential_ab_test        many simulated experiments that look every ``check_every``
                              visitors per variant and stop by a rule
    peeking_rejection_rates   how often the z-test rejects when looked at once vs at every look
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .._rng import RNGLike, resolve_rng
from .._validation import check_choice, check_int, check_positive, check_probability
from .classical import two_proportion_ztest
from .stopping import stop_on_expected_loss, stop_on_prob_best

__all__ = ["sequential_ab_test", "SequentialTestResult", "peeking_rejection_rates", "PeekingRates"]


def _experiment_rates(rate_a, rate_b, n_experiments):
    rates = []
    for name, r in (("rate_a", rate_a), ("rate_b", rate_b)):
        if isinstance(r, numbers.Real) and not isinstance(r, bool):
            r = check_probability(name, r)
            rates.append(np.full(n_experiments, r))
            continue
        arr = np.asarray(r, dtype=float)
        if arr.shape != (n_experiments,):
            raise ValueError(
                f"{name} has shape {arr.shape}, must be a number or an array of "
                f"shape ({n_experiments},) (one rate per experiment)."
            )
        bad = ~np.isfinite(arr) | (arr < 0) | (arr > 1)
        if bad.any():
            raise ValueError(
                f"{name} contains {float(arr[bad][0])!r}, every rate must be in [0, 1]."
            )
        rates.append(arr)
    return np.stack(rates, axis=-1)


def _check_schedule(check_every, max_samples):
    check_every = check_int("check_every", check_every, minimum=1)
    max_samples = check_int("max_samples", max_samples, minimum=1)
    if max_samples % check_every:
        raise ValueError(
            f"max_samples == {max_samples}, must be a multiple of "
            f"check_every == {check_every} (the last look is at max_samples)."
        )
    return check_every, max_samples


def _cumulative_successes(rates, check_every, n_checks, gen):
    """Conversions of each variant after each look, shape (n_checks, n_experiments, 2)."""
    new = gen.binomial(check_every, rates, size=(n_checks,) + rates.shape)
    return np.cumsum(new, axis=0)


@dataclass(frozen=True)
class SequentialTestResult:
    """What :func:`sequential_ab_test` returns: one entry per simulated experiment.

    Attributes
    ----------
    rates : ndarray, shape (n_experiments, 2)
        True rates of A and B.
    stopped : ndarray of bool
        Whether the rule stopped before or at the last look.
    stop_samples : ndarray of int
        Visitors per variant when the experiment stopped (``max_samples`` if it never did).
    decision : ndarray of int
        0 (ship A) or 1 (ship B) where it stopped; -1 where it never stopped.
    successes : ndarray, shape (n_experiments, 2)
        Conversions of each variant at the stop (or at ``max_samples``).
    prior : (float, float)
        The Beta prior behind the posterior means.
    """

    rates: np.ndarray
    stopped: np.ndarray
    stop_samples: np.ndarray
    decision: np.ndarray
    successes: np.ndarray
    prior: tuple

    @property
    def n_experiments(self) -> int:
        return self.stopped.size

    @property
    def posterior_mean(self) -> np.ndarray:
        """Posterior mean rate of each variant at the stop, shape (n_experiments, 2)."""
        a0, b0 = self.prior
        return (a0 + self.successes) / (a0 + b0 + self.stop_samples[:, None])

    @property
    def stop_rate(self) -> float:
        """Share of experiments that stopped (under equal rates and the z-test rule: the
        false-positive rate)."""
        return float(self.stopped.mean())

    @property
    def chose_worse(self) -> np.ndarray:
        """Per experiment: stopped and shipped a variant with a strictly lower true rate."""
        chosen = np.where(self.stopped, self.decision, 0)
        idx = np.arange(self.n_experiments)
        return self.stopped & (self.rates[idx, chosen] < self.rates[idx, 1 - chosen])

    @property
    def loss(self) -> np.ndarray:
        """Per experiment: best true rate minus the shipped one (NaN where never stopped)."""
        chosen = np.where(self.stopped, self.decision, 0)
        idx = np.arange(self.n_experiments)
        gap = self.rates.max(axis=1) - self.rates[idx, chosen]
        return np.where(self.stopped, gap, np.nan)


_RULES = ("expected_loss", "prob_best", "ztest")


def sequential_ab_test(
    rate_a: float | ArrayLike,
    rate_b: float | ArrayLike,
    *,
    rule: str | Callable,
    threshold: float | None,
    check_every: int = 100,
    max_samples: int = 10_000,
    n_experiments: int = 1_000,
    prior: tuple[float, float] = (1.0, 1.0),
    rng: RNGLike = None,
) -> SequentialTestResult:
    """Simulate many A/B experiments that look at the data every ``check_every`` visitors.

    Each experiment sends visitors to A and B in equal numbers; after every
    ``check_every`` visitors per variant it applies ``rule`` to the data so far and stops at
    the first look where the rule says so (at most ``max_samples`` per variant). All
    experiments run at once, vectorised; with the same ``rng`` every rule sees the very same
    visitors, so rules can be compared on equal terms.

    Taught in notebooks/08_bayesian_ab_testing.ipynb.

    Parameters
    ----------
    rate_a, rate_b : float in [0, 1], or array of shape (n_experiments,)
        True conversion rates (arrays: one pair per experiment, e.g. drawn from a prior).
    rule : {"expected_loss", "prob_best", "ztest"} or callable
        ``"expected_loss"``: :func:`stop_on_expected_loss` with ``threshold`` as the
        threshold of caring. ``"prob_best"``: :func:`stop_on_prob_best` with ``threshold``
        as the level. ``"ztest"``: :func:`two_proportion_ztest` rejects at level
        ``threshold``; the decision is the variant with the higher observed rate. A
        callable ``rule(successes, trials) -> (stop, choice)`` receives arrays of shape
        ``(m, 2)`` for the m experiments still running and returns two arrays of shape
        ``(m,)``; ``threshold`` must then be None.
    threshold : float or None
    check_every, max_samples : int >= 1
        Visitors per variant between looks, and at the last look (a multiple of
        ``check_every``). ``check_every == max_samples`` is a fixed-horizon test.
    n_experiments : int >= 1
    prior : (float, float)
        Beta prior of both variants, for the Bayesian rules and the posterior means. Whole
        numbers keep every look on the exact, vectorised path; other values fall back on
        quadrature, some 10 ms per experiment per look.
    rng : None, int or numpy.random.Generator

    Returns
    -------
    SequentialTestResult

    Examples
    --------
    >>> res = sequential_ab_test(0.05, 0.08, rule="expected_loss", threshold=0.001,
    ...                          check_every=200, max_samples=4000, n_experiments=50, rng=0)
    >>> res.stop_samples.shape, res.decision.shape, res.posterior_mean.shape
    ((50,), (50,), (50, 2))
    >>> bool(res.stop_rate > 0.9), bool((res.decision[res.stopped] == 1).mean() > 0.8)
    (True, True)
    """
    n_experiments = check_int("n_experiments", n_experiments, minimum=1)
    rates = _experiment_rates(rate_a, rate_b, n_experiments)
    check_every, max_samples = _check_schedule(check_every, max_samples)
    if not isinstance(prior, (tuple, list)) or len(prior) != 2:
        raise TypeError(f"prior == {prior!r}, must be an (alpha0, beta0) pair.")
    a0, b0 = check_positive("prior alpha0", prior[0]), check_positive("prior beta0", prior[1])
    if callable(rule):
        if threshold is not None:
            raise ValueError(f"threshold == {threshold!r}, must be None when rule is a function.")
        decide = rule
    else:
        rule = check_choice("rule", rule, _RULES)
        if rule == "expected_loss":
            threshold = check_positive("threshold", threshold)

            def decide(s, n):
                return stop_on_expected_loss(
                    (a0 + s[:, 0], b0 + n[:, 0] - s[:, 0]),
                    (a0 + s[:, 1], b0 + n[:, 1] - s[:, 1]),
                    threshold=threshold,
                )
        elif rule == "prob_best":
            threshold = check_probability("threshold", threshold, open_low=True, open_high=True)

            def decide(s, n):
                return stop_on_prob_best(
                    (a0 + s[:, 0], b0 + n[:, 0] - s[:, 0]),
                    (a0 + s[:, 1], b0 + n[:, 1] - s[:, 1]),
                    level=threshold,
                )
        else:
            threshold = check_probability("threshold", threshold, open_low=True, open_high=True)

            def decide(s, n):
                _z, p_value = two_proportion_ztest(s[:, 0], n[:, 0], s[:, 1], n[:, 1])
                return np.asarray(p_value) < threshold, (s[:, 1] > s[:, 0]).astype(int)

    n_checks = max_samples // check_every
    cum = _cumulative_successes(rates, check_every, n_checks, resolve_rng(rng))
    stopped = np.zeros(n_experiments, dtype=bool)
    stop_look = np.full(n_experiments, n_checks - 1)
    decision = np.full(n_experiments, -1)
    for look in range(n_checks):
        active = np.flatnonzero(~stopped)
        if active.size == 0:
            break
        s = cum[look, active].astype(float)
        n = np.full_like(s, (look + 1) * check_every)
        stop, choice = decide(s, n)
        stop = np.asarray(stop, dtype=bool).reshape(active.shape)
        choice = np.asarray(choice).reshape(active.shape)
        hit = active[stop]
        stopped[hit] = True
        stop_look[hit] = look
        decision[hit] = choice[stop]
    successes = cum[stop_look, np.arange(n_experiments)]
    return SequentialTestResult(
        rates=rates,
        stopped=stopped,
        stop_samples=(stop_look + 1) * check_every,
        decision=decision,
        successes=successes,
        prior=(a0, b0),
    )


class PeekingRates(NamedTuple):
    """Rejection rates of the z-test on the same simulated experiments."""

    final_look: float  # looking once, at max_samples per variant
    any_look: float  # rejecting at the first of the looks that reaches significance
    n_experiments: int


def peeking_rejection_rates(
    rate_a: float | ArrayLike,
    rate_b: float | ArrayLike,
    *,
    alpha: float = 0.05,
    check_every: int = 100,
    max_samples: int = 10_000,
    n_experiments: int = 2_000,
    rng: RNGLike = None,
) -> PeekingRates:
    """How often the z-test rejects when looked at once, versus at every look.

    With equal rates every rejection is a false positive: looking once keeps the rate at
    ``alpha``; stopping at the first significant look of many pushes it well above.
    Both numbers come from the same simulated experiments.

    Taught in notebooks/08_bayesian_ab_testing.ipynb.

    Parameters
    ----------
    rate_a, rate_b : float in [0, 1]
        True rates (equal: false-positive rates; different: power).
    alpha : float in (0, 1)
        Level of each z-test.
    check_every, max_samples, n_experiments, rng
        As in :func:`sequential_ab_test`.

    Returns
    -------
    PeekingRates
        ``final_look``, ``any_look`` and ``n_experiments`` (for standard errors:
        ``sqrt(p (1 - p) / n_experiments)``).

    Examples
    --------
    >>> r = peeking_rejection_rates(0.05, 0.05, check_every=500, max_samples=10_000,
    ...                             n_experiments=2000, rng=1)
    >>> bool(r.any_look > r.final_look), bool(abs(r.final_look - 0.05) < 0.02)
    (True, True)
    """
    alpha = check_probability("alpha", alpha, open_low=True, open_high=True)
    n_experiments = check_int("n_experiments", n_experiments, minimum=1)
    rates = _experiment_rates(rate_a, rate_b, n_experiments)
    check_every, max_samples = _check_schedule(check_every, max_samples)
    n_checks = max_samples // check_every
    cum = _cumulative_successes(rates, check_every, n_checks, resolve_rng(rng))
    trials = (np.arange(1, n_checks + 1) * check_every)[:, None]
    _z, p_value = two_proportion_ztest(cum[..., 0], trials, cum[..., 1], trials)
    reject = np.asarray(p_value) < alpha
    return PeekingRates(
        final_look=float(reject[-1].mean()),
        any_look=float(reject.any(axis=0).mean()),
        n_experiments=n_experiments,
    )
