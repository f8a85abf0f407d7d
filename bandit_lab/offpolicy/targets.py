"""Policies as distributions over actions: what an off-policy estimator needs of a policy.

Taught in notebooks/11_learning_from_logs.ipynb.

Every estimator needs, for each logged round ``i``, the probability ``pi(a | x_i)`` that the
policy being evaluated would choose each arm ``a`` for that round's context: an array of
shape ``(n_rounds, n_arms)`` whose rows sum to 1. :func:`action_probabilities` computes it
for the package's policies, frozen in their current state, with each policy's own
``propensities_of`` (the probabilities the decision service logs), every context at once:

- ``LinearTS`` and ``LogisticTS``: exactly. Given a context, their scores are independent
  normal draws, one per arm (``x . w_k``), so ``P(arm k is the largest)`` is a
  one-dimensional integral (:func:`bandit_lab.propensities.gaussian_max_propensities`);
- ``LinUCB``, ``UCB1``, ``KLUCB``: deterministic, the arm with the highest index (ties
  shared equally, as the random tie-break shares them);
- ``BetaBernoulliTS``: exactly, by :func:`bandit_lab.propensities.thompson_propensities`;
  ``EpsilonGreedy`` and ``Softmax`` in closed form. These ignore the context;
- any other ``ContextualPolicy``: Monte Carlo over its own score draws (``n_draws``);
- any object with ``action_probabilities(contexts)`` (the fixed policies below, a policy
  learned from logs) or a plain function of the contexts.

Fixed policies, which never learn: :class:`UniformPolicy`, :class:`GreedyPolicy` (the best
arm of a scorer, with ``epsilon`` exploration), :func:`segment_policy` (a bank's rule: one
offer per customer segment).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._rng import RNGLike, resolve_rng, stream
from .._validation import check_int, check_probability
from .logged import check_probabilities

__all__ = [
    "action_probabilities",
    "greedy_probabilities",
    "epsilon_greedy_probabilities",
    "UniformPolicy",
    "GreedyPolicy",
    "segment_policy",
    "credit_card_segments",
]


def greedy_probabilities(scores: ArrayLike) -> np.ndarray:
    """Probability 1 on the highest score of each row, shared equally among ties.

    >>> greedy_probabilities([[0.1, 0.3, 0.3], [2.0, 1.0, 0.0]]).tolist()
    [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]]
    """
    s = np.asarray(scores, dtype=float)
    top = s == s.max(axis=-1, keepdims=True)
    return top / top.sum(axis=-1, keepdims=True)


def epsilon_greedy_probabilities(scores: ArrayLike, epsilon: float) -> np.ndarray:
    """``epsilon / n_arms`` on every arm plus ``1 - epsilon`` on the best-scored one(s).

    >>> epsilon_greedy_probabilities([[0.1, 0.5, 0.2]], 0.3).round(3).tolist()
    [[0.1, 0.8, 0.1]]
    """
    epsilon = check_probability("epsilon", epsilon)
    s = np.asarray(scores, dtype=float)
    return epsilon / s.shape[-1] + (1.0 - epsilon) * greedy_probabilities(s)


class UniformPolicy:
    """Every arm with probability ``1 / n_arms``, whatever the context: the logger that
    replay (Li et al. 2011) needs, and what an A/B/n test serves.

    >>> UniformPolicy(4).action_probabilities(np.zeros((2, 3))).tolist()
    [[0.25, 0.25, 0.25, 0.25], [0.25, 0.25, 0.25, 0.25]]
    """

    def __init__(self, n_arms: int) -> None:
        self.n_arms = check_int("n_arms", n_arms, minimum=1)

    def action_probabilities(self, contexts: ArrayLike | None) -> np.ndarray:
        n = 1 if contexts is None else len(contexts)
        return np.full((n, self.n_arms), 1.0 / self.n_arms)

    def __repr__(self):
        return f"UniformPolicy({self.n_arms})"


class GreedyPolicy:
    """The best arm according to ``scorer``, with probability ``epsilon`` a uniformly random
    one instead: a fixed (non-learning) policy.

    Parameters
    ----------
    scorer : callable
        ``scorer(contexts)`` returns an ``(n, n_arms)`` array of scores (predicted rewards,
        class probabilities, ...); the policy takes the highest, ties shared.
    n_arms : int
    epsilon : float in [0, 1], default 0
    name : str, optional

    Examples
    --------
    >>> w = np.array([[1.0, 0.0], [0.0, 1.0]])          # arm k scores x . w[k]
    >>> policy = GreedyPolicy(lambda X: X @ w.T, 2, epsilon=0.2)
    >>> policy.action_probabilities(np.array([[0.9, 0.1], [0.2, 0.7]])).tolist()
    [[0.9, 0.1], [0.1, 0.9]]
    """

    def __init__(
        self,
        scorer: Callable[[Any], ArrayLike],
        n_arms: int,
        *,
        epsilon: float = 0.0,
        name: str = "",
    ) -> None:
        if not callable(scorer):
            raise TypeError(
                f"scorer is of type {type(scorer).__name__}, must be a function of "
                "the contexts returning one score per arm."
            )
        self.scorer = scorer
        self.n_arms = check_int("n_arms", n_arms, minimum=1)
        self.epsilon = check_probability("epsilon", epsilon)
        self.name = str(name)

    def scores(self, contexts: ArrayLike) -> np.ndarray:
        s = np.asarray(self.scorer(contexts), dtype=float)
        n = 1 if contexts is None else len(contexts)
        if s.shape != (n, self.n_arms):
            raise ValueError(
                f"scorer returned shape {s.shape}, must be ({n}, {self.n_arms}): "
                "one score per arm for each context."
            )
        return s

    def action_probabilities(self, contexts: ArrayLike) -> np.ndarray:
        return epsilon_greedy_probabilities(self.scores(contexts), self.epsilon)

    def with_epsilon(self, epsilon: float) -> GreedyPolicy:
        """The same policy exploring with probability ``epsilon``."""
        return GreedyPolicy(self.scorer, self.n_arms, epsilon=epsilon, name=self.name)

    def select(self, contexts: ArrayLike, rng: RNGLike = None) -> np.ndarray:
        """An arm for each row of ``contexts``, drawn from :meth:`action_probabilities` with
        ``rng``, a Generator kept from call to call (an integer seed is refused: it would
        draw the same choices at every call)."""
        from .logged import sample_actions

        gen = stream(rng, method="GreedyPolicy.select")
        return sample_actions(self.action_probabilities(np.atleast_2d(contexts)), gen)

    def __repr__(self):
        label = f"{self.name!r}, " if self.name else ""
        return f"GreedyPolicy({label}n_arms={self.n_arms}, epsilon={self.epsilon})"


def credit_card_segments(contexts: ArrayLike) -> np.ndarray:
    """The credit-card case's rule-based segments (``credit_card.assign_segments``),
    computed from the model features a logged round carries: business first, then a
    revolving ratio of at least 0.5, then travel versus grocery share. Codes index
    ``credit_card.SEGMENT_NAMES``."""
    from ..credit_card import FEATURE_NAMES

    X = np.asarray(contexts, dtype=float)
    col = {name: j for j, name in enumerate(FEATURE_NAMES)}
    business = X[:, col["has_business"]] == 1
    revolver = ~business & (X[:, col["revolving_ratio"]] >= 0.5)
    traveller = ~business & ~revolver & (X[:, col["travel_share"]] >= X[:, col["grocery_share"]])
    return np.select([business, revolver, traveller], [0, 1, 2], default=3).astype(np.int64)


def segment_policy(
    offer_by_segment: Sequence[int],
    *,
    epsilon: float = 0.0,
    n_arms: int | None = None,
    segments: Callable[[np.ndarray], np.ndarray] = credit_card_segments,
) -> GreedyPolicy:
    """A bank's rule: one offer per customer segment, and with probability ``epsilon`` a
    uniformly random offer (so every offer keeps being tried).

    Parameters
    ----------
    offer_by_segment : sequence of int
        The offer (arm index) for segment 0, 1, ...
    epsilon : float in [0, 1]
    n_arms : int, default 5 (the credit-card offers)
    segments : callable
        Contexts to segment codes; by default :func:`credit_card_segments`.

    Examples
    --------
    >>> from bandit_lab import CreditCardEnv
    >>> env = CreditCardEnv(n_customers=500, n_history=200, rng=0)
    >>> rule = segment_policy([3, 2, 1, 0], epsilon=0.1)
    >>> p = rule.action_probabilities(env.contexts[:3])
    >>> p.max(axis=1).round(2).tolist(), p.min(axis=1).round(2).tolist()
    ([0.92, 0.92, 0.92], [0.02, 0.02, 0.02])
    """
    offers = np.asarray(offer_by_segment)
    n_arms = 5 if n_arms is None else check_int("n_arms", n_arms, minimum=1)
    if (
        offers.ndim != 1
        or not np.issubdtype(offers.dtype, np.integer)
        or offers.size == 0
        or offers.min() < 0
        or offers.max() >= n_arms
    ):
        raise ValueError(
            f"offer_by_segment == {offer_by_segment!r}, must be one arm index in "
            f"[0, {n_arms - 1}] per segment."
        )
    eye = np.eye(n_arms)

    def scorer(contexts):
        codes = segments(contexts)
        if codes.max(initial=0) >= offers.size:
            raise ValueError(
                f"a context falls in segment {int(codes.max())}, but "
                f"offer_by_segment names offers for {offers.size} segments only."
            )
        return eye[offers[codes]]

    return GreedyPolicy(scorer, n_arms, epsilon=epsilon, name="segment rule")


def action_probabilities(
    policy: Any,
    contexts: ArrayLike | None = None,
    *,
    n_arms: int | None = None,
    n_draws: int = 100_000,
    rng: RNGLike = None,
) -> np.ndarray:
    """The probability that ``policy`` chooses each arm, for each row of ``contexts``.

    Parameters
    ----------
    policy
        An ``(n, n_arms)`` array (checked and returned), an array of ``n`` actions
        (deterministic: one-hot), a policy of this package (frozen in its current state:
        its own ``propensities_of``, exact where it is known), an object with
        ``action_probabilities(contexts)``, or a function of the contexts.
    contexts : array_like, shape (n, n_features), optional
        For a non-contextual policy only the number of rows matters.
    n_arms : int, optional
        Needed for an array of actions; checked against the policy otherwise.
    n_draws : int
        Monte Carlo draws per context for a contextual policy without known probabilities
        (the standard error of each probability is at most ``0.5 / sqrt(n_draws)``).
    rng : None, int or numpy.random.Generator
        For Monte Carlo only.

    Returns
    -------
    ndarray, shape (n, n_arms)

    Examples
    --------
    >>> from bandit_lab import LinearTS, LinUCB
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> ts = LinearTS(3, 2, prior_var=1.0, noise_var=1.0).update([1.0, 0.0], 0, 1.0)
    >>> action_probabilities(ts, X).round(3).tolist()
    [[0.48, 0.26, 0.26], [0.333, 0.333, 0.333]]
    >>> action_probabilities(LinUCB(3, 2).update([1.0, 0.0], 0, 1.0), X).tolist()
    [[1.0, 0.0, 0.0], [0.3333333333333333, 0.3333333333333333, 0.3333333333333333]]
    """
    from ..contextual import ContextualPolicy
    from ..policies import Policy

    n = None if contexts is None else len(contexts)

    def check(probs, k):
        if n_arms is not None and k != n_arms:
            raise ValueError(f"policy has {k} arms, but n_arms == {n_arms}.")
        return check_probabilities(
            "the policy's action probabilities", probs, probs.shape[0] if n is None else n, k
        )

    if isinstance(policy, (np.ndarray, list, tuple)):
        arr = np.asarray(policy)
        if arr.ndim == 1:  # actions
            if n_arms is None:
                raise ValueError("policy is an array of actions, so n_arms must be given.")
            if n is not None and arr.shape[0] != n:
                raise ValueError(
                    f"policy holds {arr.shape[0]} actions, must hold one per context ({n})."
                )
            if (
                not np.issubdtype(arr.dtype, np.integer)
                or arr.min(initial=0) < 0
                or arr.max(initial=0) >= n_arms
            ):
                raise ValueError(
                    f"policy is an array of actions, which must be integer arm "
                    f"indices in [0, {n_arms - 1}]."
                )
            return np.eye(n_arms)[arr]
        return check(arr.astype(float), arr.shape[-1] if arr.ndim == 2 else -1)
    if isinstance(policy, ContextualPolicy):
        if contexts is None:
            raise ValueError(f"contexts is None, must be given for a {type(policy).__name__}.")
        X = np.asarray(contexts, dtype=float)
        if X.ndim != 2 or X.shape[1] != policy.n_features:
            raise ValueError(
                f"contexts has shape {X.shape}, must be (n, {policy.n_features}) "
                f"for this {type(policy).__name__}."
            )
        try:  # the policy's own probabilities, the ones the service logs
            probs = policy.propensities_of(policy._state(), X)
        except NotImplementedError:
            probs = _monte_carlo(policy, X, n_draws, rng)
        return check(np.asarray(probs, dtype=float), policy.n_arms)
    if isinstance(policy, Policy):
        try:
            p = policy.propensities_of(policy._state())
        except NotImplementedError:
            raise TypeError(
                f"policy is a {type(policy).__name__}, whose choice probabilities "
                "are not known; pass them as an (n, n_arms) array."
            ) from None
        rows = 1 if n is None else n
        return check(np.broadcast_to(p, (rows, policy.n_arms)).copy(), policy.n_arms)
    if hasattr(policy, "action_probabilities"):
        probs = np.asarray(policy.action_probabilities(contexts), dtype=float)
        return check(probs, probs.shape[-1] if probs.ndim == 2 else -1)
    if callable(policy):
        probs = np.asarray(policy(contexts), dtype=float)
        return check(probs, probs.shape[-1] if probs.ndim == 2 else -1)
    raise TypeError(
        f"policy is of type {type(policy).__name__}, must be an (n, n_arms) array "
        "of probabilities, an array of actions, a bandit_lab policy, an object with "
        "action_probabilities(contexts) or a function of the contexts."
    )


def _monte_carlo(policy, contexts, n_draws, rng):
    from ..scores import argmax_random

    n_draws = check_int("n_draws", n_draws, minimum=1)
    gen = resolve_rng(rng)
    X = np.asarray(contexts, dtype=float)
    state = {k: v[None, None] for k, v in policy._state().items()}  # (1, 1, K, ...)
    out = np.zeros((X.shape[0], policy.n_arms))
    chunk = max(1, 200_000 // max(1, X.shape[0]))
    done = 0
    while done < n_draws:
        m = min(chunk, n_draws - done)
        xs = np.broadcast_to(X[:, None, :], (X.shape[0], m, X.shape[1]))
        picks = argmax_random(policy.scores(state, xs, gen), gen)  # (n, m)
        out += (picks[..., None] == np.arange(policy.n_arms)).sum(axis=1)
        done += m
    return out / n_draws
