"""Contextual bandits: one Bayesian regression model per arm, chosen by what it predicts
for *this* context.

Taught in notebooks/05_contextual_bandits.ipynb and notebooks/06_credit_card_personalisation.ipynb.

Every policy here keeps, for each arm, a Gaussian belief N(mean, cov) about a weight vector
``w`` and scores an arm for a context ``x`` through the scalar ``x . w``. Because ``x . w`` is
itself Gaussian, N(x . mean, x' cov x), a decision needs no matrix factorisation: draw one
normal number per arm (Thompson sampling) or add a multiple of its standard deviation (UCB).
An update is a rank-one correction, O(d^2).

The maths is written as pure functions of the state arrays, like :mod:`bandit_lab.scores`:
``mean`` has shape ``(..., n_arms, n_features)``, ``cov`` ``(..., n_arms, n_features,
n_features)`` and a context ``x`` ``(..., n_features)``, where ``...`` are independent runs
(nothing for a single bandit). The policy objects and the vectorised simulator
(:mod:`bandit_lab.contextual_simulate`) call the very same functions.

    score_moments            mean and variance of x . w for every arm
    linear_ts_scores         Thompson sampling: one draw of x . w per arm
    linucb_scores            LinUCB: x . mean + alpha * sd
    logistic_ts_scores       Thompson sampling for a logistic model
    gaussian_linear_update   the exact Bayesian linear-regression update, in place
    laplace_logistic_update  one-observation Laplace update of a logistic model, in place
"""
from __future__ import annotations

import numbers

import numpy as np
from scipy import linalg as _linalg
from scipy import stats as _stats
from scipy.special import expit as _sigmoid

from . import _state as _saved
from ._rng import resolve_rng
from ._validation import check_arm, check_int, check_positive, check_probability, check_reward
from .linear_posterior import GaussianLinearPosterior
from .scores import argmax_random, arm_index

__all__ = [
    "ContextualPolicy",
    "LinearTS",
    "LinUCB",
    "LogisticTS",
    "score_moments",
    "linear_ts_scores",
    "linucb_scores",
    "logistic_ts_scores",
    "gaussian_linear_update",
    "laplace_logistic_update",
]



# ---------------------------------------------------------------------------------------
# The maths: pure functions of the state arrays (runs as leading axes, arms then features)
# ---------------------------------------------------------------------------------------
def score_moments(mean, cov, x):
    """Mean ``x . mean`` and variance ``x' cov x`` of the score ``x . w`` of every arm.

    ``mean`` (..., K, d), ``cov`` (..., K, d, d), ``x`` (..., d); returns two (..., K) arrays.

    >>> import numpy as np
    >>> m, v = score_moments(np.zeros((2, 3)), np.stack([np.eye(3), 2 * np.eye(3)]), np.ones(3))
    >>> m.tolist(), v.tolist()
    ([0.0, 0.0], [3.0, 6.0])
    """
    xc = np.asarray(x, dtype=float)[..., :, None]    # (..., d, 1): x as a column
    m = (mean @ xc)[..., 0]                          # (..., K)
    k, d = cov.shape[-3], cov.shape[-1]
    # cov x for every arm at once: the arms' covariances stacked as one (K d, d) matrix
    sx = (cov.reshape(cov.shape[:-3] + (k * d, d)) @ xc)[..., 0]
    sx = sx.reshape(sx.shape[:-1] + (k, d))          # (..., K, d)
    v = (sx @ xc)[..., 0]                            # (..., K)
    return m, np.maximum(v, 0.0)


def linear_ts_scores(mean, cov, x, rng):
    """Thompson sampling: each arm's score is one draw of ``x . w`` from its posterior,
    N(x . mean, x' cov x). The same in distribution as drawing the whole weight vector and
    then taking ``x . w``, at the cost of one normal number per arm."""
    m, v = score_moments(mean, cov, x)
    return m + np.sqrt(v) * rng.standard_normal(m.shape)


def linucb_scores(mean, cov, x, alpha):
    """LinUCB (Li et al. 2010): the ridge estimate plus ``alpha`` standard deviations."""
    m, v = score_moments(mean, cov, x)
    return m + alpha * np.sqrt(v)


