"""Off-policy estimators: the value a target policy would have earned, from a log.

Taught in notebooks/11_learning_from_logs.ipynb.

Notation: round ``i`` of the log has context ``x_i``, logged action ``a_i``, reward ``r_i``
and propensity ``p_i`` (the logger's probability of ``a_i``). The target policy puts
probability ``pi(a | x_i)`` on each arm; ``w_i = pi(a_i | x_i) / p_i`` is the importance
weight of round ``i``; ``q(x, a)`` is a model's prediction of the reward of arm ``a`` at
``x``. The estimates of the target's value ``V = E_x E_{a ~ pi} [r]``:

    replay (Li et al. 2011)   mean of r_i over the rounds where the target chose a_i;
                              unbiased for a uniformly random logger only
    IPS                       (1/n) sum w_i r_i; unbiased whenever every p_i is right
                              and positive where pi is
    SNIPS                     sum w_i r_i / sum w_i; a little biased, often far less variable
    DM (direct method)        (1/n) sum_i sum_a pi(a | x_i) q(x_i, a); as good as q
    DR (doubly robust)        DM + (1/n) sum w_i (r_i - q(x_i, a_i)); unbiased if the
                              propensities are right, whatever q; low variance if q is good

Every function returns an :class:`Estimate`: the value, its standard error, a normal
confidence interval at ``level``, the number of rounds and the effective sample size
``(sum w)^2 / sum w^2`` (Kish): how many rounds of the target's own traffic the weighted
log is worth. The per-round terms are kept in ``Estimate.terms``.

The intervals come from the spread of the per-round terms (the delta method for SNIPS and
replay). They cover the truth at their level when the terms' distribution is not too
heavy-tailed for the number of rounds; a tiny effective sample size is the warning sign.
DM's interval reflects sampling only, never the model's bias.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from .._rng import resolve_rng
from .._validation import check_int, check_probability
from .logged import LoggedFeedback, check_probabilities, sample_actions

__all__ = ["Estimate", "replay", "ips", "snips", "direct_method", "doubly_robust", "evaluate",
           "replay_learning", "PerArmRegression", "fit_reward_model", "cross_fit_folds",
           "effective_sample_size"]


@dataclass(frozen=True)
class Estimate:
    """An estimate of a policy's value, with its uncertainty.

    Attributes
    ----------
    method : str
    value : float
    se : float
        Standard error.
    low, high : float
        The ``level`` confidence interval.
    level : float
    n : int
        Rounds in the log.
    ess : float
        Effective sample size: rounds of the target's own traffic the log is worth.
    terms : ndarray
        What is averaged, one per round (for replay, the matched rounds' rewards).
    """

    method: str
    value: float
    se: float
    low: float
    high: float
    level: float
    n: int
    ess: float
    terms: np.ndarray = field(repr=False, compare=False)

    @property
    def interval(self):
        return (self.low, self.high)

    def covers(self, truth):
        """Whether the confidence interval contains ``truth``."""
        return bool(self.low <= truth <= self.high)

    def __str__(self):
        return (f"{self.method}: {self.value:.4f} [{self.low:.4f}, {self.high:.4f}] "
                f"({self.level:.0%} CI, n = {self.n:,}, effective sample size {self.ess:,.0f})")

    def as_dict(self):
        return {"method": self.method, "value": self.value, "se": self.se, "low": self.low,
                "high": self.high, "ess": self.ess, "n": self.n}


def effective_sample_size(weights):
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` of importance weights.

    >>> effective_sample_size([1.0, 1.0, 1.0, 1.0]), effective_sample_size([4.0, 0.0, 0.0, 0.0])
    (4.0, 1.0)
    """
    w = np.asarray(weights, dtype=float)
    total = np.square(w).sum()
    return float(w.sum() ** 2 / total) if total > 0 else 0.0


def _z(level):
    return float(special.ndtri(0.5 + level / 2))


def _make(method, value, se, level, n, ess, terms):
    half = _z(level) * se
    return Estimate(method, float(value), float(se), float(value - half), float(value + half),
                    float(level), int(n), float(ess), terms)


def _check_log(log):
    if not isinstance(log, LoggedFeedback):
        raise TypeError(f"log is of type {type(log).__name__}, must be a LoggedFeedback "
                        "(build one with LoggedFeedback(actions, rewards, propensities, ...)).")
    if log.n_rounds == 0:
        raise ValueError("log has no rounds, must hold at least one.")
    return log


def _target(log, target, rng=None):
    """The target's (n, K) probabilities for the log's rounds."""
    from .targets import action_probabilities

    if isinstance(target, np.ndarray) and target.ndim == 2:
        return check_probabilities("target", target, log.n_rounds, log.n_arms)
    return action_probabilities(target, log.contexts if log.contexts is not None
                                else np.zeros((log.n_rounds, 0)), n_arms=log.n_arms, rng=rng)


def _level(level):
    return check_probability("level", level, open_low=True, open_high=True)


def _mean_se(terms):
    n = terms.size
    return terms.mean(), (terms.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan)


def ips(log, target, *, level=0.95, max_weight=None):
    """Inverse propensity scoring: ``(1/n) sum_i w_i r_i``.

    Unbiased when the log's propensities are the logger's true probabilities and the
    logger gave every action the target may take a positive probability. Its variance
    grows with the weights: a logger that rarely explores makes it explode.

    Parameters
    ----------
    log : LoggedFeedback
    target
        The target policy: an ``(n_rounds, n_arms)`` array of its action probabilities
        for the log's rounds, or anything :func:`~bandit_lab.offpolicy.action_probabilities`
        accepts (evaluated on the log's contexts).
    level : float in (0, 1)
    max_weight : float, optional
        Clip the weights at this value (biased, less variable); None keeps them.

    Examples
    --------
    >>> log = LoggedFeedback([0, 1, 1, 0], [1.0, 0.0, 1.0, 0.0], [0.5, 0.5, 0.5, 0.5])
    >>> always_0 = np.array([[1.0, 0.0]] * 4)
    >>> ips(log, always_0).value    # (2 * 1 + 0 + 0 + 2 * 0) / 4
    0.5
    """
    log = _check_log(log)
    level = _level(level)
    pi = _target(log, target)
    w = pi[np.arange(log.n_rounds), log.actions] / log.propensities
    if max_weight is not None:
        if not np.isfinite(max_weight) or max_weight <= 0:
            raise ValueError(f"max_weight == {max_weight!r}, must be a number > 0 (or None).")
        w = np.minimum(w, max_weight)
    terms = w * log.rewards
    value, se = _mean_se(terms)
    name = "IPS" if max_weight is None else f"clipped IPS (max weight {max_weight:g})"
    return _make(name, value, se, level, log.n_rounds, effective_sample_size(w), terms)


def snips(log, target, *, level=0.95):
    """Self-normalised IPS: ``sum_i w_i r_i / sum_i w_i``.

    A ratio of two unbiased sums: slightly biased for small logs, consistent, and usually
    far less variable than IPS when the weights vary a lot (adding a constant to every
    reward moves it by exactly that constant, which IPS does not do). The standard error
    is the delta method's, ``sqrt(sum w_i^2 (r_i - V)^2) / sum w_i``. When the target
    never takes a logged action (every weight 0) the value is NaN.

    Examples
    --------
    >>> log = LoggedFeedback([0, 1, 1, 0], [1.0, 0.0, 1.0, 0.0], [0.5, 0.5, 0.5, 0.5])
    >>> snips(log, np.array([[1.0, 0.0]] * 4)).value    # (2 * 1 + 2 * 0) / (2 + 2)
    0.5
    """
    log = _check_log(log)
    level = _level(level)
    pi = _target(log, target)
    w = pi[np.arange(log.n_rounds), log.actions] / log.propensities
    total = w.sum()
    n = log.n_rounds
    if total <= 0:
        nan = np.full(n, np.nan)
        return _make("SNIPS", np.nan, np.nan, level, n, 0.0, nan)
    value = float((w * log.rewards).sum() / total)
    # the terms whose mean is the estimate: n w_i r_i / sum w
    terms = n * w * log.rewards / total
    resid = w * (log.rewards - value)
    se = np.sqrt(np.square(resid).sum() * n / max(n - 1, 1)) / total
    return _make("SNIPS", value, se, level, n, effective_sample_size(w), terms)


def _reward_predictions(log, reward_model, rng=None):
    if isinstance(reward_model, np.ndarray) or isinstance(reward_model, (list, tuple)):
        q = np.asarray(reward_model, dtype=float)
        if q.shape != (log.n_rounds, log.n_arms):
            raise ValueError(f"reward_model has shape {q.shape}, must be ({log.n_rounds}, "
                             f"{log.n_arms}): a predicted reward for every arm in every round.")
        bad = ~np.isfinite(q)
        if bad.any():
            i, k = np.unravel_index(int(np.flatnonzero(bad)[0]), q.shape)
            raise ValueError(f"reward_model[{i}, {k}] == {float(q[i, k])!r}, must be a finite "
                             "number.")
        return q
    return fit_reward_model(log, reward_model, rng=rng)


def direct_method(log, target, reward_model=None, *, level=0.95):
    """The direct method: ``(1/n) sum_i sum_a pi(a | x_i) q(x_i, a)``.

    No weights, so little variance; but it is only as good as the reward model ``q``, and
    its bias (where the logger rarely went, the model extrapolates) does not show in the
    confidence interval, which reflects the sampling of contexts only.

    Parameters
    ----------
    reward_model : array of shape (n_rounds, n_arms), a scikit-learn regressor or None
        Predictions ``q(x_i, a)`` for every logged round and arm; or a regressor (or
        classifier, for 0/1 rewards) fitted per arm on the log by :func:`fit_reward_model`,
        cross-fitted on two halves; None is a ridge regression per arm, the same way.

    Examples
    --------
    >>> log = LoggedFeedback([0, 1], [1.0, 0.0], [0.5, 0.5])
    >>> q = np.array([[0.6, 0.2], [0.6, 0.2]])
    >>> round(direct_method(log, np.array([[1.0, 0.0], [0.5, 0.5]]), q).value, 6)  # (0.6 + 0.4) / 2
    0.5
    """
    log = _check_log(log)
    level = _level(level)
    pi = _target(log, target)
    q = _reward_predictions(log, reward_model)
    terms = np.einsum("nk,nk->n", pi, q)
    value, se = _mean_se(terms)
    return _make("DM", value, se, level, log.n_rounds, float(log.n_rounds), terms)


def doubly_robust(log, target, reward_model=None, *, level=0.95):
    """Doubly robust: the direct method, corrected by IPS on the model's residuals.

    ``(1/n) sum_i [ sum_a pi(a | x_i) q(x_i, a) + w_i (r_i - q(x_i, a_i)) ]`` (Dudik,
    Langford and Li 2011). Unbiased when the propensities are right, whatever ``q``
    (the correction removes the model's bias on average), provided ``q`` was not fitted on
    the very rewards it corrects (hence the cross-fitting of :func:`fit_reward_model`);
    when ``q`` is good the residuals are small and so is the variance, below IPS's.
    ``reward_model`` as for :func:`direct_method`.

    Examples
    --------
    >>> log = LoggedFeedback([0, 1], [1.0, 0.0], [0.5, 0.5])
    >>> q = np.array([[0.6, 0.2], [0.6, 0.2]])
    >>> round(doubly_robust(log, np.array([[1.0, 0.0], [1.0, 0.0]]), q).value, 6)  # 0.6 + 2 * 0.4 / 2
    1.0
    """
    log = _check_log(log)
    level = _level(level)
    pi = _target(log, target)
    q = _reward_predictions(log, reward_model)
    rows = np.arange(log.n_rounds)
    w = pi[rows, log.actions] / log.propensities
    terms = np.einsum("nk,nk->n", pi, q) + w * (log.rewards - q[rows, log.actions])
    value, se = _mean_se(terms)
    return _make("DR", value, se, level, log.n_rounds, effective_sample_size(w), terms)


def _is_uniform(log, atol=1e-9):
    return bool(np.all(np.abs(log.propensities - 1.0 / log.n_arms) <= atol))


def replay(log, target, *, level=0.95, rng=None):
    """Replay (Li, Chu, Langford and Wang 2011): keep the rounds where the target would have
    chosen the logged action, and average their rewards.

    Unbiased when the logger chose uniformly at random (then a matched round is a fair
    sample of the target's traffic); with any other logger it is biased towards what the
    logger preferred, and a warning says so: use :func:`ips` or :func:`snips` there.
    A stochastic target's choice in each round is drawn with ``rng``. ``ess`` is the number
    of matched rounds.

    Examples
    --------
    >>> log = LoggedFeedback([0, 1, 1, 0], [1.0, 0.0, 1.0, 0.0], [0.5] * 4)
    >>> replay(log, np.array([0, 0, 1, 1]), rng=0).value    # rounds 0 and 2 match
    1.0
    """
    log = _check_log(log)
    level = _level(level)
    if not _is_uniform(log):
        warnings.warn(f"replay assumes a uniformly random logger (every propensity "
                      f"1/{log.n_arms}), but this log's range from {log.propensities.min():.3g} "
                      f"to {log.propensities.max():.3g}: its estimate is biased towards the "
                      "logger's choices; use ips or snips.", UserWarning, stacklevel=2)
    if isinstance(target, np.ndarray) and target.ndim == 1:
        chosen = np.asarray(target)
        if chosen.shape != (log.n_rounds,) or not np.issubdtype(chosen.dtype, np.integer):
            raise ValueError(f"target has shape {chosen.shape}, must be ({log.n_rounds},) "
                             "integer actions or an (n_rounds, n_arms) array of probabilities.")
    else:
        pi = _target(log, target, rng)
        deterministic = np.all((pi == 0) | (pi == 1))
        chosen = pi.argmax(axis=1) if deterministic else sample_actions(pi, resolve_rng(rng))
    match = chosen == log.actions
    terms = log.rewards[match]
    m = terms.size
    if m == 0:
        return _make("replay", np.nan, np.nan, level, log.n_rounds, 0.0, terms)
    value, se = _mean_se(terms)
    return _make("replay", value, se, level, log.n_rounds, float(m), terms)


def replay_learning(policy, log, *, level=0.95, rng=None, progress=False):
    """Replay a *learning* contextual policy on a uniformly random log (Li et al. 2011).

    Step through the log in order; at each round the policy chooses for the logged
    context; if it chose the logged action, the round counts: its reward is recorded and
    the policy learns from it; otherwise the round is skipped, as if it never happened.
    With a uniform logger the matched rounds are an unbiased simulation of the policy
    running live for that many rounds. ``policy`` (a ``ContextualPolicy`` such as
    ``LinearTS``) is copied, not changed. ``terms`` are the matched rewards in order: its
    learning curve.
    """
    from ..contextual import ContextualPolicy
    from ..scores import argmax_random

    log = _check_log(log)
    level = _level(level)
    if not isinstance(policy, ContextualPolicy):
        raise TypeError(f"policy is of type {type(policy).__name__}, must be a ContextualPolicy "
                        "such as LinearTS.")
    if log.contexts is None or log.n_features != policy.n_features:
        raise ValueError(f"log has contexts with {log.n_features} features, must have "
                         f"{policy.n_features} (the policy's n_features).")
    if policy.n_arms != log.n_arms:
        raise ValueError(f"policy has {policy.n_arms} arms and the log {log.n_arms}, must agree.")
    if not _is_uniform(log):
        warnings.warn("replay assumes a uniformly random logger, but this log's propensities "
                      "vary: the replayed policy sees a biased stream of rounds.", UserWarning,
                      stacklevel=2)
    gen = resolve_rng(rng)
    state = {k: np.array(v, copy=True) for k, v in policy._state().items()}
    rewards = []
    rows = range(log.n_rounds)
    if progress:
        from tqdm.auto import tqdm

        rows = tqdm(rows, desc="replaying", leave=False)
    X, A, R = log.contexts, log.actions, log.rewards
    for i in rows:
        arm = int(argmax_random(policy.scores(state, X[i], gen), gen))
        if arm == A[i]:
            policy.update_state(state, X[i], np.asarray(arm), np.asarray(R[i]))
            rewards.append(R[i])
    terms = np.asarray(rewards, dtype=float)
    if terms.size == 0:
        return _make("replay (learning)", np.nan, np.nan, level, log.n_rounds, 0.0, terms)
    value, se = _mean_se(terms)
    return _make("replay (learning)", value, se, level, log.n_rounds, float(terms.size), terms)


# ---------------------------------------------------------------------------------------
# Reward models for DM and DR
# ---------------------------------------------------------------------------------------
class PerArmRegression:
    """One regression per arm, from the context to the reward: ``predict(X)`` is (n, K).

    Parameters
    ----------
    n_arms : int
    regressor : scikit-learn estimator or None
        Cloned for every arm. A classifier (with ``predict_proba``) predicts the probability
        of a reward of 1, for 0/1 rewards. None: ridge regression with an unpenalised
        intercept, solved in closed form (fast; what LinUCB keeps per arm).
    ridge : float > 0
        Penalty for the built-in ridge regression.

    An arm with no logged rounds predicts the mean of all logged rewards. A log without
    contexts gives each arm its mean reward.
    """

    def __init__(self, n_arms, regressor=None, *, ridge=1.0):
        self.n_arms = check_int("n_arms", n_arms, minimum=1)
        self.regressor = regressor
        if not np.isfinite(ridge) or ridge <= 0:
            raise ValueError(f"ridge == {ridge!r}, must be a finite number > 0.")
        self.ridge = float(ridge)

    def fit(self, contexts, actions, rewards):
        X = np.zeros((len(actions), 0)) if contexts is None else np.asarray(contexts, dtype=float)
        A = np.asarray(actions)
        R = np.asarray(rewards, dtype=float)
        self.fallback_ = float(R.mean()) if R.size else 0.0
        self.models_ = []
        for k in range(self.n_arms):
            rows = A == k
            if not rows.any():
                self.models_.append(("constant", self.fallback_))
            elif X.shape[1] == 0 or (self.regressor is None and rows.sum() == 1):
                self.models_.append(("constant", float(R[rows].mean())))
            elif self.regressor is None:
                self.models_.append(("ridge", _ridge(X[rows], R[rows], self.ridge)))
            else:
                self.models_.append(("sklearn", _fit_sklearn(self.regressor, X[rows], R[rows])))
        return self

    def predict(self, contexts, n=None):
        if not hasattr(self, "models_"):
            raise RuntimeError("PerArmRegression is not fitted yet: call fit(contexts, actions, "
                               "rewards) first.")
        X = np.zeros((n or 0, 0)) if contexts is None else np.asarray(contexts, dtype=float)
        out = np.empty((X.shape[0], self.n_arms))
        for k, (kind, model) in enumerate(self.models_):
            if kind == "constant":
                out[:, k] = model
            elif kind == "ridge":
                coef, intercept = model
                out[:, k] = X @ coef + intercept
            else:
                out[:, k] = _predict_sklearn(model, X)
        return out


def _ridge(X, y, ridge):
    """Ridge regression with an unpenalised intercept (centred data), closed form."""
    xm, ym = X.mean(axis=0), y.mean()
    Xc = X - xm
    gram = Xc.T @ Xc
    gram.flat[::X.shape[1] + 1] += ridge
    coef = np.linalg.solve(gram, Xc.T @ (y - ym))
    return coef, float(ym - xm @ coef)


def _fit_sklearn(regressor, X, y):
    from sklearn.base import clone

    model = clone(regressor)
    if hasattr(model, "predict_proba"):
        classes = np.unique(y)
        if classes.size == 1:  # a classifier cannot fit one class: the constant
            return ("constant", float(classes[0]))
        if not np.all(np.isin(classes, (0.0, 1.0))):
            raise ValueError(f"regressor is a classifier ({type(model).__name__}), which needs "
                             "rewards of 0 or 1; use a regressor for other rewards.")
        return ("classifier", model.fit(X, y.astype(int)))
    return ("regressor", model.fit(X, y))


def _predict_sklearn(fitted, X):
    kind, model = fitted
    if kind == "constant":
        return np.full(X.shape[0], model)
    if kind == "classifier":
        return model.predict_proba(X)[:, list(model.classes_).index(1)]
    return model.predict(X)


def cross_fit_folds(n_rounds, n_folds, rng=None):
    """Fold of each round for cross-fitting: interleaved (round ``i`` in fold ``i % n_folds``)
    when ``rng`` is None, which suits rounds drawn independently; at random otherwise."""
    if rng is None:
        return np.arange(n_rounds) % n_folds
    return resolve_rng(rng).permutation(n_rounds) % n_folds


def fit_reward_model(log, regressor=None, *, n_folds=2, ridge=1.0, rng=None):
    """Predicted rewards ``q(x_i, a)`` of every arm for every logged round, shape (n, K).

    One model per arm (:class:`PerArmRegression`). **Cross-fitted** by default: the rounds
    are split into ``n_folds`` folds (:func:`cross_fit_folds`) and each fold is predicted
    by models fitted on the others, so that no round's own reward leaks into its
    prediction. That matters for DR: a model that has memorised the log predicts each
    logged reward almost exactly, the residuals ``r_i - q(x_i, a_i)`` vanish, and DR
    collapses to DM with all its bias (a 64-feature ridge regression on a few hundred
    digits does exactly that; notebook 11 shows it). ``n_folds=1`` fits on the whole log.
    """
    log = _check_log(log)
    n_folds = check_int("n_folds", n_folds, minimum=1)
    model = PerArmRegression(log.n_arms, regressor, ridge=ridge)
    if n_folds == 1:
        return model.fit(log.contexts, log.actions, log.rewards).predict(log.contexts, log.n_rounds)
    if n_folds > log.n_rounds:
        raise ValueError(f"n_folds == {n_folds}, must be at most the number of rounds "
                         f"({log.n_rounds}).")
    folds = cross_fit_folds(log.n_rounds, n_folds, rng)
    out = np.empty((log.n_rounds, log.n_arms))
    ctx = log.contexts
    for f in range(n_folds):
        train, test = folds != f, folds == f
        model.fit(None if ctx is None else ctx[train], log.actions[train], log.rewards[train])
        out[test] = model.predict(None if ctx is None else ctx[test], int(test.sum()))
    return out


METHODS = {"replay": replay, "IPS": ips, "SNIPS": snips, "DM": direct_method,
           "DR": doubly_robust}


def evaluate(log, target, *, reward_model=None, methods=("IPS", "SNIPS", "DM", "DR"),
             level=0.95, truth=None, rng=None):
    """Several estimates of one target policy's value from one log, as a DataFrame.

    Parameters
    ----------
    log : LoggedFeedback
    target
        As for :func:`ips`.
    reward_model
        As for :func:`direct_method`; fitted once and shared by DM and DR.
    methods : sequence of {"replay", "IPS", "SNIPS", "DM", "DR"}
    truth : float, optional
        The true value, when known (a simulation): adds ``error`` and ``covers`` columns.

    Returns
    -------
    pandas.DataFrame indexed by method: ``value``, ``se``, ``low``, ``high``, ``ess``
    """
    import pandas as pd

    log = _check_log(log)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"methods contains {unknown[0]!r}, must be among {list(METHODS)}.")
    pi = _target(log, target, rng)
    q = None
    if any(m in ("DM", "DR") for m in methods):
        q = _reward_predictions(log, reward_model, rng)
    rows = []
    for m in methods:
        if m in ("DM", "DR"):
            est = METHODS[m](log, pi, q, level=level)
        elif m == "replay":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the caller asked for it by name
                est = replay(log, pi, level=level, rng=rng)
        else:
            est = METHODS[m](log, pi, level=level)
        row = est.as_dict()
        if truth is not None:
            row["error"] = row["value"] - truth
            row["covers"] = est.covers(truth)
        rows.append(row)
    return pd.DataFrame(rows).set_index("method")
