"""The maths of the contextual policies, as pure functions of their state arrays.

Taught in notebooks/05_contextual_bandits.ipynb and notebooks/06_credit_card_personalisation.ipynb.

Every contextual policy keeps, for each arm, a Gaussian belief N(mean, cov) about a weight
vector ``w`` and scores an arm for a context ``x`` through the scalar ``x . w``. Because
``x . w`` is itself Gaussian, N(x . mean, x' cov x), a decision needs no matrix
factorisation: draw one normal number per arm (Thompson sampling) or add a multiple of its
standard deviation (UCB). An update is a rank-one correction, O(d^2).

This module is the one home of the Gaussian linear belief's maths: the policies
(:mod:`bandit_lab.contextual.policies`), the value object
:class:`~bandit_lab.GaussianLinearPosterior` and the vectorised simulator all call these
functions. ``mean`` has shape ``(..., n_arms, n_features)``, ``cov`` ``(..., n_arms,
n_features, n_features)`` and a context ``x`` ``(..., n_features)``, where ``...`` are
independent runs (nothing for a single bandit).

    score_moments            mean and variance of x . w for every arm
    linear_ts_scores         Thompson sampling: one draw of x . w per arm
    linucb_scores            LinUCB: x . mean + alpha * sd
    logistic_ts_scores       Thompson sampling for a logistic model
    gaussian_linear_update   the exact Bayesian linear-regression update, one reward, in place
    gaussian_linear_batch    the same posterior after a batch, in closed form
    laplace_logistic_update  one-observation Laplace update of a logistic model, in place
    laplace_logistic_batch   the Laplace approximation after a batch (Newton's method)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg as _linalg
from scipy.special import expit as _sigmoid

from .._special import arm_index

__all__ = [
    "score_moments",
    "linear_ts_scores",
    "linucb_scores",
    "logistic_ts_scores",
    "gaussian_linear_update",
    "gaussian_linear_batch",
    "laplace_logistic_update",
    "laplace_logistic_batch",
]


def score_moments(mean: np.ndarray, cov: np.ndarray, x: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``x . mean`` and variance ``x' cov x`` of the score ``x . w`` of every arm.

    ``mean`` (..., K, d), ``cov`` (..., K, d, d), ``x`` (..., d); returns two (..., K) arrays.

    >>> import numpy as np
    >>> m, v = score_moments(np.zeros((2, 3)), np.stack([np.eye(3), 2 * np.eye(3)]), np.ones(3))
    >>> m.tolist(), v.tolist()
    ([0.0, 0.0], [3.0, 6.0])
    """
    xc = np.asarray(x, dtype=float)[..., :, None]  # (..., d, 1): x as a column
    m = (mean @ xc)[..., 0]  # (..., K)
    k, d = cov.shape[-3], cov.shape[-1]
    # cov x for every arm at once: the arms' covariances stacked as one (K d, d) matrix
    sx = (cov.reshape(cov.shape[:-3] + (k * d, d)) @ xc)[..., 0]
    sx = sx.reshape(sx.shape[:-1] + (k, d))  # (..., K, d)
    v = (sx @ xc)[..., 0]  # (..., K)
    return m, np.maximum(v, 0.0)


def linear_ts_scores(
    mean: np.ndarray, cov: np.ndarray, x: ArrayLike, rng: np.random.Generator
) -> np.ndarray:
    """Thompson sampling: each arm's score is one draw of ``x . w`` from its posterior,
    N(x . mean, x' cov x). The same in distribution as drawing the whole weight vector and
    then taking ``x . w``, at the cost of one normal number per arm."""
    m, v = score_moments(mean, cov, x)
    return m + np.sqrt(v) * rng.standard_normal(m.shape)


def linucb_scores(mean: np.ndarray, cov: np.ndarray, x: ArrayLike, alpha: float) -> np.ndarray:
    """LinUCB (Li et al. 2010): the ridge estimate plus ``alpha`` standard deviations."""
    m, v = score_moments(mean, cov, x)
    return m + alpha * np.sqrt(v)