def logistic_ts_scores(mean, cov, x, rng):
    """Thompson sampling for a logistic model: a draw of the logit ``x . w`` per arm, turned
    into a conversion probability (the sigmoid does not change which arm is highest)."""
    return _sigmoid(linear_ts_scores(mean, cov, x, rng))


def gaussian_linear_update(mean, cov, x, arms, rewards, noise_var):
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
    m0 = mean[idx]                                   # (..., d)
    s0 = cov[idx]                                    # (..., d, d)
    sx = (s0 @ x[..., :, None])[..., 0]              # (..., d)
    denom = noise_var + (sx * x).sum(axis=-1)        # (...,)
    resid = np.asarray(rewards, dtype=float) - (m0 * x).sum(axis=-1)
    mean[idx] = m0 + sx * (resid / denom)[..., None]
    u = sx / np.sqrt(denom)[..., None]               # u u' is exactly symmetric, so is cov
    cov[idx] = s0 - u[..., :, None] * u[..., None, :]


def laplace_logistic_update(mean, cov, x, arms, rewards, *, tol=1e-13, max_iter=60):
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
    lo, hi = r - 1.0, r + 0.0                        # g(lo) < 0 < g(hi)
    t = np.clip(r - _sigmoid(mu), lo, hi)            # one fixed-point step from t = 0
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


def _laplace_logistic_batch(mean, cov, X, r, tol=1e-12, max_iter=100):
    """The Laplace approximation after a whole batch for one arm: Newton's method with
    step halving on the log posterior (prior N(mean, cov)); returns the new (mean, cov)."""
    d = mean.shape[0]
    prior_precision = _linalg.cho_solve(_linalg.cho_factor(cov), np.eye(d))

    def log_post(w):
        z = X @ w
        # r log p + (1 - r) log(1 - p), written stably with log(sigmoid(z)) = -logaddexp(0, -z)
        return (-0.5 * (w - mean) @ prior_precision @ (w - mean)
                - np.sum(r * np.logaddexp(0, -z) + (1 - r) * np.logaddexp(0, z)))

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


# ---------------------------------------------------------------------------------------
# Input checks at the public boundary
# ---------------------------------------------------------------------------------------
def _check_context(x, n_features, name="x"):
    """A context: a 1-D array of ``n_features`` finite real numbers."""
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} == {x!r} is of type {type(x).__name__}, must be a 1-D array of "
                        f"{n_features} real numbers.")
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} == {x!r} is not numeric, must be a 1-D array of {n_features} "
                        "real numbers.") from None
    if arr.ndim != 1 or arr.shape[0] != n_features:
        raise ValueError(f"{name} has shape {arr.shape}, must be 1-D of length {n_features} "
                         "(one value per feature).")
    if not np.isfinite(arr).all():
        i = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{name}[{i}] == {float(arr[i])!r}, must be a finite number.")
    return arr


def _check_real(value, name="reward"):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} == {value!r} is of type {type(value).__name__}, must be a real number.")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} == {value!r}, must be a finite number.")
    return value


