"""Posteriors as small value objects (like ``statistics.NormalDist``).

Taught in notebooks/02_beta_priors.ipynb.

:class:`BetaPosterior` holds the Beta belief about the success rate of one arm or of many
(arrays of ``alpha`` and ``beta``, arms on the last axis) and answers the questions a
learner asks of it: mean, credible interval, a density to draw, samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import special as _special  # aliased: a local variable can't shadow it (the source's

# `stats = ...` hid scipy.stats and crashed)
from ._rng import RNGLike, resolve_rng
from ._validation import check_positive, check_probability, check_rewards_array

__all__ = ["BetaPosterior", "monte_carlo_best"]

# Largest (draws x rows x arms) block of posterior draws held in memory at once.
_DRAW_BLOCK = 2_000_000


def monte_carlo_best(
    alpha: ArrayLike, beta: ArrayLike, *, n_samples: int, rng: RNGLike = None
) -> tuple[np.ndarray, np.ndarray]:
    """P(each arm is best) and the expected loss of choosing each arm, by Monte Carlo.

    The one home of Monte Carlo "P(best)": :meth:`BetaPosterior.prob_best`,
    ``prob_being_best(method="monte_carlo")`` and the posterior stopping rule all call it.
    ``alpha`` and ``beta`` hold Beta posteriors with arms on the last axis; leading axes
    are separate experiments, drawn ``n_samples`` times each, in blocks of rows that keep
    at most 2,000,000 draws in memory. The expected loss of arm ``k`` is
    ``E[max_j X_j - X_k]``. The standard error of a probability is at most
    ``0.5 / sqrt(n_samples)``.

    Returns
    -------
    prob_best, expected_loss : two arrays of the shape of ``alpha``

    Examples
    --------
    >>> p, loss = monte_carlo_best([1.0, 1.0], [1.0, 1.0], n_samples=100_000, rng=0)
    >>> [round(float(x), 2) for x in p], [round(float(x), 2) for x in loss]  # E[max] = 2/3
    ([0.5, 0.5], [0.17, 0.17])
    """
    gen = resolve_rng(rng)
    a, b = np.broadcast_arrays(np.asarray(alpha, dtype=float), np.asarray(beta, dtype=float))
    if a.ndim == 0:
        raise ValueError("alpha and beta are scalars, must hold one entry per arm (last axis).")
    k = a.shape[-1]
    flat_a, flat_b = a.reshape(-1, k), b.reshape(-1, k)
    rows = max(1, _DRAW_BLOCK // (n_samples * k))
    prob = np.empty(flat_a.shape)
    loss = np.empty(flat_a.shape)
    for start in range(0, flat_a.shape[0], rows):
        part = slice(start, start + rows)
        draws = gen.beta(flat_a[part], flat_b[part], size=(n_samples,) + flat_a[part].shape)
        winners = draws.argmax(axis=-1)
        prob[part] = (winners[..., None] == np.arange(k)).mean(axis=0)
        loss[part] = (draws.max(axis=-1, keepdims=True) - draws).mean(axis=0)
    return prob.reshape(a.shape), loss.reshape(a.shape)


@dataclass(frozen=True)
class BetaPosterior:
    """Beta(alpha, beta) beliefs about success rates, one per arm.

    Parameters
    ----------
    alpha, beta : float or array_like
        Shape parameters, all finite and > 0. ``alpha - alpha0`` counts (possibly
        fractional) successes, ``beta - beta0`` failures.

    Examples
    --------
    >>> post = BetaPosterior(1.0, 1.0).update([1, 0, 1, 1])
    >>> float(post.alpha), float(post.beta), round(float(post.mean), 3)
    (4.0, 2.0, 0.667)
    """

    alpha: np.ndarray
    beta: np.ndarray

    def __post_init__(self):
        a = np.asarray(self.alpha, dtype=float)
        b = np.asarray(self.beta, dtype=float)
        for name, arr in (("alpha", a), ("beta", b)):
            bad = ~np.isfinite(arr) | (arr <= 0)
            if bad.any():
                raise ValueError(
                    f"{name} == {float(arr[bad].flat[0])!r}, must be a finite number > 0."
                )
        a, b = np.broadcast_arrays(a, b)
        object.__setattr__(self, "alpha", a.copy())
        object.__setattr__(self, "beta", b.copy())

    @classmethod
    def from_counts(
        cls, successes: ArrayLike, failures: ArrayLike, *, alpha0: float = 1.0, beta0: float = 1.0
    ) -> BetaPosterior:
        """The closed-form posterior after ``successes`` and ``failures`` (batch update)."""
        alpha0 = check_positive("alpha0", alpha0)
        beta0 = check_positive("beta0", beta0)
        s = np.asarray(successes, dtype=float)
        f = np.asarray(failures, dtype=float)
        for name, arr in (("successes", s), ("failures", f)):
            bad = ~np.isfinite(arr) | (arr < 0)
            if bad.any():
                raise ValueError(
                    f"{name} contains {float(arr[bad].flat[0])!r}, must be finite counts >= 0."
                )
        return cls(alpha0 + s, beta0 + f)

    def update(self, rewards: ArrayLike) -> BetaPosterior:
        """The posterior after observing ``rewards`` (each in [0, 1]) for a single arm."""
        r = check_rewards_array("rewards", rewards).ravel()
        return BetaPosterior(self.alpha + r.sum(), self.beta + (1.0 - r).sum())

    @property
    def mean(self) -> np.ndarray:
        return self.alpha / (self.alpha + self.beta)

    @property
    def var(self) -> np.ndarray:
        n = self.alpha + self.beta
        return self.alpha * self.beta / (n * n * (n + 1.0))

    @property
    def mode(self) -> np.ndarray:
        """Most likely rate. 1 when alpha > 1 >= beta (the density rises to p = 1), 0 when
        beta > 1 >= alpha; NaN when there is no single most likely value (alpha, beta <= 1:
        flat or U-shaped)."""
        a, b = self.alpha, self.beta
        with np.errstate(invalid="ignore", divide="ignore"):
            interior = (a - 1) / (a + b - 2)
        return np.select(
            [(a > 1) & (b > 1), (a > 1) & (b <= 1), (a <= 1) & (b > 1)],
            [interior, 1.0, 0.0],
            np.nan,
        )

    @property
    def median(self) -> np.ndarray:
        return _special.betaincinv(self.alpha, self.beta, 0.5)

    @property
    def skewness(self) -> np.ndarray:
        """Positive: long tail to the right (mass near 0). Negative: long tail to the left."""
        a, b = self.alpha, self.beta
        return 2 * (b - a) * np.sqrt(a + b + 1) / ((a + b + 2) * np.sqrt(a * b))

    def interval(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Equal-tailed credible interval ``(low, high)`` holding ``level`` of the belief."""
        level = check_probability("level", level, open_low=True, open_high=True)
        tail = (1 - level) / 2
        return (
            _special.betaincinv(self.alpha, self.beta, tail),
            _special.betaincinv(self.alpha, self.beta, 1 - tail),
        )

    def pdf(self, x: ArrayLike) -> np.ndarray:
        """Density at points ``x``; result has shape ``x.shape + alpha.shape``."""
        x = np.asarray(x, dtype=float)
        x = x[(...,) + (None,) * self.alpha.ndim]
        a, b = self.alpha, self.beta
        with np.errstate(divide="ignore", invalid="ignore"):
            log_pdf = _special.xlogy(a - 1, x) + _special.xlog1py(b - 1, -x) - _special.betaln(a, b)
        inside = (x >= 0) & (x <= 1)
        return np.where(inside, np.exp(np.where(inside, log_pdf, 0.0)), 0.0)

    def sample(
        self, size: int | tuple[int, ...] | None = None, *, rng: RNGLike = None
    ) -> np.ndarray:
        """Draws from the posterior; shape ``size + alpha.shape`` (``size`` an int or tuple)."""
        gen = resolve_rng(rng)
        if size is None:
            return gen.beta(self.alpha, self.beta)
        size = (size,) if np.isscalar(size) else tuple(size)
        return gen.beta(self.alpha, self.beta, size=size + self.alpha.shape)

    def prob_best(self, n_samples: int = 20_000, *, rng: RNGLike = None) -> np.ndarray:
        """Monte Carlo probability that each arm has the highest rate.

        Arms are the last axis; any leading axes (independent runs) get their own answer,
        of the same shape as ``alpha``.
        """
        return monte_carlo_best(self.alpha, self.beta, n_samples=n_samples, rng=rng)[0]

    def to_dict(self) -> dict[str, list]:
        return {"alpha": self.alpha.tolist(), "beta": self.beta.tolist()}
