"""Replay (Li, Chu, Langford and Wang 2011): evaluation on a uniformly random logger's log.

Taught in notebooks/11_learning_from_logs.ipynb.

:func:`replay` keeps the logged rounds in which the target would have taken the logged
action and averages their rewards; :func:`replay_learning` does the same for a policy that
learns as it goes, stepping through the log in order.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from .._rng import RNGLike, resolve_rng
from .estimators import Estimate, _level, _make, _mean_se, _target
from .logged import LoggedFeedback, _check_log, sample_actions

if TYPE_CHECKING:
    from ..contextual import ContextualPolicy

__all__ = ["replay", "replay_learning"]


def _is_uniform(log, atol=1e-9):
    return bool(np.all(np.abs(log.propensities - 1.0 / log.n_arms) <= atol))


def replay(
    log: LoggedFeedback, target: Any, *, level: float = 0.95, rng: RNGLike = None
) -> Estimate:
    """Replay (Li, Chu, Langford and Wang 2011): keep the rounds where the target would have
    chosen the logged action, and average their rewards.

    Unbiased when the logger chose uniformly at random (then a matched round is a fair
    sample of the target's traffic); with any other logger it is biased towards what the
    logger preferred, and a warning says so: use :func:`ips` or :func:`snips` there.
    A stochastic target's choice in each round is drawn with ``rng``. ``ess`` is the number
    of matched rounds.

    Examples
    --------
    >>> from bandit_lab.offpolicy import LoggedFeedback
    >>> log = LoggedFeedback([0, 1, 1, 0], [1.0, 0.0, 1.0, 0.0], [0.5] * 4)
    >>> replay(log, np.array([0, 0, 1, 1]), rng=0).value    # rounds 0 and 2 match
    1.0
    """
    log = _check_log(log)
    level = _level(level)
    if not _is_uniform(log):
        warnings.warn(
            f"replay assumes a uniformly random logger (every propensity "
            f"1/{log.n_arms}), but this log's range from {log.propensities.min():.3g} "
            f"to {log.propensities.max():.3g}: its estimate is biased towards the "
            "logger's choices; use ips or snips.",
            UserWarning,
            stacklevel=2,
        )
    if isinstance(target, np.ndarray) and target.ndim == 1:
        chosen = np.asarray(target)
        if chosen.shape != (log.n_rounds,) or not np.issubdtype(chosen.dtype, np.integer):
            raise ValueError(
                f"target has shape {chosen.shape}, must be ({log.n_rounds},) "
                "integer actions or an (n_rounds, n_arms) array of probabilities."
            )
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


def replay_learning(
    policy: ContextualPolicy,
    log: LoggedFeedback,
    *,
    level: float = 0.95,
    rng: RNGLike = None,
    progress: bool = False,
) -> Estimate:
    """Replay a *learning* contextual policy on a uniformly random log (Li et al. 2011).

    Step through the log in order; at each round the policy chooses for the logged
    context; if it chose the logged action, the round counts: its reward is recorded and
    the policy learns from it; otherwise the round is skipped, as if it never happened.
    With a uniform logger the matched rounds are an unbiased simulation of the policy
    running live for that many rounds. ``policy`` (a ``ContextualPolicy`` such as
    ``LinearTS``) is copied, not changed; its choices are drawn from ``rng``, or from the
    policy's own ``rng`` when it was built with one (not both). ``terms`` are the matched
    rewards in order: its learning curve.
    """
    from ..contextual import ContextualPolicy
    from ..scores import argmax_random

    log = _check_log(log)
    level = _level(level)
    if not isinstance(policy, ContextualPolicy):
        raise TypeError(
            f"policy is of type {type(policy).__name__}, must be a ContextualPolicy "
            "such as LinearTS."
        )
    if log.contexts is None or log.n_features != policy.n_features:
        raise ValueError(
            f"log has contexts with {log.n_features} features, must have "
            f"{policy.n_features} (the policy's n_features)."
        )
    if policy.n_arms != log.n_arms:
        raise ValueError(f"policy has {policy.n_arms} arms and the log {log.n_arms}, must agree.")
    if not _is_uniform(log):
        warnings.warn(
            "replay assumes a uniformly random logger, but this log's propensities "
            "vary: the replayed policy sees a biased stream of rounds.",
            UserWarning,
            stacklevel=2,
        )
    if policy.rng is not None and rng is not None:
        raise ValueError(
            f"policy has its own rng == {policy.rng!r} and rng == {rng!r} is given, must be "
            "one or the other: the stream the replayed policy chooses with."
        )
    gen = resolve_rng(rng if rng is not None else policy.rng)
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
