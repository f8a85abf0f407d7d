"""The classical two-proportion z-test, for comparison with the Bayesian answers.

Taught in notebooks/08_bayesian_ab_testing.ipynb.

    two_proportion_ztest      pooled two-proportion z-test, two-sided
    ztest_sample_size         visitors per variant for a given alpha and power
    ztest_power               power of the test at a given sample size
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as _stats

from .._validation import check_int, check_probability

__all__ = ["two_proportion_ztest", "ztest_sample_size", "ztest_power"]


def _scalar_or_array(x):
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def _counts(name, value):
    arr = np.asarray(value)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.number)):
        raise TypeError(f"{name} == {value!r} must be a count or an array of counts.")
    arr = arr.astype(float)
    bad = ~np.isfinite(arr) | (arr < 0) | (arr != np.round(arr))
    if bad.any():
        raise ValueError(f"{name} == {float(arr[bad].flat[0])!r}, must be a whole number >= 0.")
    return arr


def two_proportion_ztest(
    successes_a: ArrayLike, trials_a: ArrayLike, successes_b: ArrayLike, trials_b: ArrayLike
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """Two-sided two-proportion z-test with the pooled standard error.

    ``z = (p_B - p_A) / sqrt(p (1 - p) (1/n_A + 1/n_B))`` with ``p`` the pooled rate; the
    p-value is ``2 * (1 - Phi(|z|))``. When every visitor converted or none did, the rates
    cannot differ in the data: ``z = 0`` and the p-value is 1.

    Taught in notebooks/08_bayesian_ab_testing.ipynb.

    Parameters
    ----------
    successes_a, trials_a, successes_b, trials_b : int or array of int
        Conversions and visitors of each variant (arrays broadcast); trials >= 1 and
        successes <= trials.

    Returns
    -------
    z, p_value : float or ndarray

    Examples
    --------
    >>> z, p = two_proportion_ztest(40, 1000, 58, 1000)
    >>> round(z, 3), round(p, 4)
    (1.865, 0.0622)
    """
    s_a, n_a = _counts("successes_a", successes_a), _counts("trials_a", trials_a)
    s_b, n_b = _counts("successes_b", successes_b), _counts("trials_b", trials_b)
    for s_name, s, n_name, n in (
        ("successes_a", s_a, "trials_a", n_a),
        ("successes_b", s_b, "trials_b", n_b),
    ):
        if (n < 1).any():
            raise ValueError(f"{n_name} == {float(n[n < 1].flat[0])!r}, must be >= 1.")
        over = np.broadcast_to(s > n, np.broadcast(s, n).shape)
        if over.any():
            raise ValueError(
                f"{s_name} exceeds {n_name} ({float(np.broadcast_to(s, over.shape)[over][0])!r} "
                f"> {float(np.broadcast_to(n, over.shape)[over][0])!r}), "
                "must be at most the number of trials."
            )
    pooled = (s_a + s_b) / (n_a + n_b)
    se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n_a + 1.0 / n_b))
    diff = s_b / n_b - s_a / n_a
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(se > 0, diff / np.where(se > 0, se, 1.0), 0.0)
    p_value = 2.0 * _stats.norm.sf(np.abs(z))
    return _scalar_or_array(z), _scalar_or_array(p_value)


def _check_two_rates(rate_a, rate_b):
    rate_a = check_probability("rate_a", rate_a, open_low=True, open_high=True)
    rate_b = check_probability("rate_b", rate_b, open_low=True, open_high=True)
    if rate_a == rate_b:
        raise ValueError(
            f"rate_a == rate_b == {rate_a!r}, must differ (no sample size "
            "detects a difference of 0)."
        )
    return rate_a, rate_b


def ztest_sample_size(
    rate_a: float, rate_b: float, *, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Visitors per variant for the two-sided pooled z-test to reach ``power`` at ``alpha``.

    The standard normal-approximation formula (Fleiss, without continuity correction; what
    R's ``power.prop.test`` solves):
    ``n = (z_{1-alpha/2} sqrt(2 pbar (1 - pbar)) + z_{power} sqrt(pA qA + pB qB))^2 / (pA - pB)^2``
    with ``pbar`` the mean of the two rates; rounded up.

    Taught in notebooks/08_bayesian_ab_testing.ipynb.

    Parameters
    ----------
    rate_a, rate_b : float in (0, 1), different
        The true rates the test should tell apart.
    alpha : float in (0, 1)
        False-positive rate when the rates are equal (two-sided).
    power : float in [0.5, 1)
        Probability of rejecting when the rates are ``rate_a`` and ``rate_b``.

    Returns
    -------
    int

    Examples
    --------
    >>> ztest_sample_size(0.5, 0.75, power=0.9)   # R: power.prop.test gives n = 76.7
    77
    >>> ztest_sample_size(0.05, 0.06)
    8158
    """
    rate_a, rate_b = _check_two_rates(rate_a, rate_b)
    alpha = check_probability("alpha", alpha, open_low=True, open_high=True)
    power = check_probability("power", power, open_high=True)
    if power < 0.5:
        raise ValueError(f"power == {power!r}, must be in [0.5, 1).")
    z_a = _stats.norm.isf(alpha / 2.0)
    z_b = _stats.norm.ppf(power)
    pbar = (rate_a + rate_b) / 2.0
    spread = z_a * np.sqrt(2.0 * pbar * (1.0 - pbar)) + z_b * np.sqrt(
        rate_a * (1.0 - rate_a) + rate_b * (1.0 - rate_b)
    )
    return int(np.ceil((spread / (rate_a - rate_b)) ** 2 - 1e-9))


def ztest_power(rate_a: float, rate_b: float, n: int, *, alpha: float = 0.05) -> float:
    """Power of the two-sided pooled z-test with ``n`` visitors per variant.

    The inverse of :func:`ztest_sample_size` (the same normal approximation, counting
    rejections in the direction of the true difference, as R's ``power.prop.test``).

    Taught in notebooks/08_bayesian_ab_testing.ipynb.

    Examples
    --------
    >>> round(ztest_power(0.5, 0.75, 50), 3)       # R: power.prop.test gives 0.740
    0.74
    """
    rate_a, rate_b = _check_two_rates(rate_a, rate_b)
    n = check_int("n", n, minimum=1)
    alpha = check_probability("alpha", alpha, open_low=True, open_high=True)
    z_a = _stats.norm.isf(alpha / 2.0)
    pbar = (rate_a + rate_b) / 2.0
    num = np.sqrt(n) * abs(rate_a - rate_b) - z_a * np.sqrt(2.0 * pbar * (1.0 - pbar))
    den = np.sqrt(rate_a * (1.0 - rate_a) + rate_b * (1.0 - rate_b))
    return float(_stats.norm.cdf(num / den))
