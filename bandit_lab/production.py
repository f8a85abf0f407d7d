"""What changes when a bandit meets production: several objectives, budgets, stopping, new arms.

Taught in notebooks/09_production_concerns.ipynb.

Multiple objectives -- click, purchase given a click, revenue per purchase
    MultiObjectiveTS      Thompson sampling on the *value of an impression*: a Beta belief
                          about the click rate, a Beta belief about the purchase rate among
                          clicks and a Normal-Gamma belief about the revenue per purchase,
                          combined with validated weights. Revenue stays in its own units.
    normal_gamma_update   the conjugate update of a mean with unknown variance, in place
    normal_gamma_mean_samples  draws of that mean from its posterior

Budgets -- every decision costs money
    BudgetedTS            Thompson sampling on sampled reward *per unit cost* among the arms
                          still affordable; tracks spend; ``select()`` raises
                          :class:`BudgetExhausted` once nothing is affordable
    BudgetExhausted       the signal that the budget is spent (a clean end, not a crash)
    budgeted_thompson_scores  the score: Beta draw / cost, -inf where unaffordable

Stopping an experiment
    PosteriorStoppingRule stop when some arm is the best with posterior probability above
                          ``level``, or when choosing the leader costs less than
                          ``loss_threshold`` in expected conversion rate
    StopCheck             what a check found: stop, best arm, P(best), expected loss

Cold start -- a new arm
    beta_prior            "similar offers convert at ~3% and I trust that like 200
                          observations" -> ``(alpha0, beta0) = (6, 194)``
    PerArmPriorTS         Beta-Bernoulli Thompson sampling with a prior of its own per arm
    add_arm               a running bandit plus one new arm with its own prior

Everything random takes ``rng``; every policy here saves its state as JSON
(``get_state`` / ``to_json`` / ``from_state``). Simulations of these policies live in
:mod:`bandit_lab.production_sim`.
"""
from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from . import _state as _saved
from . import scores as _scores
from ._rng import resolve_rng
from ._validation import check_arm, check_int, check_positive, check_probability, check_reward
from .policies import BetaBernoulliTS, Policy
from .posteriors import BetaPosterior

__all__ = [
    "MultiObjectiveTS",
    "normal_gamma_update",
    "normal_gamma_mean_samples",
    "BudgetedTS",
    "BudgetExhausted",
    "budgeted_thompson_scores",
    "PosteriorStoppingRule",
    "StopCheck",
    "beta_prior",
    "PerArmPriorTS",
    "add_arm",
]



# ---------------------------------------------------------------------------------------
# Small checks shared below
# ---------------------------------------------------------------------------------------
def _check_real(name, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} == {value!r} is of type {type(value).__name__}, must be a real number.")
    x = float(value)
    if not np.isfinite(x):
        raise ValueError(f"{name} == {x!r}, must be a finite number.")
    return x


def _check_flag(name, value):
    """A yes/no outcome: bool, or the integers 0 and 1."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (numbers.Integral, np.integer)) and int(value) in (0, 1):
        return bool(value)
    raise TypeError(f"{name} == {value!r} is of type {type(value).__name__}, must be True or False "
                    "(or 1 or 0).")


def _per_arm(name, values, n_arms, *, positive=True):
    """A float array of shape (n_arms,), from a number or a sequence; entries > 0 (or >= 0)."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} == {values!r} is of type {type(values).__name__}, must be a number "
                        f"or a sequence of {n_arms} numbers.") from None
    if arr.ndim == 0:
        arr = np.full(n_arms, float(arr))
    if arr.shape != (n_arms,):
        raise ValueError(f"{name} has shape {arr.shape}, must be a number or a sequence of "
                         f"{n_arms} numbers (one per arm).")
    bad = ~np.isfinite(arr) | ((arr <= 0) if positive else (arr < 0))
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(f"{name}[{k}] == {float(arr[k])!r}, must be a finite number "
                         f"{'> 0' if positive else '>= 0'}.")
    return arr


def _load_state(cls, state):
    """Parse and check the envelope written by ``get_state``; return (params, arrays)."""
    state = _saved.open_envelope(state, made_by=cls.__name__)
    _saved.pick_class(state, {cls.__name__: cls})
    return dict(state["params"]), state["state"]


