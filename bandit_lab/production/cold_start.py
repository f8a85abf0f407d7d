"""Cold start: a new arm with a prior of its own, in a running bandit.

Taught in notebooks/09_production_concerns.ipynb.

    beta_prior      "similar offers convert at ~3% and I trust that like 200 observations"
                    -> ``(alpha0, beta0) = (6, 194)``
    PerArmPriorTS   Beta-Bernoulli Thompson sampling with a prior of its own per arm
    add_arm         a running bandit plus one new arm with its own prior
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._rng import RNGLike
from .._validation import check_int, check_per_arm, check_positive
from ..policies import BetaBernoulliTS, Policy

__all__ = ["beta_prior", "PerArmPriorTS", "add_arm"]


def beta_prior(
    mean: float | ArrayLike, strength: float | ArrayLike
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """The Beta prior with a given mean, worth ``strength`` observations.

    "Similar offers convert at about 3%, and I trust that as much as 200 observations"
    is ``beta_prior(0.03, 200)``: ``alpha0 = mean * strength`` pseudo-successes and
    ``beta0 = (1 - mean) * strength`` pseudo-failures. A strong prior at the wrong rate
    takes about ``strength`` real observations to overcome; an *optimistic* prior (mean
    above the rates you expect) should therefore be *weak* (small ``strength``), so the
    new arm is tried early and dropped quickly if it disappoints. Arrays give one prior
    per arm.

    Taught in notebooks/09_production_concerns.ipynb.

    Returns
    -------
    (alpha0, beta0) : floats, or arrays for array input

    Examples
    --------
    >>> beta_prior(0.03, 200)
    (6.0, 194.0)
    >>> a, b = beta_prior([0.03, 0.10], [200, 10])
    >>> a.tolist(), b.tolist()
    ([6.0, 1.0], [194.0, 9.0])
    """
    arrays = {}
    for name, value in (("mean", mean), ("strength", strength)):
        if isinstance(value, (str, bytes, bool, np.bool_)):
            raise TypeError(
                f"{name} == {value!r} is of type {type(value).__name__}, must be a number "
                "or a 1-D sequence of numbers."
            )
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(
                f"{name} == {value!r} is of type {type(value).__name__}, must be a number "
                "or a 1-D sequence of numbers."
            ) from None
        if arr.ndim > 1:
            raise ValueError(f"{name} has shape {arr.shape}, must be a number or a 1-D sequence.")
        arrays[name] = arr
    m, s = arrays["mean"], arrays["strength"]
    bad = ~np.isfinite(m) | (m <= 0) | (m >= 1)
    if bad.any():
        raise ValueError(
            f"mean == {float(np.atleast_1d(m)[np.atleast_1d(bad)][0])!r}, must be in (0, 1)."
        )
    bad = ~np.isfinite(s) | (s <= 0)
    if bad.any():
        raise ValueError(
            f"strength == {float(np.atleast_1d(s)[np.atleast_1d(bad)][0])!r}, "
            "must be a finite number > 0 (observations' worth)."
        )
    if m.ndim and s.ndim and m.shape != s.shape:
        raise ValueError(
            f"mean and strength have shapes {m.shape} and {s.shape}, must match "
            "(or one be a single number)."
        )
    m, s = np.broadcast_arrays(m, s)
    a, b = m * s, (1.0 - m) * s
    if a.ndim == 0:
        return float(a), float(b)
    return a.copy(), b.copy()


class PerArmPriorTS(BetaBernoulliTS):
    """Beta-Bernoulli Thompson sampling with a prior of its own for each arm.

    Identical to :class:`bandit_lab.BetaBernoulliTS` except that ``alpha0`` and ``beta0``
    may be sequences (one prior per arm): an arm launched yesterday can start from what
    similar offers taught, next to arms with years of data. It runs in
    :func:`bandit_lab.simulate` and saves to JSON like any policy.

    Taught in notebooks/09_production_concerns.ipynb.

    Parameters
    ----------
    n_arms : int
    alpha0, beta0 : float or sequence of float > 0
    rng : None, int or numpy.random.Generator

    Examples
    --------
    >>> ts = PerArmPriorTS(3, alpha0=[1.0, 1.0, 6.0], beta0=[1.0, 1.0, 194.0], rng=0)
    >>> ts.posterior().mean.round(3).tolist()
    [0.5, 0.5, 0.03]
    >>> Policy.from_state(ts.to_json()).alpha_.tolist()
    [1.0, 1.0, 6.0]
    """

    def __init__(
        self,
        n_arms: int,
        *,
        alpha0: float | ArrayLike = 1.0,
        beta0: float | ArrayLike = 1.0,
        rng: RNGLike = None,
    ) -> None:
        n_arms = check_int("n_arms", n_arms, minimum=1)
        self.alpha0 = check_per_arm("alpha0", alpha0, n_arms)
        self.beta0 = check_per_arm("beta0", beta0, n_arms)
        Policy.__init__(self, n_arms, rng=rng)

    def initial_state(self, shape: tuple[int, ...] = ()) -> dict[str, np.ndarray]:
        full = tuple(shape) + (self.n_arms,)
        return {
            "alpha_": np.broadcast_to(self.alpha0, full).copy(),
            "beta_": np.broadcast_to(self.beta0, full).copy(),
        }


def add_arm(policy: BetaBernoulliTS, *, alpha0: float = 1.0, beta0: float = 1.0) -> PerArmPriorTS:
    """A copy of a running Beta-Bernoulli bandit with one more arm, last, with its own prior.

    The old arms keep their posteriors (and their priors, for :meth:`reset`); the new arm
    starts at Beta(alpha0, beta0), e.g. from :func:`beta_prior`. The copy draws from the
    same random stream as ``policy``; ``policy`` itself is not changed.

    Taught in notebooks/09_production_concerns.ipynb.

    Parameters
    ----------
    policy : BetaBernoulliTS (or PerArmPriorTS)
    alpha0, beta0 : float > 0

    Returns
    -------
    PerArmPriorTS with ``policy.n_arms + 1`` arms

    Examples
    --------
    >>> from bandit_lab import BetaBernoulliTS
    >>> old = BetaBernoulliTS(2, rng=0).update(0, 1.0).update(1, 0.0)
    >>> new = add_arm(old, alpha0=6.0, beta0=194.0)
    >>> new.n_arms, new.alpha_.tolist(), new.beta_.tolist()
    (3, [2.0, 1.0, 6.0], [1.0, 2.0, 194.0])
    """
    if not isinstance(policy, BetaBernoulliTS):
        raise TypeError(
            f"policy is of type {type(policy).__name__}, must be a BetaBernoulliTS "
            "(or PerArmPriorTS)."
        )
    a0 = check_positive("alpha0", alpha0)
    b0 = check_positive("beta0", beta0)
    old_a = np.broadcast_to(np.asarray(policy.alpha0, dtype=float), (policy.n_arms,))
    old_b = np.broadcast_to(np.asarray(policy.beta0, dtype=float), (policy.n_arms,))
    new = PerArmPriorTS(
        policy.n_arms + 1, alpha0=np.append(old_a, a0), beta0=np.append(old_b, b0), rng=policy._rng
    )
    new.alpha_ = np.append(policy.alpha_, a0)
    new.beta_ = np.append(policy.beta_, b0)
    return new