def logistic_ts_scores(
    mean: np.ndarray, cov: np.ndarray, x: ArrayLike, rng: np.random.Generator
) -> np.ndarray:
    """Thompson sampling for a logistic model: a draw of the logit ``x . w`` per arm, turned
    into a conversion probability (the sigmoid does not change which arm is highest)."""
    return _sigmoid(linear_ts_scores(mean, cov, x, rng))


def gaussian_linear_update(
    mean: np.ndarray,
    cov: np.ndarray,
    x: ArrayLike,
    arms: ArrayLike,
    rewards: ArrayLike,
    noise_var: float,
) -> None:
    """Bayesian linear regression, one reward per run, in place for the chosen arm.

    With ``S`` the covariance and ``m`` the mean before the reward ``r`` at context ``x``::

        S x                                   (O(d^2), the only matrix-vector product)
        S1 = S - (S x)(S x)' / (noise_var + x' S x)     Sherman-Morrison on the covariance
        m1 = m + S1 x (r - x . m) / noise_var           the residual r - x . m drives it
           = m + S x (r - x . m) / (noise_var + x' S x)

    The result is exactly the batch posterior (see
    :meth:`bandit_lab.GaussianLinearPosterior.from_data`) whatever the order of the data.

    >>> import numpy as np
    >>> mean, cov = np.zeros((1, 1)), np.ones((1, 1, 1))
    >>> for _ in range(200):
    ...     gaussian_linear_update(mean, cov, np.ones(1), 0, 1.0, 1.0)
    >>> round(float(mean[0, 0]), 4)     # 200 / 201: the exact posterior mean
    0.995
    """
    x = np.asarray(x, dtype=float)
    idx = arm_index(arms)
    m0 = mean[idx]  # (..., d)
    s0 = cov[idx]  # (..., d, d)
    sx = (s0 @ x[..., :, None])[..., 0]  # (..., d)
    denom = noise_var + (sx * x).sum(axis=-1)  # (...,)
    resid = np.asarray(rewards, dtype=float) - (m0 * x).sum(axis=-1)
    mean[idx] = m0 + sx * (resid / denom)[..., None]
    u = sx / np.sqrt(denom)[..., None]  # u u' is exactly symmetric, so is cov
    cov[idx] = s0 - u[..., :, None] * u[..., None, :]


def laplace_logistic_update(
    mean: np.ndarray,
    cov: np.ndarray,
    x: ArrayLike,
    arms: ArrayLike,
    rewards: ArrayLike,
    *,
    tol: float = 1e-13,
    max_iter: int = 60,
) -> None:
    """Logistic regression, one reward in [0, 1] per run, in place for the chosen arm.

    The Laplace approximation of "prior N(m, S) times the likelihood of one conversion":
    the new mean is the mode, and the new precision is the old one plus the curvature
    ``h x x'`` at the mode. The likelihood depends on ``w`` only through ``x . w``, so the
    mode is ``m + S x t`` for a scalar ``t`` in ``(r - 1, r)`` solving
    ``t = r - sigmoid(x . m + t x' S x)`` (Newton's method kept inside a shrinking bracket,
    so it converges however wide the prior), and the covariance changes by a rank-one
    correction::

        S1 = S - h (S x)(S x)' / (1 + h x' S x),   h = p (1 - p) at the mode.
    """
    x = np.asarray(x, dtype=float)
    r = np.asarray(rewards, dtype=float)
    idx = arm_index(arms)
    m0 = mean[idx]
    s0 = cov[idx]
    sx = (s0 @ x[..., :, None])[..., 0]
    s = (sx * x).sum(axis=-1)
    mu = (m0 * x).sum(axis=-1)
    # Solve g(t) = t - r + sigmoid(mu + s t) = 0 by Newton's method, falling back to
    # bisection of the bracket [lo, hi] whenever a Newton step would leave it or would not
    # at least halve the step before last ("rtsafe"): it converges however wide the prior.
    lo, hi = r - 1.0, r + 0.0  # g(lo) < 0 < g(hi)
    t = np.clip(r - _sigmoid(mu), lo, hi)  # one fixed-point step from t = 0
    step = last = hi - lo
    for _ in range(max_iter):
        p = _sigmoid(mu + s * t)
        g = t - r + p
        lo = np.where(g < 0, t, lo)
        hi = np.where(g > 0, t, hi)
        newton = g / (1.0 + s * p * (1.0 - p))
        bisect = (t - newton < lo) | (t - newton > hi) | (2.0 * np.abs(newton) > np.abs(last))
        last = step
        step = np.where(bisect, t - 0.5 * (lo + hi), newton)
        t = t - step
        if np.all(np.abs(step) <= tol):
            break
    p = _sigmoid(mu + s * t)
    h = p * (1.0 - p)
    mean[idx] = m0 + sx * t[..., None]
    u = sx * np.sqrt(h / (1.0 + h * s))[..., None]
    cov[idx] = s0 - u[..., :, None] * u[..., None, :]