def _set_arrays(policy, arrays):
    for key, arr in _saved.load_arrays(policy, arrays, policy._state_names).items():
        setattr(policy, key, arr if arr.ndim else float(arr))


# ---------------------------------------------------------------------------------------
# Multiple objectives
# ---------------------------------------------------------------------------------------
def normal_gamma_update(mu, kappa, shape, rate, arms, values, runs=None):
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


def normal_gamma_mean_samples(mu, kappa, shape, rate, rng):
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
        raise TypeError(f"weights is of type {type(weights).__name__}, must be a dict with keys "
                        f"among {list(_OBJECTIVES)}.")
    unknown = [k for k in weights if k not in _OBJECTIVES]
    if unknown:
        raise ValueError(f"weights has the key(s) {unknown}, must use only {list(_OBJECTIVES)}.")
    out = {}
    for k in _OBJECTIVES:
        w = _check_real(f"weights[{k!r}]", weights.get(k, 0.0))
        if w < 0:
            raise ValueError(f"weights[{k!r}] == {w!r}, must be >= 0 (a value per click, per "
                             "purchase, or a share of revenue).")
        out[k] = w
    if not any(out.values()):
        raise ValueError(f"weights == {weights!r}, must give at least one objective a weight > 0.")
    return out


class MultiObjectiveTS(_saved.Saved):
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

    _state_names = ("click_alpha_", "click_beta_", "purchase_alpha_", "purchase_beta_",
                    "revenue_mu_", "revenue_kappa_", "revenue_shape_", "revenue_rate_")

    def __init__(self, n_arms, *, weights=None, click_prior=(1.0, 1.0), purchase_prior=(1.0, 1.0),
                 revenue_mean0=100.0, revenue_sd0=100.0, revenue_strength0=1.0, rng=None):
        self.n_arms = check_int("n_arms", n_arms, minimum=1)
        self.weights = _check_weights(weights)
        self.click_prior = self._check_prior("click_prior", click_prior)
        self.purchase_prior = self._check_prior("purchase_prior", purchase_prior)
        self.revenue_mean0 = _check_real("revenue_mean0", revenue_mean0)
        self.revenue_sd0 = check_positive("revenue_sd0", revenue_sd0)
        self.revenue_strength0 = check_positive("revenue_strength0", revenue_strength0)
        self.rng = rng
        self._rng = resolve_rng(rng)
        self.reset()

    @staticmethod
    def _check_prior(name, prior):
        if not isinstance(prior, (tuple, list)) or len(prior) != 2:
            raise TypeError(f"{name} == {prior!r} is of type {type(prior).__name__}, must be a pair "
                            "(alpha0, beta0).")
        return (check_positive(f"{name}[0]", prior[0]), check_positive(f"{name}[1]", prior[1]))

    def get_params(self):
        """The hyper-parameters, as a dict of plain Python values."""
        return {"n_arms": self.n_arms, "weights": dict(self.weights),
                "click_prior": list(self.click_prior), "purchase_prior": list(self.purchase_prior),
                "revenue_mean0": self.revenue_mean0, "revenue_sd0": self.revenue_sd0,
                "revenue_strength0": self.revenue_strength0}

    # -- the three pieces the simulator uses ------------------------------------------
    def initial_state(self, shape=()):
        """Fresh state arrays of shape ``shape + (n_arms,)``."""
        full = tuple(shape) + (self.n_arms,)
        s = self.revenue_strength0
        values = (self.click_prior[0], self.click_prior[1], self.purchase_prior[0],
                  self.purchase_prior[1], self.revenue_mean0, s, 1.0 + s / 2.0,
                  self.revenue_sd0 ** 2 * s / 2.0)
        return {name: np.full(full, v) for name, v in zip(self._state_names, values)}

    def scores(self, state, rng):
        """One draw of the value of an impression per arm (arms on the last axis)."""
        c = rng.beta(state["click_alpha_"], state["click_beta_"])
        p = rng.beta(state["purchase_alpha_"], state["purchase_beta_"])
        m = normal_gamma_mean_samples(state["revenue_mu_"], state["revenue_kappa_"],
                                      state["revenue_shape_"], state["revenue_rate_"], rng)
        w = self.weights
        return c * (w["click"] + p * (w["purchase"] + w["revenue"] * np.maximum(m, 0.0)))

    def update_state(self, state, arms, clicked, purchased, revenue, runs=None):
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
            arms, clicked, purchased, revenue = (np.reshape(a, 1) for a in (arms, clicked, purchased, revenue))
            runs = None
        rows = np.arange(arms.shape[0]) if runs is None else np.asarray(runs)
        _scores.beta_update(state["click_alpha_"], state["click_beta_"], arms,
                            clicked.astype(float), rows)
        if clicked.any():
            _scores.beta_update(state["purchase_alpha_"], state["purchase_beta_"], arms[clicked],
                                purchased[clicked].astype(float), rows[clicked])
        if purchased.any():
            normal_gamma_update(state["revenue_mu_"], state["revenue_kappa_"], state["revenue_shape_"],
                                state["revenue_rate_"], arms[purchased], revenue[purchased],
                                rows[purchased])

    # -- what a learner calls ------------------------------------------------------------
    def reset(self):
        """Forget everything learned; return ``self``."""
        for name, value in self.initial_state(()).items():
            setattr(self, name, value)
        return self

    def select(self):
        """Choose an arm: the highest sampled value of an impression, ties broken at random."""
        return int(_scores.argmax_random(self.scores(self._state(), self._rng), self._rng))

    @staticmethod
    def _check_outcome(clicked, purchased, revenue, suffix=""):
        clicked = _check_flag(f"clicked{suffix}", clicked)
        purchased = _check_flag(f"purchased{suffix}", purchased)
        if purchased and not clicked:
            raise ValueError(f"purchased{suffix} == True with clicked{suffix} == False, must follow a "
                             "click (purchase rates are counted among clicks).")
        if purchased:
            if revenue is None:
                raise ValueError(f"revenue{suffix} == None for a purchase, must be the amount it brought.")
            revenue = _check_real(f"revenue{suffix}", revenue)
            if revenue < 0:
                raise ValueError(f"revenue{suffix} == {revenue!r}, must be >= 0.")
        elif revenue is not None:
            raise ValueError(f"revenue{suffix} == {revenue!r} given with purchased{suffix} == False, "
                             "must be None: revenue is recorded only for a purchase.")
        return clicked, purchased, 0.0 if revenue is None else revenue

    def update(self, arm, *, clicked, purchased=False, revenue=None):
        """Learn from one impression of ``arm``; return ``self``.

        ``clicked`` and ``purchased`` are yes/no; a purchase needs a click and a ``revenue``
        (>= 0, in its own units); without a purchase ``revenue`` must be None.
        """
        arm = check_arm(arm, self.n_arms)
        c, p, r = self._check_outcome(clicked, purchased, revenue)
        self.update_state(self._state(), np.asarray(arm), c, p, r)
        return self

    def update_many(self, arms, clicked, purchased, revenue):
        """Learn from several impressions at once; the result does not depend on their order.

        ``revenue`` holds a number for each purchase and None (or NaN) otherwise.
        """
        arms = np.asarray(arms)
        n = arms.shape[0] if arms.ndim == 1 else -1
        seqs = [list(clicked), list(purchased), list(revenue)]
        if arms.ndim != 1 or any(len(s) != n for s in seqs):
            raise ValueError(f"arms, clicked, purchased and revenue have lengths {arms.shape} and "
                             f"{[len(s) for s in seqs]}, must be 1-D and of the same length.")
        for i in range(n):
            a = check_arm(arms[i].item(), self.n_arms, name=f"arms[{i}]")
            r = revenue[i]
            r = None if r is None or (isinstance(r, float) and np.isnan(r)) else r
            c, p, r = self._check_outcome(clicked[i], purchased[i], r, suffix=f"[{i}]")
            self.update_state(self._state(), np.asarray(a), c, p, r)
        return self

    def expected_value(self):
        """Posterior mean of the value of an impression, per arm (the three beliefs are
        independent, so the mean of the product is the product of the means)."""
        c = self.click_alpha_ / (self.click_alpha_ + self.click_beta_)
        p = self.purchase_alpha_ / (self.purchase_alpha_ + self.purchase_beta_)
        m = self.revenue_mu_
        w = self.weights
        return c * (w["click"] + p * (w["purchase"] + w["revenue"] * m))

    # -- state as plain data -------------------------------------------------------------
    @classmethod
    def from_state(cls, state, *, rng=None):
        """Rebuild a policy saved by :meth:`get_state` (or its JSON text)."""
        params, arrays = _load_state(cls, state)
        params["click_prior"] = tuple(params["click_prior"])
        params["purchase_prior"] = tuple(params["purchase_prior"])
        policy = cls(params.pop("n_arms"), rng=rng, **params)
        _set_arrays(policy, arrays)
        return policy

    def __repr__(self):
        w = ", ".join(f"{k}={v:g}" for k, v in self.weights.items() if v)
        return f"MultiObjectiveTS({self.n_arms}, weights: {w})"