# ---------------------------------------------------------------------------------------
# The objects a learner uses
# ---------------------------------------------------------------------------------------
class ContextualPolicy(_saved.Saved):
    """Base class: a Gaussian belief (``mean_``, ``cov_``) about each arm's weights.

    Subclasses write :meth:`scores` and :meth:`update_state`; both work on state arrays with
    any leading shape, which is how the simulator runs many copies at once.

    Attributes
    ----------
    mean_ : ndarray, shape (n_arms, n_features)
    cov_ : ndarray, shape (n_arms, n_features, n_features)
    n_obs_ : ndarray of int, shape (n_arms,)
        Rewards each arm has learned from.
    """

    _state_names = ("mean_", "cov_", "n_obs_")
    _reward_in_unit_interval = False

    _registry: dict[str, type] = {}  # subclasses by name, for from_state

    def __init__(self, n_arms, n_features, *, prior_var=1.0, rng=None):
        self.n_arms = check_int("n_arms", n_arms, minimum=1)
        self.n_features = check_int("n_features", n_features, minimum=1)
        self.prior_var = check_positive("prior_var", prior_var)
        self.rng = rng
        self._rng = resolve_rng(rng)
        self.reset()

    # -- the pieces a subclass writes ----------------------------------------------------
    def initial_state(self, shape=()):
        """Fresh state: every arm at the prior N(0, prior_var I); leading shape ``shape``."""
        shape = tuple(shape)
        k, d = self.n_arms, self.n_features
        return {
            "mean_": np.zeros(shape + (k, d)),
            "cov_": np.broadcast_to(np.eye(d) * self.prior_var, shape + (k, d, d)).copy(),
            "n_obs_": np.zeros(shape + (k,), dtype=np.int64),
        }

    def scores(self, state, x, rng):
        """Pure: the score of every arm for context(s) ``x``; the choice is their argmax."""
        raise NotImplementedError

    def update_state(self, state, x, arms, rewards):
        """In place: learn the reward of the chosen arm(s) at context(s) ``x``."""
        state["n_obs_"][arm_index(arms)] += 1

    def get_params(self):
        """The hyper-parameters, as a dict of plain Python values."""
        return {"n_arms": self.n_arms, "n_features": self.n_features, "prior_var": self.prior_var}

    # -- what a learner calls -----------------------------------------------------------
    def reset(self):
        """Forget everything learned; return ``self``."""
        self._set_state(self.initial_state(()))
        return self

    def select(self, x):
        """Choose an arm (an ``int``) for context ``x`` (1-D, length ``n_features``)."""
        x = _check_context(x, self.n_features)
        scores = self.scores(self._state(), x, self._rng)
        best = int(scores.argmax())
        if np.count_nonzero(scores == scores[best]) == 1:  # no tie: the usual case
            return best
        return int(argmax_random(scores, self._rng))

    def update(self, x, arm, reward):
        """Learn that ``arm`` earned ``reward`` at context ``x``; return ``self``."""
        x = _check_context(x, self.n_features)
        arm = check_arm(arm, self.n_arms)
        reward = self._check_reward(reward)
        self.update_state(self._state(), x, np.asarray(arm), np.asarray(reward))
        return self

    def update_many(self, X, arms, rewards):
        """Learn from a batch of (context, arm, reward) triples; return ``self``.

        ``X`` has shape (n, n_features); ``arms`` and ``rewards`` shape (n,).
        """
        X = np.asarray(X, dtype=float) if not isinstance(X, (str, bytes)) else X
        if not isinstance(X, np.ndarray) or X.ndim != 2:
            raise ValueError(f"X has shape {np.shape(X)}, must be 2-D (one context per row).")
        arms = np.asarray(arms)
        rewards = np.asarray(rewards, dtype=float)
        if arms.shape != (X.shape[0],) or rewards.shape != (X.shape[0],):
            raise ValueError(f"X, arms and rewards have shapes {X.shape}, {arms.shape} and "
                             f"{rewards.shape}, must have one row per observation.")
        checked = [(_check_context(X[i], self.n_features, name=f"X[{i}]"),
                    check_arm(a, self.n_arms, name=f"arms[{i}]"),
                    self._check_reward(float(rewards[i]), name=f"rewards[{i}]"))
                   for i, a in enumerate(arms.tolist())]
        self._learn_batch(checked)
        return self

    def score_moments(self, x):
        """Posterior mean and variance of ``x . w`` for every arm: two (n_arms,) arrays."""
        x = _check_context(x, self.n_features)
        return score_moments(self.mean_, self.cov_, x)

    def choice_probabilities(self, x, *, n_draws=4000, rng=None):
        """How often the policy would choose each arm for context ``x`` (Monte Carlo over
        its own randomness, ``n_draws`` decisions)."""
        x = _check_context(x, self.n_features)
        n_draws = check_int("n_draws", n_draws, minimum=1)
        gen = resolve_rng(rng)
        state = {k: v[None] for k, v in self._state().items()}  # broadcast against the draws
        picks = argmax_random(self.scores(state, np.broadcast_to(x, (n_draws, x.size)), gen), gen)
        return np.bincount(picks, minlength=self.n_arms) / n_draws

    # -- state as plain data ------------------------------------------------------------
    @classmethod
    def from_state(cls, state, *, rng=None):
        """Rebuild a policy saved by :meth:`get_state` (or its JSON text); the class it
        names must be ``cls`` or one of its subclasses."""
        state = _saved.open_envelope(state, made_by="ContextualPolicy")
        target = cls._saved_class(state)
        params = dict(state["params"])
        policy = target(params.pop("n_arms"), params.pop("n_features"), rng=rng, **params)
        arrays = _saved.load_arrays(policy, state["state"], target._state_names)
        for k, c in enumerate(arrays["cov_"]):
            try:
                np.linalg.cholesky(c)
            except np.linalg.LinAlgError:
                raise ValueError(f"state['state']['cov_'][{k}] must be a symmetric positive "
                                 "definite matrix.") from None
        policy._set_state(arrays)
        return policy

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items()
                           if k not in ("n_arms", "n_features"))
        return f"{type(self).__name__}({self.n_arms}, {self.n_features}{', ' + params if params else ''})"

    # -- internals ----------------------------------------------------------------------
    def _check_reward(self, reward, name="reward"):
        if self._reward_in_unit_interval:
            return check_reward(reward, name=name)
        return _check_real(reward, name=name)

    def _learn_batch(self, checked):
        state = self._state()
        for x, arm, reward in checked:
            self.update_state(state, x, np.asarray(arm), np.asarray(reward))


