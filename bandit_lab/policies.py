"""The policies a learner compares: Thompson sampling and its rivals.

Taught in notebooks/03_thompson_sampling.ipynb (BetaBernoulliTS) and
notebooks/04_comparing_strategies.ipynb (the rest).

A policy object keeps its state in arrays whose names end in ``_`` (``alpha_``,
``counts_`` ...), *selects* an arm and is *updated* with the reward. The maths is not here:
each policy calls its pure score function from :mod:`bandit_lab.scores`, and the vectorised
simulator calls the very same function on arrays with a run axis. So these classes are the
seven lines of Thompson sampling made robust: checked input, random tie-breaking, a
JSON-serialisable state, and a stream of random numbers of their own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import scores as _scores
from ._base import BasePolicy
from ._rng import RNGLike
from ._validation import (
    check_arm,
    check_nonnegative,
    check_positive,
    check_probability,
    check_reward,
)
from .posteriors import BetaPosterior
from .propensities import epsilon_greedy_propensities, softmax_propensities, thompson_propensities
from .scores import argmax_one

__all__ = ["Policy", "BetaBernoulliTS", "EpsilonGreedy", "UCB1", "Softmax", "KLUCB"]

argmax_random = _scores.argmax_random


def deterministic_propensities(scores: np.ndarray) -> np.ndarray:
    """Choice probabilities of a deterministic index policy: 1 for the highest score, ties
    shared equally (the choice among them is uniformly random), 0 elsewhere."""
    scores = np.asarray(scores, dtype=float)
    top = scores == scores.max(axis=-1, keepdims=True)
    return top / top.sum(axis=-1, keepdims=True)


class Policy(BasePolicy):
    """Base class of the context-free policies: state arrays with arms on the last axis and
    one score function.

    Subclasses define ``_state_names``, :meth:`initial_state`, :meth:`scores` and
    :meth:`update_state` (and, when their choice probabilities are known,
    :meth:`propensities_of`); all work for any leading shape, which is how the simulator
    runs many independent copies at once. Parameters, ``reset``, the rng rule and the saved
    state come from :class:`bandit_lab._base.BasePolicy`.
    """

    family = "index"

    def __init__(self, n_arms: int, *, rng: RNGLike = None) -> None:
        super().__init__(n_arms, rng=rng)

    # -- the pieces a subclass writes ------------------------------------------------------
    def scores(self, state: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
        """Pure: the score of every arm given ``state``; the choice is their argmax."""
        raise NotImplementedError

    def update_state(
        self, state: dict[str, np.ndarray], arms: Any, rewards: Any, runs: Any = None
    ) -> None:
        """In place: add the reward of the chosen arm(s) to ``state``.

        ``runs`` (simulator only) names the runs being updated, each at most once; by
        default every run along the leading axis is.
        """
        raise NotImplementedError

    def propensities_of(self, state: dict[str, np.ndarray]) -> np.ndarray:
        """Pure: the probability of choosing each arm given ``state``, shape (..., n_arms)."""
        raise NotImplementedError(
            f"{type(self).__name__} has no known choice probabilities (propensities); a policy "
            "that knows them defines propensities_of(state)."
        )

    # -- what a learner calls ------------------------------------------------------------
    def select(self) -> int:
        """Choose an arm (an ``int``) by the policy's rule, ties broken at random."""
        return argmax_one(self.scores(self._state(), self._rng), self._rng)

    def update(self, arm: int, reward: float) -> Policy:
        """Learn from one reward in [0, 1] for ``arm``; return ``self``."""
        self._update_one(check_arm("arm", arm, self.n_arms), check_reward("reward", reward))
        return self

    def propensities(self) -> np.ndarray:
        """The probability that :meth:`select` chooses each arm now, shape (n_arms,)."""
        return self.propensities_of(self._state())

    def update_many(self, arms: ArrayLike, rewards: ArrayLike) -> Policy:
        """Learn from several (arm, reward) pairs at once (a batch); return ``self``.

        Equivalent to calling :meth:`update` for each pair, in any order.
        """
        arms = np.asarray(arms)
        rewards = np.asarray(rewards, dtype=float)
        if arms.shape != rewards.shape or arms.ndim != 1:
            raise ValueError(
                f"arms and rewards have shapes {arms.shape} and {rewards.shape}, "
                "must be 1-D and of the same length."
            )
        for i, (a, r) in enumerate(zip(arms.tolist(), rewards.tolist())):
            check_arm(f"arms[{i}]", a, self.n_arms)
            check_reward(f"rewards[{i}]", r)
        state = self._state()
        for k in range(self.n_arms):  # one vectorised update per arm, not one per reward
            mask = arms == k
            if mask.any():
                self._update_arm_total(state, k, int(mask.sum()), float(rewards[mask].sum()))
        return self

    # -- internals -----------------------------------------------------------------------
    def _update_one(self, arm: int, reward: float) -> None:
        """One checked reward: the general path through :meth:`update_state`."""
        self.update_state(self._state(), np.asarray(arm), np.asarray(reward))

    def _update_arm_total(self, state, arm, n, total):
        raise NotImplementedError


