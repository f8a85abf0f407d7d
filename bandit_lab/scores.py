"""The maths of every policy, as pure functions of its state arrays.

Taught in notebooks/03_thompson_sampling.ipynb and notebooks/04_comparing_strategies.ipynb.

Each policy is an *index*: a score per arm, and the arm chosen is the one with the highest
score, ties broken at random (:func:`argmax_random`). Arms are the **last** axis; any
leading axes are independent runs, so the same function serves the single-step policy
object (state of shape ``(n_arms,)``) and the vectorised simulator (``(n_runs, n_arms)``).
Nothing here keeps state or touches NumPy's global random state; randomness comes from
the ``rng`` (a ``numpy.random.Generator``) passed in.

State updates (:func:`beta_update`, :func:`count_update`) change the arrays in place for
the chosen arm of every run.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import ArrayLike

from ._special import arm_index

__all__ = [
    "argmax_random",
    "argmax_one",
    "thompson_scores",
    "ucb1_scores",
    "klucb_scores",
    "epsilon_greedy_scores",
    "softmax_scores",
    "beta_update",
    "count_update",
    "arm_index",
]


def argmax_random(scores: ArrayLike, rng: np.random.Generator) -> np.ndarray:
    """Index of the largest score on the last axis, ties broken uniformly at random.

    Continuous scores (posterior samples) almost never tie, so random numbers are drawn
    only for the rows that do.
    """
    scores = np.asarray(scores)
    best = scores.argmax(axis=-1)
    if scores.ndim == 2:  # the simulator's (n_runs, n_arms): plain indexing is the fastest
        top = scores[np.arange(scores.shape[0]), best][:, None]
    else:
        top = np.take_along_axis(scores, best[..., None], axis=-1)
    is_top = scores == top
    if np.count_nonzero(is_top) == best.size:  # no row has a tie: the usual case
        return best
    tied = is_top.sum(axis=-1) > 1
    noise = np.where(is_top[tied], rng.random(is_top[tied].shape), -1.0)
    if best.ndim == 0:
        return np.asarray(noise.argmax(axis=-1)[0])
    best[tied] = noise.argmax(axis=-1)
    return best


def argmax_one(scores: np.ndarray, rng: np.random.Generator) -> int:
    """:func:`argmax_random` for one bandit's ``(n_arms,)`` scores, as an int: the same
    choice from the same stream, with what a single row needs and nothing else (a policy
    object's ``select``, called once per step)."""
    if scores.size <= 64:  # a few arms: plain Python on the list is cheaper than NumPy
        values = scores.tolist()
        top = max(values)
        if values.count(top) == 1:  # no tie: the usual case, no random numbers drawn
            return values.index(top)
        is_top = scores == top
    else:
        best = int(scores.argmax())
        is_top = scores == scores[best]
        if np.count_nonzero(is_top) == 1:
            return best
    return int(np.where(is_top, rng.random(scores.size), -1.0).argmax())


def thompson_scores(alpha: ArrayLike, beta: ArrayLike, rng: np.random.Generator) -> np.ndarray:
    """Thompson sampling: the index of an arm is one draw from its Beta posterior.

    >>> import numpy as np
    >>> s = thompson_scores(np.array([1.0, 50.0]), np.array([1.0, 1.0]), np.random.default_rng(0))
    >>> s.shape
    (2,)
    """
    return rng.beta(alpha, beta)


def _means(counts, sums):
    counts = np.asarray(counts, dtype=float)
    # where= leaves never-pulled arms at 0 without dividing by zero (no errstate needed,
    # whose context manager costs more than the division on a simulator's small arrays)
    return np.divide(
        sums,
        counts,
        out=np.zeros(np.broadcast_shapes(np.shape(sums), counts.shape)),
        where=counts > 0,
    )


def ucb1_scores(counts: ArrayLike, sums: ArrayLike, t: ArrayLike) -> np.ndarray:
    """UCB1 (Auer et al. 2002): mean + sqrt(2 ln t / n); an arm never pulled scores +inf.

    ``t`` is the number of pulls so far in each run (shape = the leading axes).
    """
    counts = np.asarray(counts, dtype=float)
    t = np.asarray(t, dtype=float)[..., None]
    pulled = counts > 0
    shape = np.broadcast_shapes(t.shape, counts.shape, np.shape(sums))
    scores = np.divide(
        2.0 * np.log(np.maximum(t, 1.0)), counts, out=np.full(shape, np.inf), where=pulled
    )
    np.sqrt(scores, out=scores)
    scores += _means(counts, sums)  # inf + a finite mean stays inf
    return scores


def klucb_scores(
    counts: ArrayLike,
    sums: ArrayLike,
    t: ArrayLike,
    c: float = 0.0,
    n_bisect: int = 2,
    n_newton: int = 5,
) -> np.ndarray:
    """KL-UCB for Bernoulli rewards (Garivier & Cappe 2011).

    The index is the largest q in [mean, 1] with ``n * KL(mean, q) <= log t + c log log t``.
    ``q -> KL(mean, q)`` is convex and increasing on [mean, 1]. A few bisection steps
    bracket the root (Pinsker's bound ``KL >= 2 (q - mean)**2`` gives the first upper end);
    Newton's method from the bracket's upper end then descends monotonically onto it.
    The defaults agree with a 60-step bisection to 1e-9 or better. Never-pulled arms score +inf.
    """
    counts = np.asarray(counts, dtype=float)
    t = np.maximum(np.asarray(t, dtype=float)[..., None], 1.0)
    budget = np.log(t)
    if c:
        budget = budget + c * np.log(np.maximum(np.log(t), 1.0))
    p = np.clip(_means(counts, sums), 0.0, 1.0)
    level = budget / np.where(counts > 0, counts, 1.0)
    top = 1.0 - 1e-12
    # KL(p, q) = neg_entropy(p) - p log q - (1 - p) log(1 - q); the first term is fixed.
    with np.errstate(divide="ignore", invalid="ignore"):
        neg_entropy = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0) + np.where(
            p < 1, (1 - p) * np.log(np.where(p < 1, 1 - p, 1.0)), 0.0
        )
    target = level - neg_entropy
    floor = np.maximum(p, 1e-300)

    def excess(q):  # KL(p, q) - level
        return -p * np.log(q) - (1 - p) * np.log1p(-q) - target

    lo, hi = floor, np.minimum(p + np.sqrt(level / 2.0), top)
    for _ in range(n_bisect):
        mid = 0.5 * (lo + hi)
        inside = excess(mid) <= 0
        lo = np.where(inside, mid, lo)
        hi = np.where(inside, hi, mid)
    # Newton in u = -log(1 - q): there the excess is still convex and increasing, and it
    # is nearly linear where q is close to 1, which is where Newton in q would crawl.
    u, u_lo = -np.log1p(-hi), -np.log1p(-np.minimum(lo, top))
    for _ in range(n_newton):
        q = -np.expm1(-u)
        slope = (q - p) / q
        f = -p * np.log(q) + (1 - p) * u - target
        step = np.where(slope > 0, f / np.where(slope > 0, slope, 1.0), 0.0)
        u = np.maximum(u - np.maximum(step, 0.0), u_lo)
    q = np.clip(-np.expm1(-u), floor, top)
    return np.where(counts > 0, q, np.inf)