class LinearTS(ContextualPolicy):
    """Linear Thompson sampling: Bayesian linear regression per arm, exact posterior.

    Each arm's expected reward is modelled as ``x . w`` with prior ``w ~ N(0, prior_var I)``
    and rewards ``x . w + N(0, noise_var)``. After any sequence of updates ``mean_`` and
    ``cov_`` equal the closed-form posterior (:meth:`GaussianLinearPosterior.from_data`).
    A decision draws ``x . w`` for each arm from N(x . mean, x' cov x); an update is a
    rank-one correction (:func:`gaussian_linear_update`). Both cost O(d^2) per arm.

    Parameters
    ----------
    n_arms, n_features : int >= 1
    prior_var : float > 0, default 1.0
        Prior variance of every weight.
    noise_var : float > 0, default 0.1
        Assumed variance of a reward around its mean. For 0/1 conversions at rate p the
        true variance is p (1 - p): far from "nothing to tune", it sets how fast the
        posterior narrows (notebook 06 measures it).
    rng : None, int or numpy.random.Generator

    Examples
    --------
    >>> import numpy as np
    >>> bandit = LinearTS(5, 3, prior_var=2.0, noise_var=0.05, rng=0)
    >>> x = np.array([0.5, -1.0, 1.0])
    >>> arm = bandit.select(x)
    >>> bandit.update(x, arm, 1.0).n_obs_[arm]
    np.int64(1)
    >>> bandit.mean_.shape, bandit.cov_.shape
    ((5, 3), (5, 3, 3))
    """

    def __init__(self, n_arms, n_features, *, prior_var=1.0, noise_var=0.1, rng=None):
        self.noise_var = check_positive("noise_var", noise_var)
        super().__init__(n_arms, n_features, prior_var=prior_var, rng=rng)

    def get_params(self):
        return {**super().get_params(), "noise_var": self.noise_var}

    def scores(self, state, x, rng):
        return linear_ts_scores(state["mean_"], state["cov_"], x, rng)

    def update_state(self, state, x, arms, rewards):
        gaussian_linear_update(state["mean_"], state["cov_"], x, arms, rewards, self.noise_var)
        super().update_state(state, x, arms, rewards)

    def posterior(self, arm):
        """The belief about ``arm``'s weights, as a :class:`GaussianLinearPosterior`."""
        arm = check_arm(arm, self.n_arms)
        return GaussianLinearPosterior(self.mean_[arm], self.cov_[arm], self.noise_var,
                                       int(self.n_obs_[arm]))

    def expected_reward(self, x):
        """Posterior mean of every arm's expected reward at context ``x``, shape (n_arms,)."""
        return self.score_moments(x)[0]

    def reward_interval(self, x, level=0.95):
        """Credible interval ``(low, high)`` for every arm's expected reward at ``x``."""
        level = check_probability("level", level, open_low=True, open_high=True)
        m, v = self.score_moments(x)
        z = _stats.norm.ppf(0.5 + level / 2)
        return m - z * np.sqrt(v), m + z * np.sqrt(v)


