"""A/B testing the Bayesian way, with the classical test beside it for comparison.

Taught in notebooks/08_bayesian_ab_testing.ipynb.

A *variant* is a Beta belief about its conversion rate: a :class:`~bandit_lab.BetaPosterior`
or an ``(alpha, beta)`` pair (arrays allowed: their leading axes are independent
experiments).

The questions a manager asks, answered from the posteriors
    prob_b_beats_a        P(rate of B > rate of A): an exact finite sum (Evan Miller's
                          formula) when one parameter is a whole number, else quadrature
    expected_loss         E[max(rates) - rate of the variant chosen], for each variant
    prob_being_best       P(variant k has the highest rate), for two or more variants
    lift_interval         credible interval of B's lift over A, relative or absolute

When to stop
    stop_on_expected_loss     stop once choosing some variant costs < ``threshold`` on average
    stop_on_prob_best         stop once some variant is the best with probability > ``level``
    sequential_ab_test        many simulated experiments that peek every ``check_every``
                              visitors per variant and stop by one of these rules

The classical test, for comparison
    two_proportion_ztest      pooled two-proportion z-test, two-sided
    ztest_sample_size         visitors per variant for a given alpha and power
    ztest_power               power of the test at a given sample size
    peeking_rejection_rates   how often the z-test rejects when looked at once vs at every check
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import integrate as _integrate
from scipy import special as _special
from scipy import stats as _stats  # aliased: a local variable called `stats` can't shadow it

from ._rng import resolve_rng
from ._validation import check_int, check_positive, check_probability
from .posteriors import BetaPosterior

__all__ = [
    "prob_b_beats_a",
    "expected_loss",
    "prob_being_best",
    "lift_interval",
    "stop_on_expected_loss",
    "stop_on_prob_best",
    "sequential_ab_test",
    "SequentialTestResult",
    "two_proportion_ztest",
    "ztest_sample_size",
    "ztest_power",
    "peeking_rejection_rates",
    "PeekingRates",
]

# Longest exact sum evaluated (terms per comparison); beyond it, quadrature takes over.
_MAX_TERMS = 100_000
# Largest (comparisons x terms) block the vectorised sum works on at once. Small enough that
# its arrays (512 KB each) stay in a core's cache through the dozen passes over them: 3x
# faster than 2M-element blocks on this machine (benchmarks/bench_ab.py measures it).
_BLOCK = 65_536
# Tail mass left out of each integration window (the integrand there is within this of 0 or 1).
_TAIL = 1e-14


# ---------------------------------------------------------------------------------------------
# Input checks


def _variant(name, value):
    """``(alpha, beta)`` float arrays of one variant, checked."""
    if isinstance(value, BetaPosterior):
        return value.alpha, value.beta
    if isinstance(value, (tuple, list)) and len(value) == 2:
        out = []
        for part, x in zip(("alpha", "beta"), value):
            try:
                arr = np.asarray(x, dtype=float)
            except (TypeError, ValueError):
                raise TypeError(f"{name} {part} == {x!r} is of type {type(x).__name__}, "
                                "must be a number or an array of numbers.") from None
            bad = ~np.isfinite(arr) | (arr <= 0)
            if bad.any():
                raise ValueError(f"{name} {part} == {float(arr[bad].flat[0])!r}, "
                                 "must be a finite number > 0.")
            out.append(arr)
        return tuple(np.broadcast_arrays(*out))
    raise TypeError(f"{name} == {value!r} is of type {type(value).__name__}, must be a "
                    "BetaPosterior or an (alpha, beta) pair.")


def _broadcast(arrays):
    try:
        return np.broadcast_arrays(*arrays)
    except ValueError:
        shapes = ", ".join(str(np.shape(x)) for x in arrays[::2])
        raise ValueError(f"the variants have shapes {shapes}, must broadcast to one shape "
                         "(one entry per experiment).") from None


def _variants(variants, minimum=2):
    if len(variants) < minimum:
        raise ValueError(f"got {len(variants)} variant(s), must be at least {minimum} "
                         "(each a BetaPosterior or an (alpha, beta) pair).")
    params = [_variant(f"variant {k}", v) for k, v in enumerate(variants)]
    arrays = _broadcast([p for pair in params for p in pair])
    alphas = np.stack(arrays[0::2], axis=-1)
    betas = np.stack(arrays[1::2], axis=-1)
    return alphas, betas  # shape (..., K)


def _scalar_or_array(x):
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def _check_choice(name, value, allowed):
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} == {value!r}, must be one of {', '.join(map(repr, allowed))}.")
    return value


# ---------------------------------------------------------------------------------------------
# P(B > A)


def _miller_sum(a1, b1, a2, b2):
    """P(X2 > X1) for X1 ~ Beta(a1, b1), X2 ~ Beta(a2, b2), ``a2`` a whole number.

    Evan Miller's formula: the sum over i = 0 .. a2 - 1 of the terms
        t_i = B(a1 + i, b1 + b2) / ((b2 + i) B(1 + i, b2) B(a1, b1)).
    Terms are kept in logs so nothing overflows or underflows: log t_0 from log-beta
    functions, then each next term from the ratio
        t_{i+1} / t_i = (a1 + i) (b2 + i) / ((a1 + b1 + b2 + i) (i + 1)),
    which costs one logarithm per term instead of two log-beta functions.
    The arguments are 1-D arrays of the same length; a2 at most _MAX_TERMS.
    """
    out = np.empty(a1.shape)
    n_terms = a2.astype(np.int64)
    order = np.argsort(n_terms, kind="stable")  # similar lengths share a block: less padding
    lengths = n_terms[order]
    start = 0
    while start < order.size:
        # The block's padded size (rows x longest row) stays within _BLOCK, at least one row.
        sizes = np.arange(1, order.size - start + 1) * lengths[start:]
        stop = start + max(1, int(np.searchsorted(sizes, _BLOCK, side="right")))
        idx = order[start:stop]
        x1, y1, y2 = (v[idx][:, None] for v in (a1, b1, b2))
        i = np.arange(lengths[stop - 1] - 1, dtype=float)
        log_ratio = np.log((x1 + i) * (y2 + i) / ((x1 + y1 + y2 + i) * (i + 1.0)))
        log_rel = np.zeros((idx.size, i.size + 1))  # log(t_i / t_0)
        np.cumsum(log_ratio, axis=1, out=log_rel[:, 1:])
        log_rel[np.arange(i.size + 1) >= n_terms[idx][:, None]] = -np.inf
        top = log_rel.max(axis=1, keepdims=True)
        log_sum = top[:, 0] + np.log(np.exp(log_rel - top).sum(axis=1))
        log_t0 = _special.betaln(x1[:, 0], y1[:, 0] + y2[:, 0]) - _special.betaln(x1[:, 0], y1[:, 0])
        out[idx] = np.exp(log_t0 + log_sum)
        start = stop
    return np.clip(out, 0.0, 1.0)


def _cdf(x, a, b):
    return _special.betainc(a, b, x)


def _sf(x, a, b):
    return _special.betaincc(a, b, x)


def _window(a, b):
    """Interval holding all but 2 * _TAIL of Beta(a, b)'s mass."""
    return _special.betaincinv(a, b, _TAIL), _special.betainccinv(a, b, _TAIL)


