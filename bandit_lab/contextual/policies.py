"""Contextual bandits: one Bayesian regression model per arm, chosen by what it predicts
for *this* context.

Taught in notebooks/05_contextual_bandits.ipynb and notebooks/06_credit_card_personalisation.ipynb.

A contextual policy *selects* an arm for a context ``x`` and is *updated* with the context,
the arm and the reward (in the order things happen). Its state is a Gaussian belief
(``mean_``, ``cov_``) about each arm's weights; its maths lives in
:mod:`bandit_lab.contextual.scores`, shared with the vectorised simulator.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit as _sigmoid

from .._base import BasePolicy
from .._rng import RNGLike, resolve_rng
from .._special import arm_index
from .._validation import (
    check_arm,
    check_context,
    check_int,
    check_positive,
    check_probability,
    check_real,
    check_reward,
)
from ..policies import deterministic_propensities
from ..propensities import gaussian_max_propensities
from ..scores import argmax_one, argmax_random
from .posterior import GaussianLinearPosterior
from .scores import (
    gaussian_linear_update,
    laplace_logistic_batch,
    laplace_logistic_update,
    linear_ts_scores,
    linucb_scores,
    logistic_ts_scores,
    score_moments,
)

__all__ = ["ContextualPolicy", "LinearTS", "LinUCB", "LogisticTS"]


def _normal_max(means, variances):
    """P(each arm's normal draw is the largest); a zero variance (a context of zeros) is
    floored at a negligible one, so the draw is the mean, as the scores make it."""
    floor = 1e-24 * (1.0 + means * means)
    return gaussian_max_propensities(means, np.sqrt(np.maximum(variances, floor)))


def _z(level):
    from scipy.stats import norm  # imported on first use: scipy.stats is slow to import

    return norm.ppf(0.5 + level / 2)


class ContextualPolicy(BasePolicy):
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
    family = "contextual"

    def __init__(
        self, n_arms: int, n_features: int, *, prior_var: float = 1.0, rng: RNGLike = None
    ) -> None:
        self.n_features = check_int("n_features", n_features, minimum=1)
        self.prior_var = check_positive("prior_var", prior_var)
        super().__init__(n_arms, rng=rng)

    # -- the pieces a subclass writes ----------------------------------------------------
    def initial_state(self, shape: tuple[int, ...] = ()) -> dict[str, np.ndarray]:
        """Fresh state: every arm at the prior N(0, prior_var I); leading shape ``shape``."""
        shape = tuple(shape)
        k, d = self.n_arms, self.n_features
        return {
            "mean_": np.zeros(shape + (k, d)),
            "cov_": np.broadcast_to(np.eye(d) * self.prior_var, shape + (k, d, d)).copy(),
            "n_obs_": np.zeros(shape + (k,), dtype=np.int64),
        }

    def scores(
        self, state: dict[str, np.ndarray], x: ArrayLike, rng: np.random.Generator | None
    ) -> np.ndarray:
        """Pure: the score of every arm for context(s) ``x``; the choice is their argmax."""
        raise NotImplementedError

    def update_state(
        self, state: dict[str, np.ndarray], x: ArrayLike, arms: ArrayLike, rewards: ArrayLike
    ) -> None:
        """In place: learn the reward of the chosen arm(s) at context(s) ``x``."""
        state["n_obs_"][arm_index(arms)] += 1

    def propensities_of(self, state: dict[str, np.ndarray], x: ArrayLike) -> np.ndarray:
        """Pure: the probability of choosing each arm for context(s) ``x``, (..., n_arms)."""
        raise NotImplementedError(
            f"{type(self).__name__} has no known choice probabilities (propensities); a policy "
            "that knows them defines propensities_of(state, x)."
        )

    # -- what a learner calls -----------------------------------------------------------
    def select(self, x: ArrayLike) -> int:
        """Choose an arm (an ``int``) for context ``x`` (1-D, length ``n_features``)."""
        x = check_context("x", x, self.n_features)
        return argmax_one(self.scores(self._state(), x, self._rng), self._rng)

    def propensities(self, x: ArrayLike) -> np.ndarray:
        """The probability that :meth:`select` chooses each arm for context ``x``, (n_arms,)."""
        return self.propensities_of(self._state(), check_context("x", x, self.n_features))

    def update(self, x: ArrayLike, arm: int, reward: float) -> ContextualPolicy:
        """Learn that ``arm`` earned ``reward`` at context ``x``; return ``self``."""
        x = check_context("x", x, self.n_features)
        arm = check_arm("arm", arm, self.n_arms)
        reward = self._check_reward(reward)
        self.update_state(self._state(), x, np.asarray(arm), np.asarray(reward))
        return self

    def update_many(self, X: ArrayLike, arms: ArrayLike, rewards: ArrayLike) -> ContextualPolicy:
        """Learn from a batch of (context, arm, reward) triples; return ``self``.

        ``X`` has shape (n, n_features); ``arms`` and ``rewards`` shape (n,).
        """
        X = np.asarray(X, dtype=float) if not isinstance(X, (str, bytes)) else X
        if not isinstance(X, np.ndarray) or X.ndim != 2:
            raise ValueError(f"X has shape {np.shape(X)}, must be 2-D (one context per row).")
        arms = np.asarray(arms)
        rewards = np.asarray(rewards, dtype=float)
        if arms.shape != (X.shape[0],) or rewards.shape != (X.shape[0],):
            raise ValueError(
                f"X, arms and rewards have shapes {X.shape}, {arms.shape} and "
                f"{rewards.shape}, must have one row per observation."
            )
        checked = [
            (
                check_context(f"X[{i}]", X[i], self.n_features),
                check_arm(f"arms[{i}]", a, self.n_arms),
                self._check_reward(float(rewards[i]), name=f"rewards[{i}]"),
            )
            for i, a in enumerate(arms.tolist())
        ]
        self._learn_batch(checked)
        return self

    def score_moments(self, x: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of ``x . w`` for every arm: two (n_arms,) arrays."""
        x = check_context("x", x, self.n_features)
        return score_moments(self.mean_, self.cov_, x)

    def choice_probabilities(
        self, x: ArrayLike, *, n_draws: int = 4000, rng: RNGLike = None
    ) -> np.ndarray:
        """How often the policy would choose each arm for context ``x`` (Monte Carlo over
        its own randomness, ``n_draws`` decisions)."""
        x = check_context("x", x, self.n_features)
        n_draws = check_int("n_draws", n_draws, minimum=1)
        gen = resolve_rng(rng)
        state = {k: v[None] for k, v in self._state().items()}  # broadcast against the draws
        picks = argmax_random(self.scores(state, np.broadcast_to(x, (n_draws, x.size)), gen), gen)
        return np.bincount(picks, minlength=self.n_arms) / n_draws

    # -- state as plain data ------------------------------------------------------------
    def _check_saved(self, arrays):
        for k, c in enumerate(arrays["cov_"]):
            try:
                np.linalg.cholesky(c)
            except np.linalg.LinAlgError:
                raise ValueError(
                    f"state['state']['cov_'][{k}] must be a symmetric positive definite matrix."
                ) from None

    # -- internals ----------------------------------------------------------------------
    def _check_reward(self, reward, name="reward"):
        if self._reward_in_unit_interval:
            return check_reward(name, reward)
        return check_real(name, reward)

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
    prior_var : float > 0, default 0.1
        Prior variance of every weight.
    noise_var : float > 0, default 0.01
        Assumed variance of a reward around its mean. For 0/1 conversions at rate p the
        true variance is p (1 - p): far from "nothing to tune", it sets how fast the
        posterior narrows and so how much the bandit explores (notebook 06 measures it).
        The default is below the honest variance on purpose: it earns more, and its
        intervals are too narrow (:class:`~bandit_lab.NIGLinearTS` learns the variance).
    rng : None, int or numpy.random.Generator

    Notes
    -----
    Defaults measured by ``benchmarks/bench_peers.py --sweep`` (conversions lost per 10,000
    customers, mean +- s.e., paired on identical outcomes): on the credit card (16 settings,
    20 seeds) 117.8 +- 8.9 against the best, (1, 0.003), 101.4 +- 4.1 (paired +16.4 +- 9.7);
    on digits (``--short --problems digits --seeds 10``) 629.6 +- 11.3 against (0.1, 0.003)
    at 617.6 +- 13.4 (+12.0 +- 13.1). The old (1, 0.1) lost 182.8 and 981.4. Below 0.01 is a
    cliff: (0.3, 0.003) lost 178 +- 27, runs giving up on an offer after a few early zeros.

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

    def __init__(
        self,
        n_arms: int,
        n_features: int,
        *,
        prior_var: float = 0.1,
        noise_var: float = 0.01,
        rng: RNGLike = None,
    ) -> None:
        self.noise_var = check_positive("noise_var", noise_var)
        super().__init__(n_arms, n_features, prior_var=prior_var, rng=rng)

    def scores(
        self, state: dict[str, np.ndarray], x: ArrayLike, rng: np.random.Generator | None
    ) -> np.ndarray:
        return linear_ts_scores(state["mean_"], state["cov_"], x, rng)

    def propensities_of(self, state: dict[str, np.ndarray], x: ArrayLike) -> np.ndarray:
        """Exact: each arm's score is an independent normal draw, N(x . mean, x' cov x), so
        its probability of being the largest is :func:`gaussian_max_propensities`."""
        return _normal_max(*score_moments(state["mean_"], state["cov_"], x))

    def update_state(
        self, state: dict[str, np.ndarray], x: ArrayLike, arms: ArrayLike, rewards: ArrayLike
    ) -> None:
        gaussian_linear_update(state["mean_"], state["cov_"], x, arms, rewards, self.noise_var)
        super().update_state(state, x, arms, rewards)

    def posterior(self, arm: int) -> GaussianLinearPosterior:
        """The belief about ``arm``'s weights, as a :class:`GaussianLinearPosterior`."""
        arm = check_arm("arm", arm, self.n_arms)
        return GaussianLinearPosterior(
            self.mean_[arm], self.cov_[arm], self.noise_var, int(self.n_obs_[arm])
        )

    def expected_reward(self, x: ArrayLike) -> np.ndarray:
        """Posterior mean of every arm's expected reward at context ``x``, shape (n_arms,)."""
        return self.score_moments(x)[0]

    def reward_interval(self, x: ArrayLike, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Credible interval ``(low, high)`` for every arm's expected reward at ``x``."""
        level = check_probability("level", level, open_low=True, open_high=True)
        m, v = self.score_moments(x)
        z = _z(level)
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
    alpha : float > 0, default 0.3
        Width of the confidence bonus, in standard deviations.
    ridge : float > 0, default 1.0
        The ridge penalty (the prior's precision).
    rng : None, int or numpy.random.Generator
        Only breaks ties.

    Notes
    -----
    Measured as LinearTS's defaults were: (0.3, 1) is the best of 5 finalists on digits
    (564.5 +- 7.7) and within two s.e. of the best of 16 on the credit card (105.2 +- 5.5
    against alpha 0.1 at 98.0 +- 6.8, paired +7.3 +- 7.7), where alpha 0.1 is erratic across
    ridges and loses 584 on digits. The textbook (1, 1) lost 150.4 and 803.9.

    Examples
    --------
    >>> import numpy as np
    >>> ucb = LinUCB(2, 2, alpha=0.5)
    >>> ucb.update([1.0, 0.0], 0, 1.0).select([1.0, 0.0])
    0
    """

    def __init__(
        self,
        n_arms: int,
        n_features: int,
        *,
        alpha: float = 0.3,
        ridge: float = 1.0,
        rng: RNGLike = None,
    ) -> None:
        self.alpha = check_positive("alpha", alpha)
        self.ridge = check_positive("ridge", ridge)
        super().__init__(n_arms, n_features, prior_var=1.0 / self.ridge, noise_var=1.0, rng=rng)

    def scores(
        self, state: dict[str, np.ndarray], x: ArrayLike, rng: np.random.Generator | None
    ) -> np.ndarray:
        return linucb_scores(state["mean_"], state["cov_"], x, self.alpha)

    def propensities_of(self, state: dict[str, np.ndarray], x: ArrayLike) -> np.ndarray:
        """Deterministic: 1 for the highest bound (ties shared), 0 elsewhere."""
        return deterministic_propensities(self.scores(state, x, None))


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

    Notes
    -----
    Default measured by ``benchmarks/bench_peers.py --sweep``: prior variances 1, 3 and 10
    tie on the credit card (189.3, 187.2, 188.6 +- 4-6 lost per 10,000; 0.1 loses 269), and
    1 ties 3 on digits (1059.4 against 1045.6, paired +13.8 +- 9.6). It explores as Thompson
    sampling by the book does, and loses more than the linear bandits on both problems.

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

    def scores(
        self, state: dict[str, np.ndarray], x: ArrayLike, rng: np.random.Generator | None
    ) -> np.ndarray:
        return logistic_ts_scores(state["mean_"], state["cov_"], x, rng)

    def propensities_of(self, state: dict[str, np.ndarray], x: ArrayLike) -> np.ndarray:
        """Exact: the sigmoid keeps the order of the normal logit draws, so these are the
        normal-maximum probabilities of the logits (:func:`gaussian_max_propensities`)."""
        return _normal_max(*score_moments(state["mean_"], state["cov_"], x))

    def update_state(
        self, state: dict[str, np.ndarray], x: ArrayLike, arms: ArrayLike, rewards: ArrayLike
    ) -> None:
        laplace_logistic_update(state["mean_"], state["cov_"], x, arms, rewards)
        super().update_state(state, x, arms, rewards)

    def expected_reward(self, x: ArrayLike) -> np.ndarray:
        """Posterior predictive conversion probability of every arm at ``x`` (the probit
        approximation of E[sigmoid(x . w)])."""
        m, v = self.score_moments(x)
        return _sigmoid(m / np.sqrt(1.0 + np.pi * v / 8.0))

    def reward_interval(self, x: ArrayLike, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Credible interval ``(low, high)`` for every arm's conversion probability at ``x``."""
        level = check_probability("level", level, open_low=True, open_high=True)
        m, v = self.score_moments(x)
        z = _z(level)
        return _sigmoid(m - z * np.sqrt(v)), _sigmoid(m + z * np.sqrt(v))

    def _learn_batch(self, checked):
        # The batch Laplace approximation, one arm at a time: order within a batch is irrelevant.
        for k in range(self.n_arms):
            rows = [(x, r) for x, a, r in checked if a == k]
            if rows:
                X = np.stack([x for x, _ in rows])
                r = np.array([r for _, r in rows])
                self.mean_[k], self.cov_[k] = laplace_logistic_batch(
                    self.mean_[k], self.cov_[k], X, r
                )
                self.n_obs_[k] += len(rows)
