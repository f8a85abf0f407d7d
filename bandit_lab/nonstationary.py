"""Thompson sampling for rewards that change over time.

Taught in notebooks/07_change_and_delay.ipynb.

Plain Thompson sampling weighs a reward from last year like one from this morning, so after
the best offer changes it needs about as many new observations as it has old ones before
it believes the change. Two fixes forget on purpose:

- :class:`SlidingWindowTS` keeps only the last ``window`` observations;
- :class:`DiscountedTS` multiplies every arm's evidence by ``gamma`` at each observation,
  so evidence fades with a half-life of ``log(2) / -log(gamma)`` observations.

Both are index policies over the same Beta score function as :class:`BetaBernoulliTS` and
run in the vectorised simulator. Their updates depend on order, so ``update_many`` applies
rewards one after another, in the order given.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from . import scores as _scores
from ._rng import RNGLike
from ._validation import check_int, check_positive, check_probability
from .policies import Policy
from .posteriors import BetaPosterior
from .propensities import thompson_propensities

__all__ = ["SlidingWindowTS", "DiscountedTS"]


def _as_runs(state, arms, rewards, runs):
    """View a single object's state as one run, so one code path serves both."""
    arms = np.asarray(arms)
    if arms.ndim == 0:
        state = {k: v.reshape((1,) + v.shape) for k, v in state.items()}  # views, not copies
        return (
            state,
            arms.reshape(1),
            np.asarray(rewards, dtype=float).reshape(1),
            np.zeros(1, dtype=np.intp),
        )
    rows = np.arange(arms.shape[0]) if runs is None else np.asarray(runs)
    return state, arms, np.asarray(rewards, dtype=float), rows


class _OrderedBeta(Policy):
    def __init__(
        self, n_arms: int, *, alpha0: float = 1.0, beta0: float = 1.0, rng: RNGLike = None
    ) -> None:
        self.alpha0 = check_positive("alpha0", alpha0)
        self.beta0 = check_positive("beta0", beta0)
        super().__init__(n_arms, rng=rng)

    def scores(self, state, rng):
        return _scores.thompson_scores(
            self.alpha0 + state["successes_"], self.beta0 + state["failures_"], rng
        )

    def propensities_of(self, state):
        """Exact: the Thompson-sampling probabilities of the forgetful posterior."""
        return thompson_propensities(
            self.alpha0 + state["successes_"], self.beta0 + state["failures_"]
        )

    def update_many(self, arms, rewards):
        """Apply (arm, reward) pairs one after another, in the order given."""
        arms = np.asarray(arms)
        rewards = np.asarray(rewards, dtype=float)
        if arms.shape != rewards.shape or arms.ndim != 1:
            raise ValueError(
                f"arms and rewards have shapes {arms.shape} and {rewards.shape}, "
                "must be 1-D and of the same length."
            )
        for a, r in zip(arms.tolist(), rewards.tolist()):
            self.update(a, r)
        return self

    def posterior(self):
        """The current (forgetful) belief about every arm, as a :class:`BetaPosterior`."""
        return BetaPosterior(
            self.alpha0 + np.maximum(self.successes_, 0.0),
            self.beta0 + np.maximum(self.failures_, 0.0),
        )