def laplace_logistic_batch(
    mean: np.ndarray,
    cov: np.ndarray,
    X: np.ndarray,
    r: np.ndarray,
    tol: float = 1e-12,
    max_iter: int = 100,
) -> tuple[np.ndarray, np.ndarray]:
    """The Laplace approximation after a whole batch for one arm: Newton's method with
    step halving on the log posterior (prior N(mean, cov)); returns the new (mean, cov)."""
    d = mean.shape[0]
    prior_precision = _linalg.cho_solve(_linalg.cho_factor(cov), np.eye(d))

    def log_post(w):
        z = X @ w
        # r log p + (1 - r) log(1 - p), written stably with log(sigmoid(z)) = -logaddexp(0, -z)
        return -0.5 * (w - mean) @ prior_precision @ (w - mean) - np.sum(
            r * np.logaddexp(0, -z) + (1 - r) * np.logaddexp(0, z)
        )

    w = mean.copy()
    current = log_post(w)
    for _ in range(max_iter):
        p = _sigmoid(X @ w)
        grad = prior_precision @ (mean - w) + X.T @ (r - p)
        hess = prior_precision + (X * (p * (1 - p))[:, None]).T @ X
        step = np.linalg.solve(hess, grad)
        size = 1.0
        while size > 1e-10:
            trial = log_post(w + size * step)
            if trial >= current - 1e-12 * abs(current):
                break
            size *= 0.5
        w = w + size * step
        current = log_post(w)
        if np.abs(size * step).max() <= tol * (1.0 + np.abs(w).max()):
            break
    p = _sigmoid(X @ w)
    hess = prior_precision + (X * (p * (1 - p))[:, None]).T @ X
    new_cov = _linalg.cho_solve(_linalg.cho_factor(hess), np.eye(d))
    return w, 0.5 * (new_cov + new_cov.T)


def gaussian_linear_batch(
    mean: np.ndarray,
    cov: np.ndarray,
    X: np.ndarray,
    r: np.ndarray,
    noise_var: float,
    *,
    prior_precision: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The Gaussian belief after rewards ``r`` at contexts ``X`` (rows), with N(mean, cov)
    as the prior, in closed form (for one arm: ``mean`` (d,), ``cov`` (d, d)); returns the
    new ``(mean, cov)``::

        precision = inverse(cov) + X' X / noise_var
        cov1      = inverse(precision)
        mean1     = cov1 @ (inverse(cov) @ mean + X' r / noise_var)

    Equal, whatever the order of the rows, to :func:`gaussian_linear_update` applied to one
    row after another. ``prior_precision`` (the inverse of ``cov``), when known, saves
    inverting ``cov``.

    >>> import numpy as np
    >>> m, c = gaussian_linear_batch(np.zeros(1), np.eye(1), np.ones((200, 1)), np.ones(200), 1.0)
    >>> round(float(m[0]), 4), round(float(c[0, 0]), 6)        # 200 / 201 and 1 / 201
    (0.995, 0.004975)
    """
    d = mean.shape[0]
    if prior_precision is None:
        prior_precision = _linalg.cho_solve(_linalg.cho_factor(cov), np.eye(d))
    precision = prior_precision + X.T @ X / noise_var
    factor = _linalg.cho_factor(precision)
    new_cov = _linalg.cho_solve(factor, np.eye(d))
    new_cov = 0.5 * (new_cov + new_cov.T)
    new_mean = _linalg.cho_solve(factor, prior_precision @ mean + X.T @ r / noise_var)
    return new_mean, new_cov
