"""How likely a stochastic policy was to choose each arm: propensities as pure functions.

Taught in notebooks/11_learning_from_logs.ipynb (off-policy evaluation needs the logging
policy's probability of every choice it made) and used by the decision service, which logs
the probability of every decision (notebooks/10_serving_a_bandit.ipynb).

Like :mod:`bandit_lab.scores`, every function here takes a policy's state arrays with the
arms on the **last** axis and returns one probability per arm (they sum to 1):

    thompson_propensities        Beta Thompson sampling, exactly, by one-dimensional
                                 integration: P(arm k's draw is the largest)
    gaussian_max_propensities    the same for independent normal scores (linear Thompson
                                 sampling with a known noise variance scores an arm with
                                 a normal draw of mean x @ mu_k and variance x @ Sigma_k @ x)
    student_t_max_propensities   the same for independent Student-t scores (linear Thompson
                                 sampling that learns its noise variance, NIGLinearTS)
    epsilon_greedy_propensities  closed form, matching ``scores.epsilon_greedy_scores``
    softmax_propensities         closed form, matching ``scores.softmax_scores``
    monte_carlo_propensities     any index policy, from repeated draws of its scores, with
                                 the standard error of the estimate

The exact integrals: arm k is chosen when its draw beats every other arm's, so with
independent draws of densities ``f_j`` and distribution functions ``F_j``,

    P(k) = integral of f_k(x) * prod_{j != k} F_j(x) dx.

It is computed with Gauss-Legendre nodes on pieces of the line cut at quantiles of every
arm (so a narrow posterior inside a wide one gets nodes of its own), for Beta posteriors in
t = logit(x), where no density has a pole. The result agrees with 10^6-draw Monte Carlo to
its sampling error, with 20-digit values from mpmath to 1e-10 and with a quadrature of 64
nodes a piece to 1e-9 (``tests/test_propensities.py``); it takes 0.25-0.5 ms for five arms
(``benchmarks/bench_service.py`` prints it; this machine's speed wanders that much).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from . import _quadrature as Q
from ._rng import RNGLike
from ._validation import check_positive, check_probability
from .scores import argmax_random

__all__ = [
    "thompson_propensities",
    "gaussian_max_propensities",
    "student_t_max_propensities",
    "epsilon_greedy_propensities",
    "softmax_propensities",
    "monte_carlo_propensities",
]

# Tail probabilities at which every arm's distribution cuts the line into pieces.
# (Their lower half; the upper half is the same levels counted from the top. Five levels
# and 8 nodes a piece agree with 64 nodes a piece to 1e-10 on the test's hard cases.)
_TAILS = np.array([1e-13, 1e-7, 1e-3, 0.05, 0.5])
_LEVELS = np.concatenate([_TAILS, 1.0 - _TAILS[-2::-1]])
def thompson_propensities(alpha: ArrayLike, beta: ArrayLike) -> np.ndarray:
    """Probability that Beta Thompson sampling chooses each arm, exactly.

    Parameters
    ----------
    alpha, beta : array_like, shape (..., n_arms)
        The Beta posterior of every arm (``BetaBernoulliTS.alpha_`` and ``beta_``).
        Leading axes are independent bandits.

    Returns
    -------
    ndarray, shape (..., n_arms)
        P(arm k's posterior draw is the largest); each row sums to 1.

    Examples
    --------
    >>> p = thompson_propensities([1.0, 1.0], [1.0, 1.0])
    >>> [round(float(v), 12) for v in p]
    [0.5, 0.5]
    >>> p = thompson_propensities([3.0, 1.0], [1.0, 1.0])   # P(X > Y), X ~ Beta(3,1), Y ~ U(0,1)
    >>> round(float(p[0]), 12)                              # = E[X] = 3/4
    0.75
    """
    alpha = Q.positive_params("alpha", alpha)
    beta = Q.positive_params("beta", beta)
    if alpha.shape != beta.shape:
        raise ValueError(f"alpha has shape {alpha.shape} and beta {beta.shape}, must be the same.")
    flat_a = alpha.reshape(-1, alpha.shape[-1])
    flat_b = beta.reshape(-1, beta.shape[-1])
    out = np.empty_like(flat_a)
    for r in range(flat_a.shape[0]):
        out[r] = _thompson_one(flat_a[r], flat_b[r])
    return out.reshape(alpha.shape)


def _thompson_one(a, b):
    K = a.size
    if K == 1:
        return np.ones(1)
    # Integrate over t = logit(x): there dx = x (1 - x) dt turns every Beta density into the
    # smooth x**a (1 - x)**b / B(a, b), with no pole at 0 or 1 (a prior below 1 has one in
    # x), and quantiles near 1 stay distinct (in x they round to 1.0).
    A, B = a[:, None], b[:, None]
    # the quantiles at the lower tail levels (first K rows) and 1 - those at the upper ones
    q = special.betaincinv(np.concatenate([A, B]), np.concatenate([B, A]), _TAILS)
    with np.errstate(divide="ignore"):
        cuts = special.logit(q)
    cuts[K:] *= -1.0
    t, w, half = Q.pieces(np.clip(cuts.ravel(), -700.0, 700.0), nodes_only=False)
    pdf = np.exp(A * special.log_expit(t) + B * special.log_expit(-t) - special.betaln(A, B))
    # Each arm's distribution function at the nodes, integrated from the same density
    # (below the first cut every arm has less than 1e-13 of its mass): piece by piece, the
    # integral of the density's interpolating polynomial up to each node, plus every
    # earlier piece's total. As exact as the quadrature itself, and 50x cheaper than betainc.
    return Q.max_probabilities(pdf * w, Q.cdf_at_nodes(pdf, half))


def gaussian_max_propensities(means: ArrayLike, sds: ArrayLike) -> np.ndarray:
    """Probability that each of independent normal draws is the largest, exactly.

    Linear Thompson sampling with a Gaussian posterior ``N(mu_k, Sigma_k)`` per arm scores
    arm ``k`` for context ``x`` with ``x @ w_k``, a normal draw of mean ``x @ mu_k`` and
    standard deviation ``sqrt(x @ Sigma_k @ x)``; pass those here.

    Parameters
    ----------
    means : array_like, shape (..., n_arms)
    sds : array_like, shape (..., n_arms)
        Standard deviations, > 0.

    Returns
    -------
    ndarray, shape (..., n_arms)

    Examples
    --------
    >>> p = gaussian_max_propensities([0.0, 0.0, 0.0], [1.0, 1.0, 1.0])
    >>> [round(float(v), 10) for v in p]
    [0.3333333333, 0.3333333333, 0.3333333333]
    """
    means = np.asarray(means, dtype=float)
    if not np.all(np.isfinite(means)):
        raise ValueError("means holds a value that is not finite, every mean must be a finite number.")
    sds = Q.positive_params("sds", sds)
    means, sds = np.broadcast_arrays(means, sds)
    flat_m = means.reshape(-1, means.shape[-1])
    flat_s = sds.reshape(-1, sds.shape[-1])
    if flat_m.shape[-1] == 1:
        return np.ones(means.shape)
    out = np.empty_like(flat_m)
    # Many rows (one per logged context, say) at once, in blocks that keep the arrays
    # (rows x arms x nodes) to a few megabytes.
    step = max(1, _BLOCK_NODES // (flat_m.shape[1] ** 2 * _LEVELS.size * Q.NODES.size))
    for start in range(0, flat_m.shape[0], step):
        stop = start + step
        out[start:stop] = _gaussian_rows(flat_m[start:stop], flat_s[start:stop])
    return out.reshape(means.shape)


_BLOCK_NODES = 2_000_000


def _gaussian_rows(m, s):
    """:func:`_gaussian_one` for every row of ``m`` and ``s`` (shape (rows, K)) at once.

    The same pieces and nodes per row, except that pieces of (near) zero width are kept,
    with weight (near) 0, so every row has the same number of nodes.
    """
    rows, K = m.shape
    z = special.ndtri(_LEVELS)
    cuts = np.sort((m[:, :, None] + s[:, :, None] * z).reshape(rows, -1), axis=1)
    lo, hi = cuts[:, :-1], cuts[:, 1:]
    half = 0.5 * (hi - lo)                                      # (rows, P)
    x = ((lo + hi) * 0.5)[:, :, None] + half[:, :, None] * Q.NODES
    w = (half[:, :, None] * Q.WEIGHTS).reshape(rows, -1)         # (rows, nodes)
    x = x.reshape(rows, -1)
    mt, st = m.T[:, :, None], s.T[:, :, None]                   # (K, rows, 1)
    u = (x[None] - mt) / st                                     # (K, rows, nodes)
    cdf = special.ndtr(u)
    pdf = np.exp(-0.5 * u * u)
    pdf *= w / np.sqrt(2 * np.pi)
    pdf /= st
    # the product of every other arm's F: arms before k times arms after k
    p = np.empty((K, rows))
    before = np.ones_like(x)
    for k in range(K):
        after = np.ones_like(x)
        for j in range(k + 1, K):
            after *= cdf[j]
        p[k] = np.einsum("rn,rn->r", pdf[k] * before, after)
        before *= cdf[k]
    p = p.T
    total = p.sum(axis=1, keepdims=True)
    return np.where(total > 0, p / np.where(total > 0, total, 1.0), 1.0 / K)


def _gaussian_one(m, s):
    if m.size == 1:
        return np.ones(1)
    z = special.ndtri(_LEVELS)
    x, w = Q.pieces((m[:, None] + s[:, None] * z[None, :]).ravel())
    M, S = m[:, None], s[:, None]
    u = (x[None, :] - M) / S
    pdf = np.exp(-0.5 * u * u) / (S * np.sqrt(2 * np.pi))
    return Q.max_probabilities(pdf * w, special.ndtr(u))


def student_t_max_propensities(centres: ArrayLike, scales: ArrayLike, dofs: ArrayLike) -> np.ndarray:
    """Probability that each of independent Student-t draws is the largest, exactly.

    Linear Thompson sampling with a Normal-Inverse-Gamma posterior per arm
    (:class:`~bandit_lab.NIGLinearTS`, notebooks/06_credit_card_personalisation.ipynb) scores arm ``k`` with a Student-t draw of centre
    ``x @ m_k``, scale ``sqrt(b_k / a_k * x @ V_k @ x)`` and ``2 a_k`` degrees of freedom;
    pass those here. The same one-dimensional integral as
    :func:`gaussian_max_propensities`, with the pieces cut at every arm's t quantiles.

    Parameters
    ----------
    centres : array_like, shape (..., n_arms)
    scales : array_like, shape (..., n_arms)
        > 0.
    dofs : array_like, shape (..., n_arms)
        Degrees of freedom, > 0.

    Returns
    -------
    ndarray, shape (..., n_arms)

    Examples
    --------
    >>> p = student_t_max_propensities([0.0, 0.0], [1.0, 3.0], [2.0, 50.0])
    >>> [round(float(v), 10) for v in p]        # two draws symmetric about 0: a coin
    [0.5, 0.5]
    """
    centres = np.asarray(centres, dtype=float)
    if not np.all(np.isfinite(centres)):
        raise ValueError(
            "centres holds a value that is not finite, every centre must be a finite number."
        )
    scales = Q.positive_params("scales", scales)
    dofs = Q.positive_params("dofs", dofs)
    centres, scales, dofs = np.broadcast_arrays(centres, scales, dofs)
    K = centres.shape[-1]
    flat = [v.reshape(-1, K) for v in (centres, scales, dofs)]
    out = np.empty_like(flat[0])
    for r in range(out.shape[0]):
        out[r] = _student_t_one(flat[0][r], flat[1][r], flat[2][r])
    return out.reshape(centres.shape)


# A heavy tail decays like a power of x, not like exp(-x^2): it is cut at every half power
# of ten of tail probability, so each piece spans a small ratio of x (3.2x for a Cauchy,
# 1.8x for 2 degrees of freedom) and 8 nodes integrate it to ~1e-10.
_T_TAILS = np.concatenate(
    [10.0 ** -np.arange(13.0, 1.0, -0.5), [0.03, 0.06, 0.1, 0.16, 0.23, 0.3, 0.4, 0.5]]
)
_T_LEVELS = np.concatenate([_T_TAILS, 1.0 - _T_TAILS[-2::-1]])


def _student_t_one(m, s, nu):
    if m.size == 1:
        return np.ones(1)
    M, S, NU = m[:, None], s[:, None], nu[:, None]
    z = special.stdtrit(NU, _T_LEVELS[None, :])
    x, w, half = Q.pieces((M + S * z).ravel(), nodes_only=False)
    u = (x[None, :] - M) / S
    log_pdf = (
        special.gammaln((NU + 1) / 2)
        - special.gammaln(NU / 2)
        - 0.5 * np.log(NU * np.pi)
        - np.log(S)
        - (NU + 1) / 2 * np.log1p(u * u / NU)
    )
    # the distribution functions from the same density (special.stdtr costs 20x more)
    pdf = np.exp(log_pdf)
    return Q.max_probabilities(pdf * w, Q.cdf_at_nodes(pdf, half))


def _check_counts_sums(counts, sums):
    counts = np.asarray(counts, dtype=float)
    sums = np.asarray(sums, dtype=float)
    if counts.shape != sums.shape or counts.ndim == 0:
        raise ValueError(f"counts has shape {counts.shape} and sums {sums.shape}, must be the "
                         "same, with the arms on the last axis.")
    if np.any(counts < 0) or not np.all(np.isfinite(counts)):
        raise ValueError("counts holds a negative or non-finite value, must be pull counts >= 0.")
    return counts, sums


def _untried_uniform(counts):
    """Uniform over the never-pulled arms of each row (NaN rows where every arm was pulled)."""
    untried = counts <= 0
    n = untried.sum(axis=-1, keepdims=True)
    return untried / np.where(n > 0, n, 1), n[..., 0] > 0


def epsilon_greedy_propensities(counts: ArrayLike, sums: ArrayLike, epsilon: float) -> np.ndarray:
    """Probability that epsilon-greedy (:func:`bandit_lab.scores.epsilon_greedy_scores`)
    chooses each arm.

    While some arm was never pulled, one of those is chosen uniformly. Afterwards every arm
    gets ``epsilon / n_arms`` and the arms with the highest mean share ``1 - epsilon``.

    >>> epsilon_greedy_propensities([10, 10, 10], [1.0, 5.0, 2.0], 0.3).round(3).tolist()
    [0.1, 0.8, 0.1]
    """
    counts, sums = _check_counts_sums(counts, sums)
    epsilon = check_probability("epsilon", epsilon)
    K = counts.shape[-1]
    means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    top = means == means.max(axis=-1, keepdims=True)
    greedy = top / top.sum(axis=-1, keepdims=True)
    p = epsilon / K + (1.0 - epsilon) * greedy
    first, any_untried = _untried_uniform(counts)
    return np.where(any_untried[..., None], first, p)


def softmax_propensities(counts: ArrayLike, sums: ArrayLike, tau: float) -> np.ndarray:
    """Probability that softmax exploration (:func:`bandit_lab.scores.softmax_scores`)
    chooses each arm: ``exp(mean_k / tau)`` normalised, after every arm was pulled once.

    >>> softmax_propensities([5, 5], [0.0, 0.0], 0.1).tolist()
    [0.5, 0.5]
    """
    counts, sums = _check_counts_sums(counts, sums)
    tau = check_positive("tau", tau)
    means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    p = special.softmax(means / tau, axis=-1)
    first, any_untried = _untried_uniform(counts)
    return np.where(any_untried[..., None], first, p)


def monte_carlo_propensities(draw_scores: Callable[[int, np.random.Generator], ArrayLike],
                             n_arms: int, *, n_draws: int = 100_000, rng: RNGLike = None,
                             batch: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
    """Choice probabilities of any index policy, by drawing its scores ``n_draws`` times.

    Parameters
    ----------
    draw_scores : callable
        ``draw_scores(n, rng)`` returns ``n`` independent score vectors, shape
        ``(n, n_arms)``, as the policy would draw them for one decision.
    n_arms : int
    n_draws : int
        Draws in all. The standard error of each probability is at most
        ``0.5 / sqrt(n_draws)`` (1e-3 needs 250,000 draws; 5e-4 a million).
    rng : None, int, SeedSequence, BitGenerator or Generator

    Returns
    -------
    (probabilities, standard_errors) : two ndarrays of shape (n_arms,)
    """
    from ._rng import resolve_rng
    from ._validation import check_int

    n_arms = check_int("n_arms", n_arms, minimum=1)
    n_draws = check_int("n_draws", n_draws, minimum=1)
    batch = check_int("batch", batch, minimum=1)
    rng = resolve_rng(rng)
    counts = np.zeros(n_arms)
    done = 0
    while done < n_draws:
        n = min(batch, n_draws - done)
        scores = np.asarray(draw_scores(n, rng), dtype=float)
        if scores.shape != (n, n_arms):
            raise ValueError(f"draw_scores(n, rng) returned shape {scores.shape}, must be "
                             f"(n, n_arms) == ({n}, {n_arms}).")
        counts += np.bincount(argmax_random(scores, rng), minlength=n_arms)
        done += n
    p = counts / n_draws
    return p, np.sqrt(p * (1 - p) / n_draws)
