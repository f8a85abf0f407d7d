"""Off-policy learning: fit a new policy from a log, then check it on fresh traffic.

Taught in notebooks/11_learning_from_logs.ipynb.

Two ways to turn a log into a policy:

- :func:`fit_ipw_policy`: inverse-propensity-weighted classification. Each logged round
  is a training example "at context x_i, choose a_i", weighted by ``r_i / p_i``; a
  classifier trained on them maximises (a smooth stand-in for) the IPS estimate of a
  deterministic policy's value, ``(1/n) sum_i 1{pi(x_i) = a_i} r_i / p_i`` (the reduction of
  Zadrozny 2003 and Beygelzimer and Langford 2009; OBP's ``IPWLearner``). It needs the
  propensities and rewards >= 0.
- :func:`fit_dm_policy`: the direct method, a regression of the reward per arm
  (:class:`~bandit_lab.offpolicy.PerArmRegression`), then the arm with the highest
  prediction. It needs no propensities, and trusts the model where the logger rarely went.

Both return a :class:`~bandit_lab.offpolicy.GreedyPolicy` (optionally exploring with
``epsilon``, so that it logs propensities worth learning from in turn). Before switching it
on, estimate its value off-policy on a log it was not fitted on; in a simulation the truth
is known: :func:`true_value` computes it exactly on an environment's population and
:func:`online_value` runs it on fresh simulated customers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._rng import RNGLike
from .._validation import check_int, check_probability
from .estimators import Estimate, _make
from .logged import LoggedFeedback, _check_log
from .reward_models import PerArmRegression
from .sources import collect_log
from .targets import GreedyPolicy, action_probabilities

__all__ = ["fit_ipw_policy", "fit_dm_policy", "true_value", "online_value"]


def fit_ipw_policy(
    log: LoggedFeedback,
    classifier: Any = None,
    *,
    epsilon: float = 0.0,
    name: str = "IPW classifier",
) -> GreedyPolicy:
    """A policy learned by inverse-propensity-weighted classification.

    Parameters
    ----------
    log : LoggedFeedback
        With contexts, and rewards >= 0.
    classifier : scikit-learn classifier, optional
        Must accept ``sample_weight`` and have ``predict_proba``; cloned. Default
        ``LogisticRegression(max_iter=1000)``.
    epsilon : float in [0, 1]
        Exploration of the returned policy.

    Returns
    -------
    GreedyPolicy
        Chooses the class (arm) the classifier finds most probable; ``.model`` is the
        fitted classifier.

    Examples
    --------
    >>> import numpy as np
    >>> from bandit_lab.offpolicy import LoggedFeedback
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 2)); a = rng.integers(2, size=400)
    >>> r = (a == (X[:, 0] > 0)).astype(float)        # arm 1 pays when x0 > 0, arm 0 otherwise
    >>> policy = fit_ipw_policy(LoggedFeedback(a, r, np.full(400, 0.5), contexts=X))
    >>> policy.action_probabilities(np.array([[2.0, 0.0], [-2.0, 0.0]])).tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression

    log = _check_log(log)
    epsilon = check_probability("epsilon", epsilon)
    if log.contexts is None:
        raise ValueError(
            "log has no contexts, must have them to learn a policy of the context "
            "(without them, the best arm is the one with the highest IPS estimate)."
        )
    if np.any(log.rewards < 0):
        i = int(np.flatnonzero(log.rewards < 0)[0])
        raise ValueError(
            f"log.rewards[{i}] == {log.rewards[i]!r}, must be >= 0 for weighted "
            "classification (shift the rewards by a constant first)."
        )
    weights = log.rewards / log.propensities
    keep = weights > 0
    if not keep.any():
        raise ValueError("every reward in the log is 0, so there is nothing to learn from.")
    model = clone(classifier if classifier is not None else LogisticRegression(max_iter=1000))
    X, y, w = log.contexts[keep], log.actions[keep], weights[keep]
    classes = np.unique(y)
    n_arms = log.n_arms
    if classes.size == 1:
        only = int(classes[0])

        def scorer(contexts):
            out = np.zeros((len(contexts), n_arms))
            out[:, only] = 1.0
            return out
    else:
        model.fit(X, y, sample_weight=w / w.mean())
        columns = np.asarray(model.classes_, dtype=int)

        def scorer(contexts):
            out = np.full((len(contexts), n_arms), -1.0)  # never-rewarded arms: never chosen
            out[:, columns] = model.predict_proba(np.asarray(contexts, dtype=float))
            return out

    policy = GreedyPolicy(scorer, n_arms, epsilon=epsilon, name=name)
    policy.model = model
    return policy


def fit_dm_policy(
    log: LoggedFeedback,
    regressor: Any = None,
    *,
    epsilon: float = 0.0,
    ridge: float = 1.0,
    name: str = "direct method",
) -> GreedyPolicy:
    """A policy that chooses the arm with the highest predicted reward, from a regression
    of the reward per arm fitted on the log (:class:`PerArmRegression`; ``regressor`` None
    is ridge regression). ``.model`` is the fitted :class:`PerArmRegression`."""
    log = _check_log(log)
    epsilon = check_probability("epsilon", epsilon)
    model = PerArmRegression(log.n_arms, regressor, ridge=ridge).fit(
        log.contexts, log.actions, log.rewards
    )
    if log.contexts is None:
        policy = GreedyPolicy(
            lambda contexts: model.predict(None, len(contexts)),
            log.n_arms,
            epsilon=epsilon,
            name=name,
        )
    else:
        policy = GreedyPolicy(model.predict, log.n_arms, epsilon=epsilon, name=name)
    policy.model = model
    return policy


def true_value(policy: Any, env: Any) -> float:
    """The policy's exact expected reward on ``env``'s population, which a simulation knows:
    the mean over its customers of ``sum_a pi(a | x) E[r | x, a]``. (``CreditCardEnv``
    serves customers uniformly from that population, so this is the value it would earn
    live, to the last digit.)"""
    for attr in ("contexts", "expected"):
        if not hasattr(env, attr):
            raise TypeError(
                f"env is of type {type(env).__name__}, must know its population "
                f"(it has no {attr!r}), like CreditCardEnv."
            )
    pi = action_probabilities(policy, env.contexts, n_arms=env.n_arms)
    return float((pi * env.expected).sum(axis=1).mean())


def online_value(
    policy: Any, env: Any, *, n_rounds: int = 10_000, level: float = 0.95, rng: RNGLike = None
) -> Estimate:
    """Run ``policy`` on ``n_rounds`` fresh simulated customers and average the rewards it
    earned: an on-policy estimate with its confidence interval (an A/B test's arm)."""
    n_rounds = check_int("n_rounds", n_rounds, minimum=2)
    log = collect_log(env, policy, n_rounds=n_rounds, rng=rng)
    terms = log.rewards
    return _make(
        "online",
        terms.mean(),
        terms.std(ddof=1) / np.sqrt(n_rounds),
        check_probability("level", level, open_low=True, open_high=True),
        n_rounds,
        float(n_rounds),
        terms,
    )