class LinUCB(LinearTS):
    """LinUCB (Li et al. 2010): ridge regression per arm, optimistic by ``alpha`` standard
    deviations.

    The state is the same Gaussian as :class:`LinearTS` with ``noise_var = 1`` and
    ``prior_var = 1 / ridge``: ``cov_`` is the inverse of ``ridge I + X'X`` and ``mean_`` the
    ridge estimate. The choice is deterministic except for ties; ``alpha`` must be tuned.

    Parameters
    ----------
    n_arms, n_features : int >= 1
    alpha : float > 0, default 1.0
        Width of the confidence bonus, in standard deviations.
    ridge : float > 0, default 1.0
        The ridge penalty (the prior's precision).
    rng : None, int or numpy.random.Generator
        Only breaks ties.

    Examples
    --------
    >>> import numpy as np
    >>> ucb = LinUCB(2, 2, alpha=0.5)
    >>> ucb.update([1.0, 0.0], 0, 1.0).select([1.0, 0.0])
    0
    """

    def __init__(self, n_arms, n_features, *, alpha=1.0, ridge=1.0, rng=None):
        self.alpha = check_positive("alpha", alpha)
        self.ridge = check_positive("ridge", ridge)
        super().__init__(n_arms, n_features, prior_var=1.0 / self.ridge, noise_var=1.0, rng=rng)

    def get_params(self):
        return {"n_arms": self.n_arms, "n_features": self.n_features, "alpha": self.alpha,
                "ridge": self.ridge}

    def scores(self, state, x, rng):
        return linucb_scores(state["mean_"], state["cov_"], x, self.alpha)


class LogisticTS(ContextualPolicy):
    """Thompson sampling with a logistic model per arm (Laplace approximation).

    For 0/1 conversions: ``P(convert | x) = sigmoid(x . w)`` with prior
    ``w ~ N(0, prior_var I)``. The posterior is not Gaussian, so it is approximated by one
    (the Laplace approximation) updated one reward at a time with a rank-one correction
    (:func:`laplace_logistic_update`), or a small batch at a time with
    :meth:`update_many` (Newton's method on the batch). A decision draws the logit
    ``x . w`` per arm, as for :class:`LinearTS`.

    Parameters
    ----------
    n_arms, n_features : int >= 1
    prior_var : float > 0, default 1.0
    rng : None, int or numpy.random.Generator

    Examples
    --------
    >>> import numpy as np
    >>> bandit = LogisticTS(3, 2, rng=0)
    >>> x = np.array([1.0, 0.5])
    >>> bandit.update(x, 1, 1).update(x, 1, 0).n_obs_.tolist()
    [0, 2, 0]
    >>> bool(0.0 < bandit.expected_reward(x)[1] < 1.0)
    True
    """

    _reward_in_unit_interval = True

    def scores(self, state, x, rng):
        return logistic_ts_scores(state["mean_"], state["cov_"], x, rng)

    def update_state(self, state, x, arms, rewards):
        laplace_logistic_update(state["mean_"], state["cov_"], x, arms, rewards)
        super().update_state(state, x, arms, rewards)

    def expected_reward(self, x):
        """Posterior predictive conversion probability of every arm at ``x`` (the probit
        approximation of E[sigmoid(x . w)])."""
        m, v = self.score_moments(x)
        return _sigmoid(m / np.sqrt(1.0 + np.pi * v / 8.0))

    def reward_interval(self, x, level=0.95):
        """Credible interval ``(low, high)`` for every arm's conversion probability at ``x``."""
        level = check_probability("level", level, open_low=True, open_high=True)
        m, v = self.score_moments(x)
        z = _stats.norm.ppf(0.5 + level / 2)
        return _sigmoid(m - z * np.sqrt(v)), _sigmoid(m + z * np.sqrt(v))

    def _learn_batch(self, checked):
        # The batch Laplace approximation, one arm at a time: order within a batch is irrelevant.
        for k in range(self.n_arms):
            rows = [(x, r) for x, a, r in checked if a == k]
            if rows:
                X = np.stack([x for x, _ in rows])
                r = np.array([r for _, r in rows])
                self.mean_[k], self.cov_[k] = _laplace_logistic_batch(self.mean_[k], self.cov_[k], X, r)
                self.n_obs_[k] += len(rows)