def _quad(func, lo, hi, points):
    inside = sorted(p for p in points if lo < p < hi)
    value, _err = _integrate.quad(func, lo, hi, points=inside or None, limit=400,
                                  epsabs=1e-14, epsrel=1e-12)
    return value


# Break points of integrals over u in (0, 1): the tails are where the integrand turns.
_U_POINTS = [1e-9, 1e-6, 1e-3, 0.5, 1 - 1e-3, 1 - 1e-6, 1 - 1e-9]


def _bulk_points(a, b):
    mean = a / (a + b)
    sd = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))
    return [mean - 3.0 * sd, mean, mean + 3.0 * sd]


def _log_pdf(x, a, b):
    # Fine for moderate parameters; _expect only uses it when a or b is below 1.
    return _special.xlogy(a - 1.0, x) + _special.xlog1py(b - 1.0, -x) - _special.betaln(a, b)


def _expect(a, b, func):
    """E[func(X)] for X ~ Beta(a, b) (scalars) by adaptive quadrature, to about 1e-12.

    With X = F^{-1}(U), U uniform, E[func(X)] = integral_0^1 func(F^{-1}(u)) du: a smooth,
    bounded integrand when a, b >= 1, accurate even for huge parameters. When a or b is
    below 1 the density piles up at an end, which the u-scale cannot resolve near u = 1;
    then integral func(x) f(x) dx, whose end singularities quadrature handles well.
    """
    if min(a, b) >= 1.0:
        return _quad(lambda u: func(_special.betaincinv(a, b, u)), 0.0, 1.0, _U_POINTS)

    def integrand(x):
        with np.errstate(divide="ignore"):
            return func(x) * np.exp(_log_pdf(x, a, b))

    return _quad(integrand, 0.0, 0.5, []) + _quad(integrand, 0.5, 1.0, [])


