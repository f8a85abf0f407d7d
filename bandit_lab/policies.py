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

import importlib

import numpy as np

from . import _state as _saved
from . import scores as _scores
from ._rng import resolve_rng
from ._validation import (check_arm, check_int, check_positive, check_probability,
                          check_reward)
from .posteriors import BetaPosterior

__all__ = ["Policy", "BetaBernoulliTS", "EpsilonGreedy", "UCB1", "Softmax", "KLUCB"]

# Modules that define policies too: from_state imports them, so that a saved policy of any
# class can be rebuilt in a process that has not imported them yet.
_POLICY_MODULES = ("bandit_lab.nonstationary", "bandit_lab.production.cold_start")


class Policy(_saved.Saved):
    """Base class: state arrays with arms on the last axis, one score function.

    Subclasses define ``_state_names``, :meth:`initial_state`, :meth:`scores` and
    :meth:`update_state`; all three work for any leading shape, which is how the
    simulator runs many independent copies at once.
    """

    _registry: dict[str, type] = {}  # subclasses by name, for from_state

    def __init__(self, n_arms, *, rng=None):
        self.n_arms = check_int("n_arms", n_arms, minimum=1)
        self.rng = rng
        self._rng = resolve_rng(rng)
        self.reset()

    # -- the three pieces a subclass writes ------------------------------------------
    def initial_state(self, shape=()):
        """Fresh state arrays of shape ``shape + (n_arms,)``."""
        raise NotImplementedError

    def scores(self, state, rng):
        """Pure: the score of every arm given ``state``; the choice is their argmax."""
        raise NotImplementedError

    def update_state(self, state, arms, rewards, runs=None):
        """In place: add the reward of the chosen arm(s) to ``state``.

        ``runs`` (simulator only) names the runs being updated, each at most once; by
        default every run along the leading axis is.
        """
        raise NotImplementedError

    # -- what a learner calls ----------------------------------------------------------
    def get_params(self):
        """The hyper-parameters, as a dict of plain Python values."""
        return {"n_arms": self.n_arms}

    def reset(self):
        """Forget everything learned; return ``self``."""
        self._set_state(self.initial_state(()))
        return self

    def select(self):
        """Choose an arm (an ``int``) by the policy's rule, ties broken at random."""
        return int(argmax_random(self.scores(self._state(), self._rng), self._rng))

    def update(self, arm, reward):
        """Learn from one reward in [0, 1] for ``arm``; return ``self``."""
        arm = check_arm(arm, self.n_arms)
        reward = check_reward(reward)
        self.update_state(self._state(), np.asarray(arm), np.asarray(reward))
        return self

    def update_many(self, arms, rewards):
        """Learn from several (arm, reward) pairs at once (a batch); return ``self``.

        Equivalent to calling :meth:`update` for each pair, in any order.
        """
        arms = np.asarray(arms)
        rewards = np.asarray(rewards, dtype=float)
        if arms.shape != rewards.shape or arms.ndim != 1:
            raise ValueError(f"arms and rewards have shapes {arms.shape} and {rewards.shape}, "
                             "must be 1-D and of the same length.")
        for i, (a, r) in enumerate(zip(arms.tolist(), rewards.tolist())):
            check_arm(a, self.n_arms, name=f"arms[{i}]")
            check_reward(r, name=f"rewards[{i}]")
        state = self._state()
        for k in range(self.n_arms):  # one vectorised update per arm, not one per reward
            mask = arms == k
            if mask.any():
                self._update_arm_total(state, k, int(mask.sum()), float(rewards[mask].sum()))
        return self

    # -- state as plain data -------------------------------------------------------------
    @classmethod
    def from_state(cls, state, *, rng=None):
        """Rebuild a policy saved by :meth:`get_state` (or its JSON text); the class it
        names must be ``cls`` or one of its subclasses."""
        state = _saved.open_envelope(state, made_by="Policy")
        for module in _POLICY_MODULES:  # defined elsewhere, imported lazily by bandit_lab
            importlib.import_module(module)
        target = cls._saved_class(state)
        params = dict(state["params"])
        policy = target(params.pop("n_arms"), rng=rng, **params)
        policy._set_state(_saved.load_arrays(policy, state["state"], target._state_names))
        return policy

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if k != "n_arms")
        return f"{type(self).__name__}({self.n_arms}{', ' + params if params else ''})"

    # -- internals -----------------------------------------------------------------------
    def _update_arm_total(self, state, arm, n, total):
        raise NotImplementedError