# ---------------------------------------------------------------------------------------
# Budgets
# ---------------------------------------------------------------------------------------
class BudgetExhausted(RuntimeError):
    """Raised by :meth:`BudgetedTS.select` when no arm is affordable any more.

    Not an error in the data: the signal that the campaign is over. Check
    :attr:`BudgetedTS.exhausted` before selecting to avoid it.
    """


def budgeted_thompson_scores(alpha, beta, costs, remaining, rng):
    """Sampled success rate per unit cost; ``-inf`` for an arm that costs more than is left.

    ``alpha``, ``beta`` (..., K); ``costs`` (K,); ``remaining`` (...) the budget left per run.
    Maximising conversions for a budget is a knapsack: with rates known, the best plan spends
    everything on the arm with the highest rate / cost. Thompson sampling uses a posterior
    draw of the rate in its place.

    Taught in notebooks/09_production_concerns.ipynb.

    >>> import numpy as np
    >>> s = budgeted_thompson_scores(np.array([50., 50.]), np.array([50., 50.]),
    ...                              np.array([1.0, 3.0]), 2.0, np.random.default_rng(0))
    >>> bool(np.isfinite(s[0])), bool(np.isneginf(s[1]))    # arm 1 costs 3 > 2 left
    (True, True)
    """
    draws = _scores.thompson_scores(alpha, beta, rng)
    affordable = np.asarray(costs) <= np.asarray(remaining, dtype=float)[..., None] + _COST_TOL
    return np.where(affordable, draws / np.asarray(costs), -np.inf)