def _prob_greater_quad(a1, b1, a2, b2):
    """P(X2 > X1) = E[P(X2 > X1) | X1], by quadrature over the better-behaved variable."""
    if min(a1, b1) >= 1.0 or min(a2, b2) < 1.0:
        return _expect(a1, b1, lambda x: _sf(x, a2, b2))
    return 1.0 - _expect(a2, b2, lambda x: _sf(x, a1, b1))


def _prob_greater(a1, b1, a2, b2):
    """P(X2 > X1) elementwise on broadcast arrays: exact where possible, else quadrature.

    An exact sum exists when any of the four parameters is a whole number (by the
    symmetries X -> 1 - X and P(X2 > X1) = 1 - P(X1 > X2)); the shortest one is used.
    """
    a1, b1, a2, b2 = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(a1, b1, a2, b2))
    shape = a1.shape
    a1, b1, a2, b2 = (v.ravel() for v in (a1, b1, a2, b2))
    # Candidate sums: (length, arguments of _miller_sum, complement?)
    forms = [(a2, (a1, b1, a2, b2), False),   # sum over a2 terms
             (b1, (b2, a2, b1, a1), False),   # P(1 - X1 > 1 - X2): sum over b1 terms
             (a1, (a2, b2, a1, b1), True),    # 1 - P(X1 > X2): sum over a1 terms
             (b2, (b1, a1, b2, a2), True)]    # 1 - P(1 - X2 > 1 - X1): sum over b2 terms
    lengths = np.stack([np.where((n == np.round(n)) & (n <= _MAX_TERMS), n, np.inf)
                        for n, _, _ in forms])
    best = lengths.argmin(axis=0)
    usable = np.isfinite(lengths.min(axis=0))
    out = np.empty(a1.shape)
    for f, (_, args, complement) in enumerate(forms):
        sel = usable & (best == f)
        if sel.any():
            p = _miller_sum(*(v[sel] for v in args))
            out[sel] = 1.0 - p if complement else p
    for j in np.flatnonzero(~usable):
        out[j] = _prob_greater_quad(a1[j], b1[j], a2[j], b2[j])
    return np.clip(out, 0.0, 1.0).reshape(shape)


def prob_b_beats_a(a, b):
    """Probability that variant B's rate exceeds variant A's, from their Beta posteriors.

    Exact: when any of the four Beta parameters is a whole number (always the case with
    a Beta(1, 1) or other whole-number prior and 0/1 outcomes) it is Evan Miller's finite
    sum, written in log-beta functions so nothing overflows (within about 1e-10 of the
    exact value in floating point); otherwise adaptive quadrature of
    ``E[P(B > x) at x = rate_A]`` (about 1e-12, some 10 ms a comparison). No random numbers.

    Taught in notebooks/08_bayesian_ab_testing.ipynb.

    Parameters
    ----------
    a, b : BetaPosterior or (alpha, beta) pair
        Beliefs about the two rates. Arrays broadcast: each element is a separate comparison.

    Returns
    -------
    float or ndarray
        P(rate_B > rate_A); a float for scalar inputs.

    Examples
    --------
    >>> round(prob_b_beats_a((1, 1), (2, 1)), 4)          # uniform vs Beta(2, 1): 2/3
    0.6667
    >>> from bandit_lab import BetaPosterior
    >>> a = BetaPosterior.from_counts(40, 960)             # 40 conversions in 1000 visitors
    >>> b = BetaPosterior.from_counts(58, 942)             # 58 in 1000
    >>> round(prob_b_beats_a(a, b), 4)
    0.9685
    >>> round(prob_b_beats_a(a, b) + prob_b_beats_a(b, a), 12)
    1.0
    """
    (aa, ba), (ab, bb) = _variant("a", a), _variant("b", b)
    return _scalar_or_array(_prob_greater(*_broadcast([aa, ba, ab, bb])))


