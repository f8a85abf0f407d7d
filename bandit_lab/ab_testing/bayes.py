"""The questions a manager asks, answered exactly from the Beta posteriors of the variants.

Taught in notebooks/08_bayesian_ab_testing.ipynb.

A *variant* is a Beta belief about its conversion rate: a :class:`~bandit_lab.BetaPosterior`
or an ``(alpha, beta)`` pair (arrays allowed: their leading axes are independent
experiments).

    prob_b_beats_a        P(rate of B > rate of A): an exact finite sum (Evan Miller's
                          formula) when one parameter is a whole number, else quadrature
    expected_loss         E[max(rates) - rate of the variant chosen], for each variant
    prob_being_best       P(variant k has the highest rate), for two or more variants
    lift_interval         credible interval of B's lift over A, relative or absolute
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._rng import RNGLike, resolve_rng
from .._validation import check_choice, check_int, check_probability
from ..posteriors import BetaPosterior, monte_carlo_best
from ..propensities import thompson_propensities
from ._exact import _expected_max_quad, _log_g, _prob_greater

__all__ = ["prob_b_beats_a", "expected_loss", "prob_being_best", "lift_interval"]


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
                raise TypeError(
                    f"{name} {part} == {x!r} is of type {type(x).__name__}, "
                    "must be a number or an array of numbers."
                ) from None
            bad = ~np.isfinite(arr) | (arr <= 0)
            if bad.any():
                raise ValueError(
                    f"{name} {part} == {float(arr[bad].flat[0])!r}, must be a finite number > 0."
                )
            out.append(arr)
        return tuple(np.broadcast_arrays(*out))
    raise TypeError(
        f"{name} == {value!r} is of type {type(value).__name__}, must be a "
        "BetaPosterior or an (alpha, beta) pair."
    )


def _broadcast(arrays):
    try:
        return np.broadcast_arrays(*arrays)
    except ValueError:
        shapes = ", ".join(str(np.shape(x)) for x in arrays[::2])
        raise ValueError(
            f"the variants have shapes {shapes}, must broadcast to one shape "
            "(one entry per experiment)."
        ) from None


def _variants(variants, minimum=2):
    if len(variants) < minimum:
        raise ValueError(
            f"got {len(variants)} variant(s), must be at least {minimum} "
            "(each a BetaPosterior or an (alpha, beta) pair)."
        )
    params = [_variant(f"variant {k}", v) for k, v in enumerate(variants)]
    arrays = _broadcast([p for pair in params for p in pair])
    alphas = np.stack(arrays[0::2], axis=-1)
    betas = np.stack(arrays[1::2], axis=-1)
    return alphas, betas  # shape (..., K)


def _scalar_or_array(x):
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def prob_b_beats_a(
    a: BetaPosterior | tuple[ArrayLike, ArrayLike], b: BetaPosterior | tuple[ArrayLike, ArrayLike]
) -> float | np.ndarray:
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


def expected_loss(*variants: BetaPosterior | tuple[ArrayLike, ArrayLike]) -> np.ndarray:
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


def prob_being_best(
    *variants: BetaPosterior | tuple[ArrayLike, ArrayLike],
    method: str = "integrate",
    n_samples: int = 100_000,
    rng: RNGLike = None,
) -> np.ndarray:
    """Probability that each variant has the highest rate.

    ``method="integrate"`` (default): two variants use the exact :func:`prob_b_beats_a`;
    three or more, the quadrature of ``E[prod_{j != k} F_j(X_k)]`` that also gives Thompson
    sampling's choice probabilities (:func:`bandit_lab.propensities.thompson_propensities`,
    about 1e-10). ``method="monte_carlo"``: the share of ``n_samples`` joint
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
    method = check_choice("method", method, ("integrate", "monte_carlo"))
    alpha, beta = _variants(variants)
    if method == "monte_carlo":
        n_samples = check_int("n_samples", n_samples, minimum=1)
        return monte_carlo_best(alpha, beta, n_samples=n_samples, rng=rng)[0]
    if alpha.shape[-1] == 2:
        p = _prob_greater(alpha[..., 0], beta[..., 0], alpha[..., 1], beta[..., 1])
        return np.stack([1.0 - p, p], axis=-1)
    # the same integral as Thompson sampling's choice probabilities: one home for it
    return thompson_propensities(alpha, beta)


def lift_interval(
    a: BetaPosterior | tuple[ArrayLike, ArrayLike],
    b: BetaPosterior | tuple[ArrayLike, ArrayLike],
    *,
    level: float = 0.95,
    kind: str = "relative",
    n_samples: int = 100_000,
    rng: RNGLike = None,
) -> tuple[float, float]:
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
    kind = check_choice("kind", kind, ("relative", "absolute"))
    n_samples = check_int("n_samples", n_samples, minimum=100)
    (aa, ba), (ab, bb) = _variant("a", a), _variant("b", b)
    if np.broadcast(aa, ab).ndim != 0:
        raise ValueError(
            "a and b must hold one variant each (scalar alpha and beta), "
            f"got shapes {aa.shape} and {ab.shape}."
        )
    gen = resolve_rng(rng)
    rate_a = gen.beta(float(aa), float(ba), size=n_samples)
    rate_b = gen.beta(float(ab), float(bb), size=n_samples)
    lift = rate_b - rate_a if kind == "absolute" else rate_b / rate_a - 1.0
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(lift, [tail, 1.0 - tail])
    return float(low), float(high)
