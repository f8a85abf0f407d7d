"""Several objectives: Thompson sampling on the value of an impression (click, purchase, revenue).

Taught in notebooks/09_production_concerns.ipynb.

    MultiObjectiveTS           a Beta belief about the click rate, a Beta belief about the
                               purchase rate among clicks and a Normal-Gamma belief about the
                               revenue per purchase, combined with validated weights
    normal_gamma_update        the conjugate update of a mean with unknown variance, in place
    normal_gamma_mean_samples  draws of that mean from its posterior
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .. import scores as _scores
from .._base import BasePolicy
from .._rng import RNGLike
from .._validation import check_arm, check_flag, check_positive, check_real
from ..scores import argmax_one

__all__ = ["MultiObjectiveTS", "normal_gamma_update", "normal_gamma_mean_samples"]


def normal_gamma_update(
    mu: np.ndarray,
    kappa: np.ndarray,
    shape: np.ndarray,
    rate: np.ndarray,
    arms: ArrayLike,
    values: ArrayLike,
    runs: ArrayLike | None = None,
) -> None:
    """Conjugate Normal-Gamma update in place, one observation per run, for the chosen arm.

    The model: values ~ Normal(m, 1 / tau) with ``tau ~ Gamma(shape, rate)`` and
    ``m | tau ~ Normal(mu, 1 / (kappa tau))``. One value ``x`` changes the chosen arm's
    parameters to::

        kappa' = kappa + 1
        mu'    = mu + (x - mu) / kappa'
        shape' = shape + 1/2
        rate'  = rate + kappa (x - mu)**2 / (2 kappa')

    which, applied one value after another in any order, gives the batch posterior after
    ``n`` values with mean ``xbar`` and sum of squares ``S`` about it:
    ``kappa0 + n``, ``(kappa0 mu0 + n xbar) / (kappa0 + n)``, ``shape0 + n/2`` and
    ``rate0 + S/2 + kappa0 n (xbar - mu0)**2 / (2 (kappa0 + n))``.

    ``mu``, ``kappa``, ``shape``, ``rate`` have arms on the last axis; ``arms`` and
    ``values`` one entry per run (or scalars for a single bandit); ``runs`` names the runs
    updated (each at most once), by default all.

    Taught in notebooks/09_production_concerns.ipynb.

    >>> import numpy as np
    >>> mu, kappa, shape, rate = np.zeros(1), np.ones(1), np.ones(1), np.ones(1)
    >>> for x in (2.0, 4.0):
    ...     normal_gamma_update(mu, kappa, shape, rate, 0, x)
    >>> mu.tolist(), kappa.tolist(), shape.tolist(), rate.tolist()   # batch: n=2, xbar=3, S=2
    ([2.0], [3.0], [2.0], [5.0])
    """
    arms = np.asarray(arms)
    x = np.asarray(values, dtype=float)
    if arms.ndim == 0:
        idx = (Ellipsis, arms)
    elif runs is None:
        idx = _scores.arm_index(arms)
    else:
        idx = (np.asarray(runs), arms)
    m0, k0 = mu[idx], kappa[idx]
    k1 = k0 + 1.0
    d = x - m0
    mu[idx] = m0 + d / k1
    kappa[idx] = k1
    shape[idx] = shape[idx] + 0.5
    rate[idx] = rate[idx] + k0 * d * d / (2.0 * k1)


def normal_gamma_mean_samples(
    mu: ArrayLike, kappa: ArrayLike, shape: ArrayLike, rate: ArrayLike, rng: np.random.Generator
) -> np.ndarray:
    """One draw of the mean ``m`` per arm from its Normal-Gamma posterior.

    Draws the precision ``tau ~ Gamma(shape, rate)``, then ``m ~ Normal(mu, 1/(kappa tau))``:
    marginally a Student t with ``2 shape`` degrees of freedom around ``mu``.

    Taught in notebooks/09_production_concerns.ipynb.

    >>> import numpy as np
    >>> draws = normal_gamma_mean_samples(np.full(20_000, 50.0), np.full(20_000, 100.0),
    ...                                   np.full(20_000, 51.0), np.full(20_000, 5000.0),
    ...                                   np.random.default_rng(0))
    >>> bool(abs(draws.mean() - 50.0) < 0.1), bool(0.9 < draws.std() < 1.1)   # sd ~ 10 / sqrt(100)
    (True, True)
    """
    tau = rng.gamma(shape, 1.0 / rate)
    return mu + rng.standard_normal(np.shape(mu)) / np.sqrt(kappa * tau)


_OBJECTIVES = ("click", "purchase", "revenue")


def _check_weights(weights):
    if weights is None:
        return {"click": 0.0, "purchase": 0.0, "revenue": 1.0}
    if not isinstance(weights, dict):
        raise TypeError(
            f"weights is of type {type(weights).__name__}, must be a dict with keys "
            f"among {list(_OBJECTIVES)}."
        )
    unknown = [k for k in weights if k not in _OBJECTIVES]
    if unknown:
        raise ValueError(f"weights has the key(s) {unknown}, must use only {list(_OBJECTIVES)}.")
    out = {}
    for k in _OBJECTIVES:
        w = check_real(f"weights[{k!r}]", weights.get(k, 0.0))
        if w < 0:
            raise ValueError(
                f"weights[{k!r}] == {w!r}, must be >= 0 (a value per click, per "
                "purchase, or a share of revenue)."
            )
        out[k] = w
    if not any(out.values()):
        raise ValueError(f"weights == {weights!r}, must give at least one objective a weight > 0.")
    return out


class MultiObjectiveTS(BasePolicy):
    """Thompson sampling on the expected value of an impression: click, purchase, revenue.

    Each arm is a funnel. A customer shown the offer clicks with rate ``c``; a customer who
    clicked buys with rate ``p``; a purchase brings revenue with mean ``m`` (any positive
    amount, in its own units, e.g. dollars). Each quantity has its own conjugate belief:

    - ``c``: Beta, updated by every impression (clicked or not);
    - ``p``: Beta, updated only by impressions that were clicked;
    - ``m``: Normal-Gamma (mean and spread unknown), updated only by purchases, with the
      revenue itself, not squeezed into [0, 1].

    The score of an arm is one posterior draw of the value of an impression::

        weights["click"] * c + weights["purchase"] * c p + weights["revenue"] * c p m

    so with the default weights (revenue only) it is a draw of the expected revenue per
    impression. Weights are per click, per purchase and per unit of revenue (e.g. a margin
    of 0.3); each must be >= 0 and one > 0.

    Taught in notebooks/09_production_concerns.ipynb.

    Parameters
    ----------
    n_arms : int
    weights : dict, default {"click": 0, "purchase": 0, "revenue": 1}
    click_prior, purchase_prior : (alpha0, beta0), default (1.0, 1.0)
    revenue_mean0 : float, default 100.0
        Prior guess of the revenue per purchase.
    revenue_sd0 : float > 0, default 100.0
        Prior guess of the spread of revenue between purchases.
    revenue_strength0 : float > 0, default 1.0
        How many purchases that guess is worth. The Normal-Gamma prior is
        ``mu = revenue_mean0``, ``kappa = revenue_strength0``,
        ``shape = 1 + revenue_strength0 / 2``, ``rate = revenue_sd0**2 * revenue_strength0 / 2``
        (so the prior mean of the variance is ``revenue_sd0**2``).
    rng : None, int or numpy.random.Generator

    Attributes
    ----------
    click_alpha_, click_beta_, purchase_alpha_, purchase_beta_ : ndarray (n_arms,)
    revenue_mu_, revenue_kappa_, revenue_shape_, revenue_rate_ : ndarray (n_arms,)

    Examples
    --------
    >>> mo = MultiObjectiveTS(2, rng=0)
    >>> _ = mo.update(0, clicked=True, purchased=True, revenue=120.0)
    >>> _ = mo.update(1, clicked=True)              # a click, no purchase
    >>> mo.click_alpha_.tolist(), mo.purchase_beta_.tolist()
    ([2.0, 2.0], [1.0, 2.0])
    >>> mo.revenue_mu_.tolist()                     # only arm 0 saw a purchase
    [110.0, 100.0]
    >>> mo.select() in (0, 1)
    True
    """

    _state_names = (
        "click_alpha_",
        "click_beta_",
        "purchase_alpha_",
        "purchase_beta_",
        "revenue_mu_",
        "revenue_kappa_",
        "revenue_shape_",
        "revenue_rate_",
    )

    family = "funnel"

    def __init__(
        self,
        n_arms: int,
        *,
        weights: dict | None = None,
        click_prior: tuple[float, float] = (1.0, 1.0),
        purchase_prior: tuple[float, float] = (1.0, 1.0),
        revenue_mean0: float = 100.0,
        revenue_sd0: float = 100.0,
        revenue_strength0: float = 1.0,
        rng: RNGLike = None,
    ) -> None:
        self.weights = _check_weights(weights)
        self.click_prior = self._check_prior("click_prior", click_prior)
        self.purchase_prior = self._check_prior("purchase_prior", purchase_prior)
        self.revenue_mean0 = check_real("revenue_mean0", revenue_mean0)
        self.revenue_sd0 = check_positive("revenue_sd0", revenue_sd0)
        self.revenue_strength0 = check_positive("revenue_strength0", revenue_strength0)
        super().__init__(n_arms, rng=rng)

    @staticmethod
    def _check_prior(name, prior):
        if not isinstance(prior, (tuple, list)) or len(prior) != 2:
            raise TypeError(
                f"{name} == {prior!r} is of type {type(prior).__name__}, must be a pair "
                "(alpha0, beta0)."
            )
        return (check_positive(f"{name}[0]", prior[0]), check_positive(f"{name}[1]", prior[1]))

    # -- the three pieces the simulator uses ------------------------------------------
    def initial_state(self, shape: tuple[int, ...] = ()) -> dict[str, np.ndarray]:
        """Fresh state arrays of shape ``shape + (n_arms,)``."""
        full = tuple(shape) + (self.n_arms,)
        s = self.revenue_strength0
        values = (
            self.click_prior[0],
            self.click_prior[1],
            self.purchase_prior[0],
            self.purchase_prior[1],
            self.revenue_mean0,
            s,
            1.0 + s / 2.0,
            self.revenue_sd0**2 * s / 2.0,
        )
        return {name: np.full(full, v) for name, v in zip(self._state_names, values)}

    def scores(self, state: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
        """One draw of the value of an impression per arm (arms on the last axis)."""
        c = rng.beta(state["click_alpha_"], state["click_beta_"])
        p = rng.beta(state["purchase_alpha_"], state["purchase_beta_"])
        m = normal_gamma_mean_samples(
            state["revenue_mu_"],
            state["revenue_kappa_"],
            state["revenue_shape_"],
            state["revenue_rate_"],
            rng,
        )
        w = self.weights
        return c * (w["click"] + p * (w["purchase"] + w["revenue"] * np.maximum(m, 0.0)))

    def update_state(
        self,
        state: dict[str, np.ndarray],
        arms: ArrayLike,
        clicked: ArrayLike,
        purchased: ArrayLike,
        revenue: ArrayLike,
        runs: ArrayLike | None = None,
    ) -> None:
        """In place: one impression per run of the chosen arm, with its funnel outcome.

        ``clicked`` and ``purchased`` are booleans, ``revenue`` a number (read only where
        ``purchased``); ``runs`` (simulator only) names the runs updated.
        """
        arms = np.asarray(arms)
        clicked = np.asarray(clicked, dtype=bool)
        purchased = np.asarray(purchased, dtype=bool) & clicked
        revenue = np.asarray(revenue, dtype=float)
        revenue = np.broadcast_to(revenue, arms.shape)
        if arms.ndim == 0:  # a single bandit: view its arrays as one run (views, not copies)
            state = {k: v[None] for k, v in state.items()}
            arms, clicked, purchased, revenue = (
                np.reshape(a, 1) for a in (arms, clicked, purchased, revenue)
            )
            runs = None
        rows = np.arange(arms.shape[0]) if runs is None else np.asarray(runs)
        _scores.beta_update(
            state["click_alpha_"], state["click_beta_"], arms, clicked.astype(float), rows
        )
        if clicked.any():
            _scores.beta_update(
                state["purchase_alpha_"],
                state["purchase_beta_"],
                arms[clicked],
                purchased[clicked].astype(float),
                rows[clicked],
            )
        if purchased.any():
            normal_gamma_update(
                state["revenue_mu_"],
                state["revenue_kappa_"],
                state["revenue_shape_"],
                state["revenue_rate_"],
                arms[purchased],
                revenue[purchased],
                rows[purchased],
            )

    # -- what a learner calls ------------------------------------------------------------
    def select(self) -> int:
        """Choose an arm: the highest sampled value of an impression, ties broken at random."""
        return argmax_one(self.scores(self._state(), self._rng), self._rng)

    @staticmethod
    def _check_outcome(clicked, purchased, revenue, suffix=""):
        clicked = check_flag(f"clicked{suffix}", clicked)
        purchased = check_flag(f"purchased{suffix}", purchased)
        if purchased and not clicked:
            raise ValueError(
                f"purchased{suffix} == True with clicked{suffix} == False, must follow a "
                "click (purchase rates are counted among clicks)."
            )
        if purchased:
            if revenue is None:
                raise ValueError(
                    f"revenue{suffix} == None for a purchase, must be the amount it brought."
                )
            revenue = check_real(f"revenue{suffix}", revenue)
            if revenue < 0:
                raise ValueError(f"revenue{suffix} == {revenue!r}, must be >= 0.")
        elif revenue is not None:
            raise ValueError(
                f"revenue{suffix} == {revenue!r} given with purchased{suffix} == False, "
                "must be None: revenue is recorded only for a purchase."
            )
        return clicked, purchased, 0.0 if revenue is None else revenue

    def update(
        self, arm: int, *, clicked: bool, purchased: bool = False, revenue: float | None = None
    ) -> MultiObjectiveTS:
        """Learn from one impression of ``arm``; return ``self``.

        ``clicked`` and ``purchased`` are yes/no; a purchase needs a click and a ``revenue``
        (>= 0, in its own units); without a purchase ``revenue`` must be None.
        """
        arm = check_arm("arm", arm, self.n_arms)
        c, p, r = self._check_outcome(clicked, purchased, revenue)
        self.update_state(self._state(), np.asarray(arm), c, p, r)
        return self

    def update_many(
        self, arms: ArrayLike, clicked: Any, purchased: Any, revenue: Any
    ) -> MultiObjectiveTS:
        """Learn from several impressions at once; the result does not depend on their order.

        ``revenue`` holds a number for each purchase and None (or NaN) otherwise.
        """
        arms = np.asarray(arms)
        n = arms.shape[0] if arms.ndim == 1 else -1
        seqs = [list(clicked), list(purchased), list(revenue)]
        if arms.ndim != 1 or any(len(s) != n for s in seqs):
            raise ValueError(
                f"arms, clicked, purchased and revenue have lengths {arms.shape} and "
                f"{[len(s) for s in seqs]}, must be 1-D and of the same length."
            )
        for i in range(n):
            a = check_arm(f"arms[{i}]", arms[i].item(), self.n_arms)
            r = revenue[i]
            r = None if r is None or (isinstance(r, float) and np.isnan(r)) else r
            c, p, r = self._check_outcome(clicked[i], purchased[i], r, suffix=f"[{i}]")
            self.update_state(self._state(), np.asarray(a), c, p, r)
        return self

    def expected_value(self) -> np.ndarray:
        """Posterior mean of the value of an impression, per arm (the three beliefs are
        independent, so the mean of the product is the product of the means)."""
        c = self.click_alpha_ / (self.click_alpha_ + self.click_beta_)
        p = self.purchase_alpha_ / (self.purchase_alpha_ + self.purchase_beta_)
        m = self.revenue_mu_
        w = self.weights
        return c * (w["click"] + p * (w["purchase"] + w["revenue"] * m))

    def __repr__(self):
        w = ", ".join(f"{k}={v:g}" for k, v in self.weights.items() if v)
        return f"MultiObjectiveTS({self.n_arms}, weights: {w})"