# ---------------------------------------------------------------------------------------------
# Expected loss and probability of being best


def _log_g(a1, b1, a2, b2):
    """log of B(a1 + a2, b1 + b2) / (B(a1, b1) B(a2, b2))."""
    return (_special.betaln(a1 + a2, b1 + b2) - _special.betaln(a1, b1)
            - _special.betaln(a2, b2))


def _expected_max_quad(alpha, beta):
    """E[max_k X_k] for independent X_k ~ Beta(alpha_k, beta_k) (1-D arrays), by quadrature.

    E[max] = integral_0^1 P(max > x) dx = integral_0^1 (1 - prod_k F_k(x)) dx. Below the
    largest lower tail quantile the integrand is 1 (to within _TAIL); above the largest upper
    one it is 0 (to within K * _TAIL).
    """
    lows, highs = _window(alpha, beta)
    lo, hi = float(lows.max()), float(highs.max())
    points = [p for k in range(alpha.size) for p in _bulk_points(alpha[k], beta[k])]

    def integrand(x):
        return 1.0 - np.prod(_cdf(x, alpha, beta))

    return lo + _quad(integrand, lo, hi, points)


def _prob_best_quad(alpha, beta, k):
    """P(X_k > X_j for all j != k) = E[prod_{j != k} F_j(X_k)]."""
    others = np.arange(alpha.size) != k
    return _expect(alpha[k], beta[k], lambda x: np.prod(_cdf(x, alpha[others], beta[others])))


def expected_loss(*variants):
    """Expected loss of choosing each variant: E[max of all rates - rate of the one chosen].

    The "loss" is the conversion rate given up if the variant chosen is not the best; its
    posterior expectation is what a Bayesian stopping rule compares with a threshold of
    caring.

    Two variants: closed form ``loss_A = P (m_B - m_A) + g (1/(a_A + b_A) + 1/(a_B + b_B))``
    with ``P = P(B > A)`` from :func:`prob_b_beats_a`, ``m`` the posterior means and
    ``g = B(a_A + a_B, b_A + b_B) / (B(a_A, b_A) B(a_B, b_B))``; exact (to about 1e-10)
    whenever ``P`` is, and ``loss_B = loss_A + m_A - m_B``. Three or more variants: adaptive
    quadrature of ``E[max] = integral (1 - prod_k F_k(x)) dx`` (about 1e-10), then
    ``loss_k = E[max] - m_k``.

    Taught in notebooks/08_bayesian_ab_testing.ipynb.

    Parameters
    ----------
    *variants : BetaPosterior or (alpha, beta) pair, at least two
        Arrays broadcast; each element is a separate experiment.

    Returns
    -------
    ndarray, shape ``broadcast shape + (K,)``
        Entry ``k``: expected loss of choosing variant ``k`` (on the rate scale).

    Examples
    --------
    >>> loss = expected_loss((41, 961), (59, 943))   # 40/1000 vs 58/1000 on Beta(1, 1)
    >>> [round(float(x), 5) for x in loss]           # choosing A costs about 0.018
    [0.01808, 0.00012]
    >>> [round(float(x), 4) for x in expected_loss((1, 1), (1, 1), (1, 1))]  # E[max] = 3/4
    [0.25, 0.25, 0.25]
    """
    alpha, beta = _variants(variants)
    means = alpha / (alpha + beta)
    if alpha.shape[-1] == 2:
        a1, b1, a2, b2 = alpha[..., 0], beta[..., 0], alpha[..., 1], beta[..., 1]
        p = _prob_greater(a1, b1, a2, b2)
        g = np.exp(_log_g(a1, b1, a2, b2))
        loss_a = p * (means[..., 1] - means[..., 0]) + g * (1.0 / (a1 + b1) + 1.0 / (a2 + b2))
        loss_a = np.maximum(loss_a, 0.0)
        loss_b = np.maximum(loss_a + means[..., 0] - means[..., 1], 0.0)
        return np.stack([loss_a, loss_b], axis=-1)
    flat_a = alpha.reshape(-1, alpha.shape[-1])
    flat_b = beta.reshape(-1, beta.shape[-1])
    e_max = np.array([_expected_max_quad(x, y) for x, y in zip(flat_a, flat_b)])
    e_max = e_max.reshape(alpha.shape[:-1])
    return np.maximum(e_max[..., None] - means, 0.0)


