"""A linear Thompson-sampling bandit as the service stores it (see :mod:`.models`)."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import linalg as _linalg

from .._validation import check_int, check_positive
from .models import _check_bucket, _is_number, _short, _Spec, check_arm_names

__all__ = ["LinearSpec", "MAX_CONTEXT", "VAR_RANGE"]

#: Largest magnitude of a context entry: beyond it ``x x' / noise_var`` and ``x' cov x``
#: leave the range of floating point (one decision with x = 1e200 turned the state to inf).
#: Scale features before sending them (standardised features are what linear TS expects).
MAX_CONTEXT = 1e6
#: Range of ``prior_var`` and ``noise_var``: within it the stored precision stays finite
#: for any context within :data:`MAX_CONTEXT` (a noise_var of 1e-300 made the first
#: reward's increment infinite and every later decision fail).
VAR_RANGE = (1e-6, 1e6)


def _check_var(name, value) -> float:
    x = check_positive(name, value)
    if not VAR_RANGE[0] <= x <= VAR_RANGE[1]:
        raise ValueError(f"{name} == {x!r}, must be in [{VAR_RANGE[0]:g}, {VAR_RANGE[1]:g}].")
    return x


def _inverse(precision):
    """``(cov, factor)`` of a symmetric positive definite precision matrix: Cholesky, or,
    when rounding made the matrix numerically singular (huge, nearly collinear contexts),
    an eigendecomposition with the eigenvalues floored at the precision float64 offers."""
    try:
        factor = _linalg.cho_factor(precision)
    except _linalg.LinAlgError:
        w, vec = np.linalg.eigh(0.5 * (precision + precision.T))
        w = np.maximum(w, max(w.max(), 0.0) * 1e-15 + np.finfo(float).tiny)
        return (vec / w) @ vec.T, None
    c = _linalg.cho_solve(factor, np.eye(precision.shape[0]))
    return 0.5 * (c + c.T), factor


@dataclass(frozen=True)
class LinearSpec(_Spec):
    """A linear Thompson-sampling (contextual) bandit as the service stores it.

    One Bayesian linear regression per arm (the model of
    :class:`bandit_lab.contextual.LinearTS`): weights ~ N(0, prior_var I), reward = x.w +
    noise of variance ``noise_var``. The store keeps, per arm, the posterior precision
    ``A`` and ``f = A @ mean``; both grow by addition, so updates are atomic increments.

    Parameters
    ----------
    arms : sequence of str
    n_features : int
        Length of the context vector every decision must send.
    prior_var, noise_var : float, default 1.0 and 0.1
        The service keeps these defaults so that a bandit created without them means the
        same model it always did. ``LinearTS`` itself now defaults to 0.1 and 0.01 (tuned on
        the credit-card and digits problems, see ``benchmarks/bench_peers.py``); pass them
        explicitly to serve that model.
    binary, bucket_seconds : as in :class:`BetaSpec`
    feature_names : sequence of str, optional
        Names of the context entries, for messages and documentation.

    Examples
    --------
    >>> spec = LinearSpec(["a", "b"], n_features=2, prior_var=4.0)
    >>> spec.prior()[0].tolist()
    [0.25, 0.0, 0.0, 0.25, 0.0, 0.0]
    >>> spec.increment([1.0, 2.0], 1.0).tolist()
    [10.0, 20.0, 20.0, 40.0, 10.0, 20.0]
    """

    arms: tuple[str, ...]
    n_features: int = 1
    prior_var: float = 1.0
    noise_var: float = 0.1
    binary: bool = True
    bucket_seconds: float = 60.0
    feature_names: tuple[str, ...] | None = None
    arm_prior_vars: tuple[float, ...] | None = None
    added_arms: int = 0
    kind = "linear"

    def __post_init__(self):
        object.__setattr__(self, "arms", check_arm_names(self.arms))
        object.__setattr__(self, "n_features", check_int("n_features", self.n_features,
                                                         minimum=1, maximum=256))
        object.__setattr__(self, "prior_var", _check_var("prior_var", self.prior_var))
        object.__setattr__(self, "noise_var", _check_var("noise_var", self.noise_var))
        if not isinstance(self.binary, bool):
            raise TypeError(f"binary == {self.binary!r}, must be True or False.")
        object.__setattr__(self, "bucket_seconds", _check_bucket(self.bucket_seconds))
        if self.feature_names is not None:
            names = tuple(self.feature_names)
            if len(names) != self.n_features or not all(isinstance(n, str) for n in names):
                raise ValueError(f"feature_names has {len(names)} entries, must be "
                                 f"{self.n_features} strings (one per feature).")
            object.__setattr__(self, "feature_names", names)
        if self.arm_prior_vars is not None:
            pv = tuple(_check_var(f"arm_prior_vars[{k}]", v)
                       for k, v in enumerate(self.arm_prior_vars))
            if len(pv) != self.n_arms:
                raise ValueError(f"arm_prior_vars has {len(pv)} entries, must have one per arm "
                                 f"({self.n_arms}).")
            object.__setattr__(self, "arm_prior_vars",
                               None if all(v == self.prior_var for v in pv) else pv)
        self._check_added()

    def with_arm(self, arm, prior_var=None) -> LinearSpec:
        """This spec with one more arm, whose weights start at N(0, prior_var I)."""
        pv = list(self.arm_prior_vars or [self.prior_var] * self.n_arms)
        pv.append(self.prior_var if prior_var is None else prior_var)
        return replace(self, arms=(*self.arms, arm), arm_prior_vars=tuple(pv),
                       added_arms=self.added_arms + 1)

    def _first(self, n):
        return replace(self, arms=self.arms[:n], added_arms=max(0, self.added_arms - (self.n_arms - n)),
                       arm_prior_vars=None if self.arm_prior_vars is None else
                       self.arm_prior_vars[:n])

    @property
    def width(self) -> int:
        d = self.n_features
        return d * d + d

    def prior(self) -> np.ndarray:
        d = self.n_features
        pv = self.arm_prior_vars or (self.prior_var,) * self.n_arms
        return np.stack([np.concatenate([(np.eye(d) / v).ravel(), np.zeros(d)]) for v in pv])

    def check_context(self, context) -> np.ndarray:
        """The context as a float array of length ``n_features``, or a one-sentence error."""
        d = self.n_features
        if context is None:
            raise ValueError(f"context is missing, must be a list of {d} numbers for bandit of "
                             "kind 'linear'.")
        if not isinstance(context, (list, tuple)):
            raise TypeError(f"context == {_short(context)} is of type {type(context).__name__}, "
                            f"must be a list of {d} numbers.")
        if len(context) != d:
            raise ValueError(f"context has {len(context)} entries, must have {d} "
                             f"(n_features of this bandit).")
        for i, v in enumerate(context):
            name = self.feature_names[i] if self.feature_names else str(i)
            if not _is_number(v) or not math.isfinite(v) or abs(v) > MAX_CONTEXT:
                raise ValueError(f"context[{i}] ({name}) == {_short(v)}, must be a finite number "
                                 f"in [-{MAX_CONTEXT:g}, {MAX_CONTEXT:g}].")
        return np.asarray(context, dtype=float)

    def increment(self, context, reward) -> np.ndarray:
        x = np.asarray(context, dtype=float)
        return np.concatenate([np.outer(x, x).ravel(), reward * x]) / self.noise_var

    def moments(self, vectors):
        """Posterior ``mean`` (n_arms, d) and ``cov`` (n_arms, d, d) from the stored
        information form: ``cov = inverse(A)``, ``mean = cov @ f``."""
        d = self.n_features
        vectors = self.check_state(vectors)
        precision = vectors[:, : d * d].reshape(-1, d, d)
        f = vectors[:, d * d:]
        cov = np.empty_like(precision)
        mean = np.empty_like(f)
        for k in range(precision.shape[0]):
            cov[k], factor = _inverse(precision[k])
            mean[k] = cov[k] @ f[k] if factor is None else _linalg.cho_solve(factor, f[k])
        return mean, cov

    def model(self, vectors, n_obs=None, rng=None):
        """The :class:`bandit_lab.contextual.LinearTS` holding this stored posterior."""
        from ..contextual import LinearTS

        mean, cov = self.moments(vectors)
        n_obs = np.zeros(self.n_arms, dtype=np.int64) if n_obs is None else n_obs
        state = {"format": 1, "policy": "LinearTS",
                 "params": {"n_arms": self.n_arms, "n_features": self.n_features,
                            "prior_var": self.prior_var, "noise_var": self.noise_var},
                 "state": {"mean_": mean.tolist(), "cov_": cov.tolist(),
                           "n_obs_": np.asarray(n_obs).tolist()}}
        return LinearTS.from_state(state, rng=rng)

    def scores(self, vectors, context, rng) -> np.ndarray:
        """One draw of ``x . w`` per arm: the function :class:`LinearTS` decides with."""
        from ..contextual import linear_ts_scores

        mean, cov = self.moments(vectors)
        return linear_ts_scores(mean, cov, context, rng)

    def _draw_scores(self, vectors, context, rng, n):
        from ..contextual import score_moments

        mean, cov = self.moments(vectors)
        m, v = score_moments(mean, cov, np.asarray(context, dtype=float))
        return m + np.sqrt(v) * rng.standard_normal((n, self.n_arms))

    def _propensities(self, vectors, context, eligible):
        # The scores are independent normal draws, N(x . mean_k, x' cov_k x), one per arm
        # (linear_ts_scores): the exact probability that each is the largest is a 1-D integral.
        from ..contextual import score_moments
        from ..propensities import gaussian_max_propensities

        mean, cov = self.moments(vectors)
        m, v = score_moments(mean[eligible], cov[eligible], np.asarray(context, dtype=float))
        sd = np.sqrt(np.maximum(v, 0.0))
        if np.all(sd == 0.0):  # x = 0: every score is its mean; ties broken uniformly
            top = m == m.max()
            return top / top.sum()
        return gaussian_max_propensities(m, np.maximum(sd, 1e-12 * sd.max()))

    def summary(self, vectors, level=0.95) -> list[dict]:
        """Posterior mean and standard deviation of each arm's weights."""
        mean, cov = self.moments(vectors)
        sd = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
        return [{"weights_mean": mean[k].tolist(), "weights_sd": sd[k].tolist()}
                for k in range(self.n_arms)]

    def to_config(self) -> dict:
        config = {**self._base_config(), "n_features": self.n_features,
                  "prior_var": self.prior_var, "noise_var": self.noise_var,
                  "feature_names": list(self.feature_names) if self.feature_names else None}
        if self.arm_prior_vars is not None:
            config["arm_prior_vars"] = list(self.arm_prior_vars)
        return config

    @classmethod
    def from_config(cls, config):
        names = config.get("feature_names")
        pv = config.get("arm_prior_vars")
        return cls(tuple(config["arms"]), n_features=config["n_features"],
                   prior_var=config["prior_var"], noise_var=config["noise_var"],
                   binary=config["binary"], bucket_seconds=config["bucket_seconds"],
                   feature_names=tuple(names) if names else None,
                   arm_prior_vars=None if pv is None else tuple(pv),
                   added_arms=config.get("added_arms", 0))

    def describe(self) -> str:
        return (f"linear, {self.n_arms} arms, {self.n_features} features, "
                f"prior_var {self.prior_var:g}, noise_var {self.noise_var:g}")