_COST_TOL = 1e-9  # spend is a sum of floats: 10 x 0.1 must still afford a 1.0 budget's last 0.1


class BudgetedTS(_saved.Saved):
    """Thompson sampling under a budget: conversions per unit cost among affordable arms.

    Each decision costs ``costs[arm]`` (a mailing, a bonus, a paid placement) and the
    campaign has ``budget`` to spend. The policy samples each arm's rate from its Beta
    posterior and picks the highest *rate / cost* among the arms it can still afford.

    The end is clean and documented: :meth:`select` charges the arm's cost at once (the
    offer is made, the money is spent) and, once no arm is affordable, raises
    :class:`BudgetExhausted` instead of returning a value that breaks the next call.
    :meth:`update` only learns and never refuses a reward: the reward of an offer already
    paid for may arrive after the budget is spent. Loop ``while not policy.exhausted``.

    Taught in notebooks/09_production_concerns.ipynb.

    Parameters
    ----------
    n_arms : int
    costs : float or sequence of float > 0
        Cost of one decision for each arm.
    budget : float > 0
    alpha0, beta0 : float > 0, default 1.0
    rng : None, int or numpy.random.Generator

    Attributes
    ----------
    alpha_, beta_ : ndarray (n_arms,)
        The Beta posterior of every arm's rate.
    pulls_ : ndarray (n_arms,)
        Decisions made (and paid for) per arm.
    spent_ : float

    Examples
    --------
    >>> bt = BudgetedTS(2, costs=[1.0, 4.0], budget=5.0, rng=0)
    >>> while not bt.exhausted:
    ...     arm = bt.select()
    ...     _ = bt.update(arm, 0.0)
    >>> bt.spent_ <= 5.0, bt.remaining < 1.0
    (True, True)
    >>> bt.select()
    Traceback (most recent call last):
    ...
    bandit_lab.production.BudgetExhausted: no arm is affordable: 5 of the budget 5 is spent and the cheapest arm costs 1.
    """

    _state_names = ("alpha_", "beta_", "pulls_", "spent_")

    def __init__(self, n_arms, *, costs, budget, alpha0=1.0, beta0=1.0, rng=None):
        self.n_arms = check_int("n_arms", n_arms, minimum=1)
        self.costs = _per_arm("costs", costs, self.n_arms)
        self.budget = check_positive("budget", budget)
        self.alpha0 = check_positive("alpha0", alpha0)
        self.beta0 = check_positive("beta0", beta0)
        self.rng = rng
        self._rng = resolve_rng(rng)
        self.reset()

    def get_params(self):
        """The hyper-parameters, as a dict of plain Python values."""
        return {"n_arms": self.n_arms, "costs": self.costs.tolist(), "budget": self.budget,
                "alpha0": self.alpha0, "beta0": self.beta0}

    # -- the pieces the simulator uses ----------------------------------------------------
    def initial_state(self, shape=()):
        """Fresh state: Beta parameters and pulls ``shape + (n_arms,)``, spend ``shape``."""
        full = tuple(shape) + (self.n_arms,)
        return {"alpha_": np.full(full, self.alpha0), "beta_": np.full(full, self.beta0),
                "pulls_": np.zeros(full), "spent_": np.zeros(tuple(shape))}

    def scores(self, state, rng):
        """Sampled rate / cost; -inf for the arms the remaining budget cannot pay."""
        return budgeted_thompson_scores(state["alpha_"], state["beta_"], self.costs,
                                        self.budget - state["spent_"], rng)

    def affordable_in(self, state):
        """Which arms each run can still pay for, shape ``spent_.shape + (n_arms,)``."""
        left = self.budget - np.asarray(state["spent_"], dtype=float)
        return self.costs <= left[..., None] + _COST_TOL

    def charge_state(self, state, arms, runs=None):
        """In place: pay for the chosen arm of each run (or of the ``runs`` named)."""
        arms = np.asarray(arms)
        if arms.ndim == 0:
            state["pulls_"][arms] += 1.0
            state["spent_"] = state["spent_"] + self.costs[arms]
            return
        rows = np.arange(arms.shape[0]) if runs is None else np.asarray(runs)
        state["pulls_"][rows, arms] += 1.0
        state["spent_"][rows] += self.costs[arms]

    def update_state(self, state, arms, rewards, runs=None):
        """In place: the Beta update of the chosen arm of each run."""
        _scores.beta_update(state["alpha_"], state["beta_"], arms, rewards, runs)

    # -- what a learner calls ------------------------------------------------------------
    def reset(self):
        """Forget everything learned and refill the budget; return ``self``."""
        st = self.initial_state(())
        self.alpha_, self.beta_, self.pulls_ = st["alpha_"], st["beta_"], st["pulls_"]
        self.spent_ = 0.0
        return self

    @property
    def remaining(self):
        """Budget not yet spent."""
        return self.budget - self.spent_

    def affordable(self):
        """Boolean array: the arms whose cost the remaining budget still covers."""
        return self.costs <= self.remaining + _COST_TOL

    @property
    def exhausted(self):
        """True once no arm is affordable: the campaign is over."""
        return not self.affordable().any()

    def select(self):
        """Choose an affordable arm by sampled rate per unit cost and pay for it.

        Raises
        ------
        BudgetExhausted
            When no arm is affordable (check :attr:`exhausted` first).
        """
        if self.exhausted:
            raise BudgetExhausted(f"no arm is affordable: {self.spent_:g} of the budget {self.budget:g} "
                                  f"is spent and the cheapest arm costs {self.costs.min():g}.")
        state = self._state()
        arm = int(_scores.argmax_random(self.scores(state, self._rng), self._rng))
        self.charge_state(state, np.asarray(arm))
        self.spent_ = float(state["spent_"])
        return arm

    def update(self, arm, reward):
        """Learn from one reward in [0, 1] for ``arm`` (already paid for); return ``self``."""
        arm = check_arm(arm, self.n_arms)
        reward = check_reward(reward)
        _scores.beta_update(self.alpha_, self.beta_, np.asarray(arm), np.asarray(reward))
        return self

    def posterior(self):
        """The belief about every arm's rate, as a :class:`BetaPosterior`."""
        return BetaPosterior(self.alpha_, self.beta_)

    # -- state as plain data -------------------------------------------------------------
    @classmethod
    def from_state(cls, state, *, rng=None):
        """Rebuild a policy saved by :meth:`get_state` (or its JSON text)."""
        params, arrays = _load_state(cls, state)
        policy = cls(params.pop("n_arms"), rng=rng, **params)
        _set_arrays(policy, arrays)
        if not 0.0 <= policy.spent_ <= policy.budget + _COST_TOL:
            raise ValueError(f"state['state']['spent_'] == {policy.spent_!r}, must be in "
                             f"[0, budget == {policy.budget!r}].")
        return policy

    def _state(self):
        return {"alpha_": self.alpha_, "beta_": self.beta_, "pulls_": self.pulls_,
                "spent_": np.asarray(self.spent_)}

    def __repr__(self):
        return f"BudgetedTS({self.n_arms}, costs={self.costs.tolist()}, budget={self.budget:g})"