def prob_being_best(*variants, method="integrate", n_samples=100_000, rng=None):
    """Probability that each variant has the highest rate.

    ``method="integrate"`` (default): two variants use the exact :func:`prob_b_beats_a`;
    three or more, adaptive quadrature of ``E[prod_{j != k} F_j(X_k)]`` for each ``k``
    (about 1e-10). ``method="monte_carlo"``: the share of ``n_samples`` joint
    posterior draws in which each variant is highest (standard error at most
    ``0.5 / sqrt(n_samples)``).

    Taught in notebooks/08_bayesian_ab_testing.ipynb.

    Parameters
    ----------
    *variants : BetaPosterior or (alpha, beta) pair, at least two
        Arrays broadcast; each element is a separate experiment.
    method : {"integrate", "monte_carlo"}
    n_samples : int >= 1
        Draws per experiment, for ``method="monte_carlo"``.
    rng : None, int or numpy.random.Generator
        Used only by ``method="monte_carlo"``.

    Returns
    -------
    ndarray, shape ``broadcast shape + (K,)``
        Probabilities over the K variants; each row sums to 1.

    Examples
    --------
    >>> [round(float(p), 4) for p in prob_being_best((1, 1), (1, 1), (1, 1))]
    [0.3333, 0.3333, 0.3333]
    >>> p = prob_being_best((31, 971), (46, 956), (61, 941))
    >>> [round(float(x), 3) for x in p]
    [0.0, 0.067, 0.933]
    >>> mc = prob_being_best((31, 971), (46, 956), (61, 941), method="monte_carlo", rng=0)
    >>> bool(abs(mc[2] - p[2]) < 4 * 0.5 / 100_000 ** 0.5)
    True
    """
    method = _check_choice("method", method, ("integrate", "monte_carlo"))
    alpha, beta = _variants(variants)
    if method == "monte_carlo":
        n_samples = check_int("n_samples", n_samples, minimum=1)
        draws = resolve_rng(rng).beta(alpha, beta, size=(n_samples,) + alpha.shape)
        winners = draws.argmax(axis=-1)
        k = alpha.shape[-1]
        return np.stack([(winners == j).mean(axis=0) for j in range(k)], axis=-1)
    if alpha.shape[-1] == 2:
        p = _prob_greater(alpha[..., 0], beta[..., 0], alpha[..., 1], beta[..., 1])
        return np.stack([1.0 - p, p], axis=-1)
    flat_a = alpha.reshape(-1, alpha.shape[-1])
    flat_b = beta.reshape(-1, beta.shape[-1])
    probs = np.array([[_prob_best_quad(x, y, k) for k in range(x.size)]
                      for x, y in zip(flat_a, flat_b)])
    probs = np.clip(probs, 0.0, 1.0)
    probs /= probs.sum(axis=-1, keepdims=True)  # removes the last ~1e-12 of quadrature error
    return probs.reshape(alpha.shape)