class SlidingWindowTS(_OrderedBeta):
    """Thompson sampling on the last ``window`` observations only.

    Parameters
    ----------
    n_arms : int
    window : int >= 1, default 500
        How many of the most recent observations (over all arms) the posterior counts.
    alpha0, beta0 : float > 0
        The Beta prior each arm returns to when its observations leave the window.
    rng : None, int or numpy.random.Generator

    Examples
    --------
    >>> sw = SlidingWindowTS(2, window=3)
    >>> _ = sw.update_many([0, 0, 1, 1], [1.0, 1.0, 0.0, 0.0])
    >>> sw.successes_.tolist(), sw.failures_.tolist()   # the first reward has left
    ([1.0, 0.0], [0.0, 2.0])
    """

    _state_names = ("successes_", "failures_", "window_arms_", "window_rewards_", "n_seen_")

    def __init__(
        self,
        n_arms: int,
        *,
        window: int = 500,
        alpha0: float = 1.0,
        beta0: float = 1.0,
        rng: RNGLike = None,
    ) -> None:
        self.window = check_int("window", window, minimum=1)
        super().__init__(n_arms, alpha0=alpha0, beta0=beta0, rng=rng)

    def initial_state(self, shape: tuple[int, ...] = ()) -> dict[str, np.ndarray]:
        shape = tuple(shape)
        return {
            "successes_": np.zeros(shape + (self.n_arms,)),
            "failures_": np.zeros(shape + (self.n_arms,)),
            "window_arms_": np.full(shape + (self.window,), -1, dtype=np.int64),
            "window_rewards_": np.zeros(shape + (self.window,)),
            "n_seen_": np.zeros(shape, dtype=np.int64),
        }

    def update_state(
        self,
        state: dict[str, np.ndarray],
        arms: ArrayLike,
        rewards: ArrayLike,
        runs: ArrayLike | None = None,
    ) -> None:
        seen = state["n_seen_"]
        if runs is None and np.ndim(arms) == 1 and seen.size and (seen == seen.flat[0]).all():
            # The simulator's usual step: every run has seen as many observations, so the
            # oldest one sits in the same slot of every run's window (plain slicing).
            self._update_one_slot(
                state, np.asarray(arms), np.asarray(rewards, dtype=float), int(seen.flat[0])
            )
            return
        state, arms, rewards, rows = _as_runs(state, arms, rewards, runs)
        succ, fail = state["successes_"], state["failures_"]
        slot = state["n_seen_"][rows] % self.window
        old_arm = state["window_arms_"][rows, slot]
        old_r = state["window_rewards_"][rows, slot]
        leaving = old_arm >= 0
        succ[rows[leaving], old_arm[leaving]] -= old_r[leaving]
        fail[rows[leaving], old_arm[leaving]] -= 1.0 - old_r[leaving]
        state["window_arms_"][rows, slot] = arms
        state["window_rewards_"][rows, slot] = rewards
        succ[rows, arms] += rewards
        fail[rows, arms] += 1.0 - rewards
        state["n_seen_"][rows] += 1

    def _update_one_slot(self, state, arms, rewards, n_seen):
        succ, fail = state["successes_"], state["failures_"]
        slot = n_seen % self.window
        slot_arms, slot_rewards = state["window_arms_"][:, slot], state["window_rewards_"][:, slot]
        if n_seen >= self.window:  # the window is full: each run's oldest observation leaves
            _scores._add_at_arms(succ, slot_arms, -slot_rewards)
            _scores._add_at_arms(fail, slot_arms, -(1.0 - slot_rewards))
        slot_arms[:] = arms
        slot_rewards[:] = rewards
        _scores.beta_update(succ, fail, arms, rewards)
        state["n_seen_"] += 1


class DiscountedTS(_OrderedBeta):
    """Thompson sampling whose evidence fades: at each observation every arm's successes
    and failures are multiplied by ``gamma``, then the new reward is added.

    Parameters
    ----------
    n_arms : int
    gamma : float in (0, 1], default 0.99
        1 is plain Thompson sampling; 0.99 gives old evidence a half-life of ~69 observations.
    alpha0, beta0 : float > 0
    rng : None, int or numpy.random.Generator

    Examples
    --------
    >>> d = DiscountedTS(2, gamma=0.5)
    >>> _ = d.update_many([0, 0], [1.0, 1.0])
    >>> d.successes_.tolist()
    [1.5, 0.0]
    """

    _state_names = ("successes_", "failures_")

    def __init__(
        self,
        n_arms: int,
        *,
        gamma: float = 0.99,
        alpha0: float = 1.0,
        beta0: float = 1.0,
        rng: RNGLike = None,
    ) -> None:
        self.gamma = check_probability("gamma", gamma, open_low=True)
        super().__init__(n_arms, alpha0=alpha0, beta0=beta0, rng=rng)

    def initial_state(self, shape: tuple[int, ...] = ()) -> dict[str, np.ndarray]:
        full = tuple(shape) + (self.n_arms,)
        return {"successes_": np.zeros(full), "failures_": np.zeros(full)}

    def update_state(
        self,
        state: dict[str, np.ndarray],
        arms: ArrayLike,
        rewards: ArrayLike,
        runs: ArrayLike | None = None,
    ) -> None:
        arms = np.asarray(arms)
        if runs is None:
            state["successes_"] *= self.gamma
            state["failures_"] *= self.gamma
        else:
            state["successes_"][runs] *= self.gamma
            state["failures_"][runs] *= self.gamma
        _scores.beta_update(state["successes_"], state["failures_"], arms, rewards, runs)
