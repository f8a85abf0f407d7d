"""Reward models for the direct method and doubly robust estimation.

Taught in notebooks/11_learning_from_logs.ipynb.

:class:`PerArmRegression` fits one regression per arm, from the context to the reward (a
ridge regression in closed form, or any scikit-learn estimator); :func:`fit_reward_model`
predicts every arm's reward for every logged round, cross-fitted by default.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._rng import RNGLike, resolve_rng
from .._validation import check_int, check_positive
from .logged import LoggedFeedback, _check_log

__all__ = ["PerArmRegression", "fit_reward_model", "cross_fit_folds"]


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

    def __init__(self, n_arms: int, regressor: Any = None, *, ridge: float = 1.0) -> None:
        self.n_arms = check_int("n_arms", n_arms, minimum=1)
        self.regressor = regressor
        self.ridge = check_positive("ridge", ridge)

    def fit(
        self, contexts: ArrayLike | None, actions: ArrayLike, rewards: ArrayLike
    ) -> PerArmRegression:
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

    def predict(self, contexts: ArrayLike | None, n: int | None = None) -> np.ndarray:
        if not hasattr(self, "models_"):
            raise RuntimeError(
                "PerArmRegression is not fitted yet: call fit(contexts, actions, rewards) first."
            )
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
    gram.flat[:: X.shape[1] + 1] += ridge
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
            raise ValueError(
                f"regressor is a classifier ({type(model).__name__}), which needs "
                "rewards of 0 or 1; use a regressor for other rewards."
            )
        return ("classifier", model.fit(X, y.astype(int)))
    return ("regressor", model.fit(X, y))


def _predict_sklearn(fitted, X):
    kind, model = fitted
    if kind == "constant":
        return np.full(X.shape[0], model)
    if kind == "classifier":
        return model.predict_proba(X)[:, list(model.classes_).index(1)]
    return model.predict(X)


def cross_fit_folds(n_rounds: int, n_folds: int, rng: RNGLike = None) -> np.ndarray:
    """Fold of each round for cross-fitting: interleaved (round ``i`` in fold ``i % n_folds``)
    when ``rng`` is None, which suits rounds drawn independently; at random otherwise."""
    if rng is None:
        return np.arange(n_rounds) % n_folds
    return resolve_rng(rng).permutation(n_rounds) % n_folds


def fit_reward_model(
    log: LoggedFeedback,
    regressor: Any = None,
    *,
    n_folds: int = 2,
    ridge: float = 1.0,
    rng: RNGLike = None,
) -> np.ndarray:
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
        raise ValueError(
            f"n_folds == {n_folds}, must be at most the number of rounds ({log.n_rounds})."
        )
    folds = cross_fit_folds(log.n_rounds, n_folds, rng)
    out = np.empty((log.n_rounds, log.n_arms))
    ctx = log.contexts
    for f in range(n_folds):
        train, test = folds != f, folds == f
        model.fit(None if ctx is None else ctx[train], log.actions[train], log.rewards[train])
        out[test] = model.predict(None if ctx is None else ctx[test], int(test.sum()))
    return out