def lift_interval(a, b, *, level=0.95, kind="relative", n_samples=100_000, rng=None):
    """Credible interval for B's lift over A, by Monte Carlo.

    ``kind="relative"``: lift ``(rate_B - rate_A) / rate_A`` (0.1 means B converts 10%
    better); ``kind="absolute"``: ``rate_B - rate_A``. The interval is equal-tailed and
    computed from ``n_samples`` joint posterior draws, so its ends carry Monte Carlo error
    of the order of ``1 / sqrt(n_samples)`` of the lift's spread.

    Taught in notebooks/08_bayesian_ab_testing.ipynb.

    Parameters
    ----------
    a, b : BetaPosterior or (alpha, beta) pair
        Scalar parameters (one comparison).
    level : float in (0, 1)
        Posterior mass inside the interval.
    kind : {"relative", "absolute"}
    n_samples : int >= 100
    rng : None, int or numpy.random.Generator

    Returns
    -------
    (float, float)
        Lower and upper end.

    Examples
    --------
    >>> low, high = lift_interval((41, 961), (59, 943), rng=0)   # 40/1000 vs 58/1000
    >>> bool(-0.1 < low < 0.0), bool(1.0 < high < 1.3)   # from slightly worse to twice as good
    (True, True)
    >>> low, high = lift_interval((41, 961), (59, 943), kind="absolute", rng=0)
    >>> bool(-0.005 < low < 0.0 < 0.03 < high < 0.045)
    True
    """
    level = check_probability("level", level, open_low=True, open_high=True)
    kind = _check_choice("kind", kind, ("relative", "absolute"))
    n_samples = check_int("n_samples", n_samples, minimum=100)
    (aa, ba), (ab, bb) = _variant("a", a), _variant("b", b)
    if np.broadcast(aa, ab).ndim != 0:
        raise ValueError("a and b must hold one variant each (scalar alpha and beta), "
                         f"got shapes {aa.shape} and {ab.shape}.")
    gen = resolve_rng(rng)
    rate_a = gen.beta(float(aa), float(ba), size=n_samples)
    rate_b = gen.beta(float(ab), float(bb), size=n_samples)
    lift = rate_b - rate_a if kind == "absolute" else rate_b / rate_a - 1.0
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(lift, [tail, 1.0 - tail])
    return float(low), float(high)


# ---------------------------------------------------------------------------------------------
# Stopping rules


def stop_on_expected_loss(*variants, threshold):
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


def stop_on_prob_best(*variants, level):
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


# ---------------------------------------------------------------------------------------------
# The classical test


def _counts(name, value):
    arr = np.asarray(value)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.number)):
        raise TypeError(f"{name} == {value!r} must be a count or an array of counts.")
    arr = arr.astype(float)
    bad = ~np.isfinite(arr) | (arr < 0) | (arr != np.round(arr))
    if bad.any():
        raise ValueError(f"{name} == {float(arr[bad].flat[0])!r}, must be a whole number >= 0.")
    return arr


def two_proportion_ztest(successes_a, trials_a, successes_b, trials_b):
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
    for s_name, s, n_name, n in (("successes_a", s_a, "trials_a", n_a),
                                 ("successes_b", s_b, "trials_b", n_b)):
        if (n < 1).any():
            raise ValueError(f"{n_name} == {float(n[n < 1].flat[0])!r}, must be >= 1.")
        over = np.broadcast_to(s > n, np.broadcast(s, n).shape)
        if over.any():
            raise ValueError(f"{s_name} exceeds {n_name} ({float(np.broadcast_to(s, over.shape)[over][0])!r} "
                             f"> {float(np.broadcast_to(n, over.shape)[over][0])!r}), "
                             "must be at most the number of trials.")
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
        raise ValueError(f"rate_a == rate_b == {rate_a!r}, must differ (no sample size "
                         "detects a difference of 0).")
    return rate_a, rate_b


def ztest_sample_size(rate_a, rate_b, *, alpha=0.05, power=0.8):
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
        rate_a * (1.0 - rate_a) + rate_b * (1.0 - rate_b))
    return int(np.ceil((spread / (rate_a - rate_b)) ** 2 - 1e-9))


def ztest_power(rate_a, rate_b, n, *, alpha=0.05):
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


# ---------------------------------------------------------------------------------------------
# Simulated experiments that peek