def epsilon_greedy_scores(
    counts: ArrayLike, sums: ArrayLike, epsilon: float, rng: np.random.Generator
) -> np.ndarray:
    """Epsilon-greedy: the empirical mean, except with probability ``epsilon`` all scores are
    replaced by uniform noise (a uniformly random arm). An arm never pulled scores +inf, so
    each arm is pulled once before the policy exploits (the source article's version starts
    by "exploiting" arm 0 with no data at all).
    """
    means = _means(counts, sums)
    explore = rng.random(means.shape[:-1]) < epsilon
    noise = rng.random(means.shape)
    scores = np.where(explore[..., None], noise, means)
    return np.where(np.asarray(counts) > 0, scores, np.inf)


def softmax_scores(
    counts: ArrayLike, sums: ArrayLike, tau: float, rng: np.random.Generator
) -> np.ndarray:
    """Softmax (Boltzmann) exploration: choose arm k with probability proportional to
    exp(mean_k / tau). Written as an index with the Gumbel-max trick: the argmax of
    ``mean / tau + Gumbel noise`` is exactly such a draw. Never-pulled arms score +inf.
    """
    means = _means(counts, sums)
    gumbel = rng.gumbel(size=means.shape)
    return np.where(np.asarray(counts) > 0, means / tau + gumbel, np.inf)


@functools.lru_cache(maxsize=32)
def _row_starts(shape, n_arms):
    """Flat index of the first arm of every run (read-only: shared between calls)."""
    starts = np.array(np.arange(int(np.prod(shape))).reshape(shape) * n_arms)  # 0-d too
    starts.flags.writeable = False
    return starts


def _add_at_arms(arr, arms, values, runs=None):
    """``arr[..., arms] += values`` for one chosen arm per run, in place.

    ``runs`` (optional, for state of shape ``(n_runs, n_arms)``) names the runs that
    receive an update, each at most once; by default every run does.
    """
    arms = np.asarray(arms)
    if runs is not None:
        arr[np.asarray(runs), arms] += values
    elif arr.flags.c_contiguous:
        # flat indices are about twice as fast as a tuple of index arrays
        flat = _row_starts(arms.shape, arr.shape[-1]) + arms
        arr.reshape(-1)[flat] += values
    else:
        arr[arm_index(arms)] += values


def beta_update(
    alpha: np.ndarray,
    beta: np.ndarray,
    arms: ArrayLike,
    rewards: ArrayLike,
    runs: ArrayLike | None = None,
) -> None:
    """Conjugate Beta-Bernoulli update in place: ``alpha += r``, ``beta += 1 - r`` for the
    chosen arm of each run (or of the ``runs`` named). A fractional reward counts as that
    fraction of a success."""
    rewards = np.asarray(rewards, dtype=float)
    _add_at_arms(alpha, arms, rewards, runs)
    _add_at_arms(beta, arms, 1.0 - rewards, runs)


def count_update(
    counts: np.ndarray,
    sums: np.ndarray,
    arms: ArrayLike,
    rewards: ArrayLike,
    runs: ArrayLike | None = None,
) -> None:
    """Pull counts and reward sums in place, for the chosen arm of each run."""
    _add_at_arms(counts, arms, 1.0, runs)
    _add_at_arms(sums, arms, np.asarray(rewards, dtype=float), runs)