class BetaBernoulliTS(Policy):
    """Thompson sampling with a Beta prior on each arm's success rate.

    Parameters
    ----------
    n_arms : int
        Number of arms (>= 1).
    alpha0, beta0 : float, default 1.0
        The Beta prior, the same for every arm: ``alpha0`` pseudo-successes and ``beta0``
        pseudo-failures. Beta(1, 1) is uniform.
    rng : None, int or numpy.random.Generator
        Source of the posterior draws.

    Attributes
    ----------
    alpha_, beta_ : ndarray of shape (n_arms,)
        The posterior: prior plus (fractional) successes, prior plus failures.

    Examples
    --------
    >>> ts = BetaBernoulliTS(3, rng=0)
    >>> arm = ts.select()
    >>> ts.update(arm, 1.0).alpha_[arm]
    np.float64(2.0)
    """

    _state_names = ("alpha_", "beta_")

    def __init__(
        self, n_arms: int, *, alpha0: float = 1.0, beta0: float = 1.0, rng: RNGLike = None
    ) -> None:
        self.alpha0 = check_positive("alpha0", alpha0)
        self.beta0 = check_positive("beta0", beta0)
        super().__init__(n_arms, rng=rng)

    def initial_state(self, shape: tuple[int, ...] = ()) -> dict[str, np.ndarray]:
        full = (*shape, self.n_arms)
        return {"alpha_": np.full(full, self.alpha0), "beta_": np.full(full, self.beta0)}

    def scores(self, state: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
        return _scores.thompson_scores(state["alpha_"], state["beta_"], rng)

    def update_state(
        self,
        state: dict[str, np.ndarray],
        arms: ArrayLike,
        rewards: ArrayLike,
        runs: ArrayLike | None = None,
    ) -> None:
        _scores.beta_update(state["alpha_"], state["beta_"], arms, rewards, runs)

    def propensities_of(self, state: dict[str, np.ndarray]) -> np.ndarray:
        """Exact: P(arm k's posterior draw is the largest) (:func:`thompson_propensities`)."""
        return thompson_propensities(state["alpha_"], state["beta_"])

    def _update_one(self, arm, reward):
        self.alpha_[arm] += reward  # what beta_update does, for one arm
        self.beta_[arm] += 1.0 - reward

    def _update_arm_total(self, state, arm, n, total):
        state["alpha_"][arm] += total
        state["beta_"][arm] += n - total

    def posterior(self) -> BetaPosterior:
        """The current belief about every arm, as a :class:`BetaPosterior`
        (``.mean``, ``.interval()``, ``.sample()``, ``.pdf()``)."""
        return BetaPosterior(self.alpha_, self.beta_)


class _CountingPolicy(Policy):
    """Policies that keep pull counts and reward sums per arm."""

    _state_names = ("counts_", "sums_")

    def initial_state(self, shape=()):
        full = (*shape, self.n_arms)
        return {"counts_": np.zeros(full), "sums_": np.zeros(full)}

    def update_state(self, state, arms, rewards, runs=None):
        _scores.count_update(state["counts_"], state["sums_"], arms, rewards, runs)

    def _update_one(self, arm, reward):
        self.counts_[arm] += 1.0  # what count_update does, for one arm
        self.sums_[arm] += reward

    def _update_arm_total(self, state, arm, n, total):
        state["counts_"][arm] += n
        state["sums_"][arm] += total

    @property
    def means_(self):
        """Empirical mean reward of each arm (0 where never pulled)."""
        return _scores._means(self.counts_, self.sums_)


class EpsilonGreedy(_CountingPolicy):
    """Pull each arm once, then exploit the best empirical mean, except with probability
    ``epsilon`` pull an arm uniformly at random.

    Parameters
    ----------
    n_arms : int
    epsilon : float in [0, 1], default 0.1
    rng : None, int or numpy.random.Generator

    Examples
    --------
    >>> eg = EpsilonGreedy(3, epsilon=0.1, rng=0)
    >>> _ = eg.update_many([0, 1, 2], [0.0, 1.0, 0.0])
    >>> eg.means_.tolist()
    [0.0, 1.0, 0.0]
    """

    def __init__(self, n_arms: int, *, epsilon: float = 0.1, rng: RNGLike = None) -> None:
        self.epsilon = check_probability("epsilon", epsilon)
        super().__init__(n_arms, rng=rng)

    def scores(self, state: dict[str, np.ndarray], rng: np.random.Generator | None) -> np.ndarray:
        return _scores.epsilon_greedy_scores(state["counts_"], state["sums_"], self.epsilon, rng)

    def propensities_of(self, state: dict[str, np.ndarray]) -> np.ndarray:
        """Closed form: ``epsilon / n_arms`` each, plus ``1 - epsilon`` shared by the best."""
        return epsilon_greedy_propensities(state["counts_"], state["sums_"], self.epsilon)


class UCB1(_CountingPolicy):
    """Upper confidence bound: pull the arm whose mean + sqrt(2 ln t / n) is highest
    (each arm once first). Deterministic except for ties.

    Examples
    --------
    >>> ucb = UCB1(2).update_many([0, 0, 0, 1], [1.0, 0.0, 0.0, 0.0])
    >>> ucb.select()  # 0 + sqrt(2 ln 4 / 1) = 1.67 beats 1/3 + sqrt(2 ln 4 / 3) = 1.29
    1
    """

    def scores(self, state: dict[str, np.ndarray], rng: np.random.Generator | None) -> np.ndarray:
        counts = state["counts_"]
        return _scores.ucb1_scores(counts, state["sums_"], counts.sum(axis=-1))

    def propensities_of(self, state: dict[str, np.ndarray]) -> np.ndarray:
        """Deterministic: 1 for the highest index (ties shared), 0 elsewhere."""
        return deterministic_propensities(self.scores(state, None))


class Softmax(_CountingPolicy):
    """Boltzmann exploration: pull arm k with probability proportional to
    exp(mean_k / tau), after pulling each arm once.

    ``tau`` (> 0) is the temperature: small tau is nearly greedy, large tau nearly uniform.

    Examples
    --------
    >>> sm = Softmax(2, tau=0.05, rng=1).update_many([0, 1], [0.2, 0.6])
    >>> picks = [sm.select() for _ in range(1000)]
    >>> 0.99 < sum(picks) / 1000 <= 1.0   # exp(0.4 / 0.05) makes arm 1 ~3000x likelier
    True
    """

    def __init__(self, n_arms: int, *, tau: float = 0.01, rng: RNGLike = None) -> None:
        self.tau = check_positive("tau", tau)
        super().__init__(n_arms, rng=rng)

    def scores(self, state: dict[str, np.ndarray], rng: np.random.Generator | None) -> np.ndarray:
        return _scores.softmax_scores(state["counts_"], state["sums_"], self.tau, rng)

    def propensities_of(self, state: dict[str, np.ndarray]) -> np.ndarray:
        """Closed form: ``exp(mean_k / tau)`` normalised (each arm once first)."""
        return softmax_propensities(state["counts_"], state["sums_"], self.tau)


class KLUCB(_CountingPolicy):
    """KL-UCB for Bernoulli rewards: the optimistic rate that the data cannot yet rule out,
    measured in Kullback-Leibler divergence. Asymptotically optimal (it meets the
    Lai-Robbins bound), like Thompson sampling.

    ``c`` (>= 0) adds ``c log log t`` to the exploration budget; ``c = 0`` is the usual
    practical choice.

    Examples
    --------
    >>> kl = KLUCB(2).update_many([0] * 20 + [1] * 20, [1.0] * 10 + [0.0] * 10 + [1.0] * 12 + [0.0] * 8)
    >>> kl.select()  # same pulls, higher mean: higher optimistic rate
    1
    """

    def __init__(self, n_arms: int, *, c: float = 0.0, rng: RNGLike = None) -> None:
        self.c = check_nonnegative("c", c)
        super().__init__(n_arms, rng=rng)

    def scores(self, state: dict[str, np.ndarray], rng: np.random.Generator | None) -> np.ndarray:
        counts = state["counts_"]
        return _scores.klucb_scores(counts, state["sums_"], counts.sum(axis=-1), c=self.c)

    def propensities_of(self, state: dict[str, np.ndarray]) -> np.ndarray:
        """Deterministic: 1 for the highest index (ties shared), 0 elsewhere."""
        return deterministic_propensities(self.scores(state, None))