def _experiment_rates(rate_a, rate_b, n_experiments):
    rates = []
    for name, r in (("rate_a", rate_a), ("rate_b", rate_b)):
        if isinstance(r, numbers.Real) and not isinstance(r, bool):
            r = check_probability(name, r)
            rates.append(np.full(n_experiments, r))
            continue
        arr = np.asarray(r, dtype=float)
        if arr.shape != (n_experiments,):
            raise ValueError(f"{name} has shape {arr.shape}, must be a number or an array of "
                             f"shape ({n_experiments},) (one rate per experiment).")
        bad = ~np.isfinite(arr) | (arr < 0) | (arr > 1)
        if bad.any():
            raise ValueError(f"{name} contains {float(arr[bad][0])!r}, every rate must be in [0, 1].")
        rates.append(arr)
    return np.stack(rates, axis=-1)


def _check_schedule(check_every, max_samples):
    check_every = check_int("check_every", check_every, minimum=1)
    max_samples = check_int("max_samples", max_samples, minimum=1)
    if max_samples % check_every:
        raise ValueError(f"max_samples == {max_samples}, must be a multiple of "
                         f"check_every == {check_every} (the last look is at max_samples).")
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
    def n_experiments(self):
        return self.stopped.size

    @property
    def posterior_mean(self):
        """Posterior mean rate of each variant at the stop, shape (n_experiments, 2)."""
        a0, b0 = self.prior
        return (a0 + self.successes) / (a0 + b0 + self.stop_samples[:, None])

    @property
    def stop_rate(self):
        """Share of experiments that stopped (under equal rates and the z-test rule: the
        false-positive rate)."""
        return float(self.stopped.mean())

    @property
    def chose_worse(self):
        """Per experiment: stopped and shipped a variant with a strictly lower true rate."""
        chosen = np.where(self.stopped, self.decision, 0)
        idx = np.arange(self.n_experiments)
        return self.stopped & (self.rates[idx, chosen] < self.rates[idx, 1 - chosen])

    @property
    def loss(self):
        """Per experiment: best true rate minus the shipped one (NaN where never stopped)."""
        chosen = np.where(self.stopped, self.decision, 0)
        idx = np.arange(self.n_experiments)
        gap = self.rates.max(axis=1) - self.rates[idx, chosen]
        return np.where(self.stopped, gap, np.nan)


_RULES = ("expected_loss", "prob_best", "ztest")


def sequential_ab_test(rate_a, rate_b, *, rule, threshold, check_every=100, max_samples=10_000,
                       n_experiments=1_000, prior=(1.0, 1.0), rng=None):
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
        rule = _check_choice("rule", rule, _RULES)
        if rule == "expected_loss":
            threshold = check_positive("threshold", threshold)

            def decide(s, n):
                return stop_on_expected_loss((a0 + s[:, 0], b0 + n[:, 0] - s[:, 0]),
                                             (a0 + s[:, 1], b0 + n[:, 1] - s[:, 1]),
                                             threshold=threshold)
        elif rule == "prob_best":
            threshold = check_probability("threshold", threshold, open_low=True, open_high=True)

            def decide(s, n):
                return stop_on_prob_best((a0 + s[:, 0], b0 + n[:, 0] - s[:, 0]),
                                         (a0 + s[:, 1], b0 + n[:, 1] - s[:, 1]),
                                         level=threshold)
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
    return SequentialTestResult(rates=rates, stopped=stopped,
                                stop_samples=(stop_look + 1) * check_every,
                                decision=decision, successes=successes, prior=(a0, b0))


class PeekingRates(NamedTuple):
    """Rejection rates of the z-test on the same simulated experiments."""

    final_look: float   # looking once, at max_samples per variant
    any_look: float     # rejecting at the first of the looks that reaches significance
    n_experiments: int


def peeking_rejection_rates(rate_a, rate_b, *, alpha=0.05, check_every=100, max_samples=10_000,
                            n_experiments=2_000, rng=None):
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
    return PeekingRates(final_look=float(reject[-1].mean()),
                        any_look=float(reject.any(axis=0).mean()),
                        n_experiments=n_experiments)