argmax_random = _scores.argmax_random


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

    def __init__(self, n_arms, *, alpha0=1.0, beta0=1.0, rng=None):
        self.alpha0 = check_positive("alpha0", alpha0)
        self.beta0 = check_positive("beta0", beta0)
        super().__init__(n_arms, rng=rng)

    def get_params(self):
        return {"n_arms": self.n_arms, "alpha0": self.alpha0, "beta0": self.beta0}

    def initial_state(self, shape=()):
        full = tuple(shape) + (self.n_arms,)
        return {"alpha_": np.full(full, self.alpha0), "beta_": np.full(full, self.beta0)}

    def scores(self, state, rng):
        return _scores.thompson_scores(state["alpha_"], state["beta_"], rng)

    def update_state(self, state, arms, rewards, runs=None):
        _scores.beta_update(state["alpha_"], state["beta_"], arms, rewards, runs)

    def _update_arm_total(self, state, arm, n, total):
        state["alpha_"][arm] += total
        state["beta_"][arm] += n - total

    def posterior(self):
        """The current belief about every arm, as a :class:`BetaPosterior`
        (``.mean``, ``.interval()``, ``.sample()``, ``.pdf()``)."""
        return BetaPosterior(self.alpha_, self.beta_)


class _CountingPolicy(Policy):
    """Policies that keep pull counts and reward sums per arm."""

    _state_names = ("counts_", "sums_")

    def initial_state(self, shape=()):
        full = tuple(shape) + (self.n_arms,)
        return {"counts_": np.zeros(full), "sums_": np.zeros(full)}

    def update_state(self, state, arms, rewards, runs=None):
        _scores.count_update(state["counts_"], state["sums_"], arms, rewards, runs)

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

    def __init__(self, n_arms, *, epsilon=0.1, rng=None):
        self.epsilon = check_probability("epsilon", epsilon)
        super().__init__(n_arms, rng=rng)

    def get_params(self):
        return {"n_arms": self.n_arms, "epsilon": self.epsilon}

    def scores(self, state, rng):
        return _scores.epsilon_greedy_scores(state["counts_"], state["sums_"], self.epsilon, rng)


class UCB1(_CountingPolicy):
    """Upper confidence bound: pull the arm whose mean + sqrt(2 ln t / n) is highest
    (each arm once first). Deterministic except for ties.

    Examples
    --------
    >>> ucb = UCB1(2).update_many([0, 0, 0, 1], [1.0, 0.0, 0.0, 0.0])
    >>> ucb.select()  # 0 + sqrt(2 ln 4 / 1) = 1.67 beats 1/3 + sqrt(2 ln 4 / 3) = 1.29
    1
    """

    def scores(self, state, rng):
        counts = state["counts_"]
        return _scores.ucb1_scores(counts, state["sums_"], counts.sum(axis=-1))


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

    def __init__(self, n_arms, *, tau=0.01, rng=None):
        self.tau = check_positive("tau", tau)
        super().__init__(n_arms, rng=rng)

    def get_params(self):
        return {"n_arms": self.n_arms, "tau": self.tau}

    def scores(self, state, rng):
        return _scores.softmax_scores(state["counts_"], state["sums_"], self.tau, rng)


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

    def __init__(self, n_arms, *, c=0.0, rng=None):
        c_val = float(c) if isinstance(c, (int, float, np.integer, np.floating)) and not isinstance(c, bool) else None
        if c_val is None:
            raise TypeError(f"c == {c!r} is of type {type(c).__name__}, must be a real number.")
        if not np.isfinite(c_val) or c_val < 0:
            raise ValueError(f"c == {c_val!r}, must be a finite number >= 0.")
        self.c = c_val
        super().__init__(n_arms, rng=rng)

    def get_params(self):
        return {"n_arms": self.n_arms, "c": self.c}

    def scores(self, state, rng):
        counts = state["counts_"]
        return _scores.klucb_scores(counts, state["sums_"], counts.sum(axis=-1), c=self.c)