# ---------------------------------------------------------------------------------------
# Stopping
# ---------------------------------------------------------------------------------------
class StopCheck(NamedTuple):
    """What :meth:`PosteriorStoppingRule.check` found (arrays carry leading run axes)."""

    stop: bool | np.ndarray
    best_arm: int | np.ndarray
    prob_best: np.ndarray
    expected_loss: np.ndarray


_DRAW_BLOCK = 2_000_000  # largest (draws x runs x arms) block held at once


class PosteriorStoppingRule:
    """Stop a bandit experiment on what the posterior says, not on overlapping intervals.

    Give exactly one criterion:

    - ``level``: stop when some arm is the best with posterior probability > ``level``;
      that arm is the choice;
    - ``loss_threshold``: stop when choosing the arm with the smallest *expected loss*
      (E[best rate - its rate]) gives up less than ``loss_threshold`` (on the rate scale).
      Unlike ``level``, it also stops when two arms are too close to matter.

    Both quantities are Monte Carlo estimates from ``n_samples`` joint draws of the Beta
    posteriors (drawn with :meth:`BetaPosterior.sample`); their standard error is at most
    ``0.5 / sqrt(n_samples)`` for P(best). Unlike a rule that waits for every arm to
    reach a minimum number of pulls, neither needs the bad arms to be pulled: Thompson
    sampling starves them, and a starved arm is one the posterior is already sure about.

    Taught in notebooks/09_production_concerns.ipynb.

    Parameters
    ----------
    level : float in (0, 1), optional
    loss_threshold : float > 0, optional
    n_samples : int >= 100, default 4000
    rng : None, int or numpy.random.Generator

    Examples
    --------
    >>> import numpy as np
    >>> rule = PosteriorStoppingRule(level=0.95, rng=0)
    >>> alpha = np.array([31.0, 46.0, 61.0])          # 30, 45, 60 conversions ...
    >>> beta = np.array([971.0, 956.0, 941.0])        # ... out of 1000 each
    >>> rule(alpha, beta)
    (False, 2)
    >>> check = rule.check(alpha + [0, 0, 200], beta + [0, 0, 2800])   # arm 2: 3000 more pulls
    >>> check.stop, check.best_arm, bool(check.prob_best[2] > 0.95)
    (True, 2, True)
    """

    def __init__(self, *, level=None, loss_threshold=None, n_samples=4000, rng=None):
        if (level is None) == (loss_threshold is None):
            raise ValueError(f"level == {level!r} and loss_threshold == {loss_threshold!r}, must give "
                             "exactly one of them.")
        self.level = None if level is None else check_probability("level", level, open_low=True,
                                                                  open_high=True)
        self.loss_threshold = None if loss_threshold is None else check_positive("loss_threshold",
                                                                                 loss_threshold)
        self.n_samples = check_int("n_samples", n_samples, minimum=100)
        self.rng = rng
        self._rng = resolve_rng(rng)

    def check(self, alpha, beta):
        """Evaluate the rule on Beta posteriors (arms on the last axis; leading axes are
        separate experiments); return a :class:`StopCheck`."""
        post = BetaPosterior(alpha, beta)
        a, b = post.alpha, post.beta
        if a.ndim == 0:
            raise ValueError("alpha and beta are scalars, must hold one entry per arm (last axis).")
        k = a.shape[-1]
        flat_a, flat_b = a.reshape(-1, k), b.reshape(-1, k)
        rows = max(1, _DRAW_BLOCK // (self.n_samples * k))
        prob = np.empty(flat_a.shape)
        loss = np.empty(flat_a.shape)
        for start in range(0, flat_a.shape[0], rows):
            part = BetaPosterior(flat_a[start:start + rows], flat_b[start:start + rows])
            draws = part.sample(self.n_samples, rng=self._rng)      # (n_samples, rows, K)
            winners = draws.argmax(axis=-1)
            prob[start:start + rows] = np.stack([(winners == j).mean(axis=0) for j in range(k)], -1)
            loss[start:start + rows] = (draws.max(axis=-1, keepdims=True) - draws).mean(axis=0)
        prob, loss = prob.reshape(a.shape), loss.reshape(a.shape)
        if self.level is not None:
            best = prob.argmax(axis=-1)
            stop = prob.max(axis=-1) > self.level
        else:
            best = loss.argmin(axis=-1)
            stop = loss.min(axis=-1) < self.loss_threshold
        if stop.ndim == 0:
            return StopCheck(bool(stop), int(best), prob, loss)
        return StopCheck(stop, best, prob, loss)

    def __call__(self, alpha, beta):
        """``(stop, choice)``: whether to stop, and the arm to keep (per experiment)."""
        c = self.check(alpha, beta)
        return c.stop, c.best_arm

    def __repr__(self):
        what = f"level={self.level:g}" if self.level is not None else f"loss_threshold={self.loss_threshold:g}"
        return f"PosteriorStoppingRule({what})"


# ---------------------------------------------------------------------------------------
# Cold start
# ---------------------------------------------------------------------------------------
def beta_prior(mean, strength):
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
            raise TypeError(f"{name} == {value!r} is of type {type(value).__name__}, must be a number "
                            "or a 1-D sequence of numbers.")
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(f"{name} == {value!r} is of type {type(value).__name__}, must be a number "
                            "or a 1-D sequence of numbers.") from None
        if arr.ndim > 1:
            raise ValueError(f"{name} has shape {arr.shape}, must be a number or a 1-D sequence.")
        arrays[name] = arr
    m, s = arrays["mean"], arrays["strength"]
    bad = ~np.isfinite(m) | (m <= 0) | (m >= 1)
    if bad.any():
        raise ValueError(f"mean == {float(np.atleast_1d(m)[np.atleast_1d(bad)][0])!r}, must be in (0, 1).")
    bad = ~np.isfinite(s) | (s <= 0)
    if bad.any():
        raise ValueError(f"strength == {float(np.atleast_1d(s)[np.atleast_1d(bad)][0])!r}, "
                         "must be a finite number > 0 (observations' worth).")
    if m.ndim and s.ndim and m.shape != s.shape:
        raise ValueError(f"mean and strength have shapes {m.shape} and {s.shape}, must match "
                         "(or one be a single number).")
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

    def __init__(self, n_arms, *, alpha0=1.0, beta0=1.0, rng=None):
        n_arms = check_int("n_arms", n_arms, minimum=1)
        self.alpha0 = _per_arm("alpha0", alpha0, n_arms)
        self.beta0 = _per_arm("beta0", beta0, n_arms)
        Policy.__init__(self, n_arms, rng=rng)

    def get_params(self):
        return {"n_arms": self.n_arms, "alpha0": self.alpha0.tolist(), "beta0": self.beta0.tolist()}

    def initial_state(self, shape=()):
        full = tuple(shape) + (self.n_arms,)
        return {"alpha_": np.broadcast_to(self.alpha0, full).copy(),
                "beta_": np.broadcast_to(self.beta0, full).copy()}


def add_arm(policy, *, alpha0=1.0, beta0=1.0):
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
        raise TypeError(f"policy is of type {type(policy).__name__}, must be a BetaBernoulliTS "
                        "(or PerArmPriorTS).")
    a0 = check_positive("alpha0", alpha0)
    b0 = check_positive("beta0", beta0)
    old_a = np.broadcast_to(np.asarray(policy.alpha0, dtype=float), (policy.n_arms,))
    old_b = np.broadcast_to(np.asarray(policy.beta0, dtype=float), (policy.n_arms,))
    new = PerArmPriorTS(policy.n_arms + 1, alpha0=np.append(old_a, a0), beta0=np.append(old_b, b0),
                        rng=policy._rng)
    new.alpha_ = np.append(policy.alpha_, a0)
    new.beta_ = np.append(policy.beta_, b0)
    return new
