"""Bayesian linear regression as a small value object: the belief about a weight vector.

Taught in notebooks/05_contextual_bandits.ipynb.

The model: a reward is ``r = x . w + noise`` with ``noise ~ N(0, noise_var)``, and before any
data ``w ~ N(0, prior_var I)``. The posterior after rewards ``r`` for contexts ``X`` (one
row per observation) is Gaussian, in closed form::

    precision = I / prior_var + X' X / noise_var
    cov       = inverse(precision)
    mean      = cov @ X' r / noise_var

:class:`GaussianLinearPosterior` holds ``mean`` and ``cov`` for one arm and answers what a
learner asks: what does the belief predict for a context ``x``, and how sure is it? Its
maths is that of :mod:`bandit_lab.contextual.scores`, which the contextual bandits use on
the same ``mean`` and ``cov`` arrays (one per arm) when they learn one reward at a time;
``LinearTS.posterior(arm)`` hands one arm's belief over as this object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._rng import RNGLike, resolve_rng
from .._validation import check_design, check_int, check_positive, check_probability, check_targets
from .scores import gaussian_linear_batch

__all__ = ["GaussianLinearPosterior"]


@dataclass(frozen=True)
class GaussianLinearPosterior:
    """The Gaussian belief N(mean, cov) about the weights of a linear model.

    Parameters
    ----------
    mean : array_like, shape (n_features,)
    cov : array_like, shape (n_features, n_features)
        Symmetric and positive definite.
    noise_var : float > 0
        Variance of a reward around ``x . w`` (used for observation intervals and updates).

    Examples
    --------
    Two observations of a line through the origin with slope 2:

    >>> import numpy as np
    >>> post = GaussianLinearPosterior.from_data([[1.0], [2.0]], [2.0, 4.0],
    ...                                          prior_var=100.0, noise_var=0.01)
    >>> round(float(post.mean[0]), 4), round(float(post.predict_mean([3.0])), 3)
    (2.0, 6.0)
    >>> post.update([[3.0]], [6.0]).n_obs
    3
    """

    mean: np.ndarray
    cov: np.ndarray
    noise_var: float = 1.0
    n_obs: int = 0

    def __post_init__(self):
        if np.ndim(self.mean) != 1:
            raise ValueError(
                f"mean has shape {np.shape(self.mean)}, must be 1-D (one weight per feature)."
            )
        m = check_design("mean", self.mean)[0]
        d = m.shape[0]
        c = np.asarray(self.cov, dtype=float)
        if c.shape != (d, d):
            raise ValueError(f"cov has shape {c.shape}, must be ({d}, {d}) to match mean.")
        if not np.isfinite(c).all() or not np.allclose(c, c.T, rtol=1e-10, atol=1e-14):
            raise ValueError("cov must be a finite symmetric matrix.")
        try:
            np.linalg.cholesky(c)
        except np.linalg.LinAlgError:
            raise ValueError("cov must be positive definite.") from None
        object.__setattr__(self, "mean", m.copy())
        object.__setattr__(self, "cov", c.copy())
        object.__setattr__(self, "noise_var", check_positive("noise_var", self.noise_var))
        object.__setattr__(self, "n_obs", check_int("n_obs", self.n_obs, minimum=0))

    # -- building beliefs --------------------------------------------------------------
    @classmethod
    def prior(
        cls, n_features: int, *, prior_var: float = 1.0, noise_var: float = 1.0
    ) -> GaussianLinearPosterior:
        """The belief before any data: N(0, prior_var I)."""
        d = check_int("n_features", n_features, minimum=1)
        prior_var = check_positive("prior_var", prior_var)
        return cls(np.zeros(d), np.eye(d) * prior_var, noise_var)

    @classmethod
    def from_data(
        cls, X: ArrayLike, r: ArrayLike, *, prior_var: float = 1.0, noise_var: float = 1.0
    ) -> GaussianLinearPosterior:
        """The closed-form (batch) posterior after rewards ``r`` for contexts ``X``.

        ``X`` has shape (n, n_features) (n may be 0), ``r`` shape (n,).
        """
        X = check_design("X", X)
        r = check_targets("r", r, X.shape[0])
        prior_var = check_positive("prior_var", prior_var)
        noise_var = check_positive("noise_var", noise_var)
        d = X.shape[1]
        mean, cov = gaussian_linear_batch(
            np.zeros(d),
            np.eye(d) * prior_var,
            X,
            r,
            noise_var,
            prior_precision=np.eye(d) / prior_var,
        )
        return cls(mean, cov, noise_var, X.shape[0])

    def update(self, X: ArrayLike, r: ArrayLike) -> GaussianLinearPosterior:
        """The belief after more data, with this one as the prior (a new object)."""
        X = check_design("X", X, self.n_features)
        r = check_targets("r", r, X.shape[0])
        mean, cov = gaussian_linear_batch(self.mean, self.cov, X, r, self.noise_var)
        return GaussianLinearPosterior(mean, cov, self.noise_var, self.n_obs + X.shape[0])

    # -- questions a learner asks --------------------------------------------------------
    @property
    def n_features(self) -> int:
        return self.mean.shape[0]

    @property
    def sd(self) -> np.ndarray:
        """Posterior standard deviation of each weight."""
        return np.sqrt(np.diag(self.cov))

    @property
    def precision(self) -> np.ndarray:
        """The inverse covariance (information) matrix."""
        return np.linalg.inv(self.cov)

    def predict_mean(self, x: ArrayLike) -> float | np.ndarray:
        """Posterior mean of ``x . w``: a float for one context, shape (n,) for n rows."""
        X = check_design("x", x, self.n_features)
        out = X @ self.mean
        return float(out[0]) if np.ndim(x) == 1 else out

    def predict_var(self, x: ArrayLike, *, observation: bool = False) -> float | np.ndarray:
        """Posterior variance of ``x . w`` (the line's height at ``x``); with
        ``observation=True`` also the noise of one reward, ``+ noise_var``."""
        X = check_design("x", x, self.n_features)
        out = np.einsum("nd,de,ne->n", X, self.cov, X) + (self.noise_var if observation else 0.0)
        return float(out[0]) if np.ndim(x) == 1 else out

    def interval(
        self, x: ArrayLike, level: float = 0.95, *, observation: bool = False
    ) -> tuple[Any, Any]:
        """Equal-tailed credible interval ``(low, high)`` for ``x . w`` (or, with
        ``observation=True``, for a new reward at ``x``)."""
        level = check_probability("level", level, open_low=True, open_high=True)
        from scipy.stats import norm  # imported on first use: scipy.stats is slow to import

        z = norm.ppf(0.5 + level / 2)
        m = self.predict_mean(x)
        s = np.sqrt(self.predict_var(x, observation=observation))
        return m - z * s, m + z * s

    def sample(
        self, size: int | tuple[int, ...] | None = None, *, rng: RNGLike = None
    ) -> np.ndarray:
        """Weight vectors drawn from the belief, shape ``size + (n_features,)``."""
        gen = resolve_rng(rng)
        return gen.multivariate_normal(self.mean, self.cov, size=size, method="cholesky")

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean.tolist(),
            "cov": self.cov.tolist(),
            "noise_var": self.noise_var,
            "n_obs": self.n_obs,
        }
