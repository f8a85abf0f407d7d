"""Run contextual experiments: many runs of many policies at once, on the same customers.

Taught in notebooks/06_credit_card_personalisation.ipynb.

:func:`simulate_contextual` is :func:`bandit_lab.simulate` for problems with context. At
every step the environment serves one customer per run and draws whether that customer
would convert on *each* offer; every policy sees the same customer and the same outcomes
(common random numbers), so differences between policies are differences of policy, not
of luck. Each policy is a configuration whose state gets a leading run axis and whose own
score and update functions run all runs at once.

What can be compared:

- a :class:`bandit_lab.contextual.ContextualPolicy` (LinearTS, LogisticTS, LinUCB);
- a plain :class:`bandit_lab.Policy` such as ``BetaBernoulliTS(5)``: one offer for everyone,
  context ignored;
- :class:`~bandit_lab.PerSegment` ``(BetaBernoulliTS(5))``: an independent copy per
  customer segment;
- :class:`~bandit_lab.UniformRandom` and :class:`~bandit_lab.Oracle`: the floor and the
  ceiling (:mod:`bandit_lab.contextual.baselines`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._rng import resolve_rng
from .._validation import check_int
from ..policies import Policy
from ..scores import argmax_random
from ..simulate import _RunsBySteps, _named_policies as _named, _progress
from .baselines import Oracle, PerSegment, UniformRandom
from .policies import ContextualPolicy

__all__ = ["ContextualHistory", "simulate_contextual", "run_contextual"]


# ---------------------------------------------------------------------------------------
# What a simulation returns
# ---------------------------------------------------------------------------------------
@dataclass
class ContextualHistory(_RunsBySteps):
    """What happened in ``n_runs`` runs of one policy.

    Attributes
    ----------
    arms : ndarray of int, shape (n_runs, n_steps)
        Offer chosen at each step.
    rewards : ndarray of float32, shape (n_runs, n_steps)
        Conversion (1) or not (0).
    mean_rewards : ndarray, shape (n_runs, n_steps, n_arms)
        Expected conversion of *every* offer for the customer served (the truth, for
        regret); shared by all policies of one simulation.
    segments : ndarray of int, shape (n_runs, n_steps)
    name : str
    final_state : dict of ndarray or None
        The policy's state after the last step, runs on the first axis (e.g. ``mean_`` of
        shape (n_runs, n_arms, n_features) for LinearTS).
    """

    arms: np.ndarray
    rewards: np.ndarray
    mean_rewards: np.ndarray
    segments: np.ndarray
    name: str = ""
    final_state: dict | None = field(default=None, repr=False)

    @property
    def n_arms(self):
        return self.mean_rewards.shape[2]

    @property
    def expected_rewards(self):
        """Expected conversion of the offer chosen, shape (n_runs, n_steps)."""
        return np.take_along_axis(self.mean_rewards, self.arms[..., None].astype(np.intp), 2)[..., 0]

    @property
    def best_rewards(self):
        """Expected conversion of the best offer for the customer served, (n_runs, n_steps)."""
        return self.mean_rewards.max(axis=2)

    @property
    def optimal(self):
        """Whether the offer chosen was (one of) the best for that customer, (n_runs, n_steps)."""
        return self.expected_rewards >= self.best_rewards

    def regret(self):
        """Cumulative pseudo-regret (expected conversions lost to the oracle), (n_runs, n_steps)."""
        return np.cumsum(self.best_rewards - self.expected_rewards, axis=1)

    def conversion_rate(self, *, start=0, stop=None, expected=False):
        """Per run: conversions per customer over steps ``start:stop`` (realised by default,
        or the expected conversion of the offers made, with ``expected=True``)."""
        values = self.expected_rewards if expected else self.rewards
        return np.asarray(values[:, start:stop], dtype=float).mean(axis=1)

    def optimal_share(self, *, start=0, stop=None):
        """Per run: share of customers who got their best offer over steps ``start:stop``."""
        return self.optimal[:, start:stop].mean(axis=1)

    def arm_shares(self):
        """Per run: share of customers shown each offer, (n_runs, n_arms)."""
        return np.stack([(self.arms == k).mean(axis=1) for k in range(self.n_arms)], axis=1)

    def __repr__(self):
        return (f"ContextualHistory(name={self.name!r}, n_runs={self.n_runs}, "
                f"n_steps={self.n_steps}, n_arms={self.n_arms})")


# ---------------------------------------------------------------------------------------
# One adapter per kind of policy: choose and learn for all runs at once
# ---------------------------------------------------------------------------------------
class _Runner:
    def __init__(self, policy, n_runs, rng):
        self.policy, self.rng, self.rows = policy, rng, np.arange(n_runs)
        self.state = self._initial(n_runs)

    def _initial(self, n_runs):
        return {}

    def learn(self, batch, arms, rewards):
        pass


class _ContextualRunner(_Runner):
    def _initial(self, n_runs):
        return self.policy.initial_state((n_runs,))

    def choose(self, batch):
        return argmax_random(self.policy.scores(self.state, batch.contexts, self.rng), self.rng)

    def learn(self, batch, arms, rewards):
        self.policy.update_state(self.state, batch.contexts, arms, rewards)


class _PlainRunner(_Runner):
    def _initial(self, n_runs):
        return self.policy.initial_state((n_runs,))

    def choose(self, batch):
        return argmax_random(self.policy.scores(self.state, self.rng), self.rng)

    def learn(self, batch, arms, rewards):
        self.policy.update_state(self.state, arms, rewards)


class _SegmentRunner(_Runner):
    def _initial(self, n_runs):
        return self.policy.policy.initial_state((n_runs, self.policy.n_segments))

    def choose(self, batch):
        mine = {k: v[self.rows, batch.segments] for k, v in self.state.items()}
        return argmax_random(self.policy.policy.scores(mine, self.rng), self.rng)

    def learn(self, batch, arms, rewards):
        mine = {k: v[self.rows, batch.segments] for k, v in self.state.items()}
        self.policy.policy.update_state(mine, arms, rewards)
        for k, v in mine.items():
            self.state[k][self.rows, batch.segments] = v


class _RandomRunner(_Runner):
    def choose(self, batch):
        return self.rng.integers(batch.expected.shape[1], size=self.rows.size)


class _OracleRunner(_Runner):
    def choose(self, batch):
        return argmax_random(batch.expected, self.rng)


def _runner_for(name, policy, env):
    if isinstance(policy, ContextualPolicy):
        if policy.n_features != env.n_features:
            raise ValueError(f"policies[{name!r}] has n_features == {policy.n_features}, must match "
                             f"env.n_features == {env.n_features}.")
        kind = _ContextualRunner
    elif isinstance(policy, Policy):
        kind = _PlainRunner
    elif isinstance(policy, PerSegment):
        if policy.n_segments < env.n_segments:
            raise ValueError(f"policies[{name!r}] has n_segments == {policy.n_segments}, must be at "
                             f"least env.n_segments == {env.n_segments}.")
        kind = _SegmentRunner
    elif isinstance(policy, UniformRandom):
        return _RandomRunner
    elif isinstance(policy, Oracle):
        return _OracleRunner
    else:
        raise TypeError(f"policies[{name!r}] is of type {type(policy).__name__}, must be a "
                        "ContextualPolicy, a Policy, PerSegment, UniformRandom or Oracle.")
    if policy.n_arms != env.n_arms:
        raise ValueError(f"policies[{name!r}] has n_arms == {policy.n_arms}, must match "
                         f"env.n_arms == {env.n_arms}.")
    return kind


def simulate_contextual(policies, env, *, n_steps, n_runs=1, rng=None, progress=False):
    """Run every policy ``n_runs`` times for ``n_steps`` customers on ``env``.

    Parameters
    ----------
    policies : dict of name -> policy (or a list, or one policy)
        ContextualPolicy, Policy, PerSegment, UniformRandom or Oracle; configurations,
        left untouched.
    env : CreditCardEnv
        Anything with ``n_arms``, ``n_features``, ``n_segments``, ``serve(n, rng)`` and
        ``outcomes(batch, rng)``.
    n_steps, n_runs : int >= 1
    rng : None, int or numpy.random.Generator
        Root of the streams: one for the customers and their outcomes, one per policy, so
        adding a policy changes none of the others.
    progress : bool
        Show a progress bar (tqdm) over the steps.

    Returns
    -------
    dict of name -> ContextualHistory

    Examples
    --------
    >>> from bandit_lab import BetaBernoulliTS
    >>> from bandit_lab.contextual import LinearTS
    >>> from bandit_lab.credit_card import CreditCardEnv
    >>> env = CreditCardEnv(n_customers=1_000, n_history=500, rng=0)
    >>> res = simulate_contextual({"linear": LinearTS(5, 11), "one offer": BetaBernoulliTS(5),
    ...                            "oracle": Oracle()}, env, n_steps=50, n_runs=4, rng=1)
    >>> res["linear"].arms.shape, float(res["oracle"].regret()[:, -1].max())
    ((4, 50), 0.0)
    """
    named = _named(policies)
    for attr in ("n_arms", "n_features", "n_segments", "serve", "outcomes"):
        if not hasattr(env, attr):
            raise TypeError(f"env is of type {type(env).__name__}, must be an environment such as "
                            f"CreditCardEnv (it has no {attr!r}).")
    kinds = [_runner_for(name, p, env) for name, p in named.items()]
    n_steps = check_int("n_steps", n_steps, minimum=1)
    n_runs = check_int("n_runs", n_runs, minimum=1)

    env_rng, *policy_rngs = resolve_rng(rng).spawn(1 + len(named))
    runners = [kind(p, n_runs, r) for kind, p, r in zip(kinds, named.values(), policy_rngs)]
    arm_dtype = np.int16 if env.n_arms < 2**15 else np.int64
    arms_log = [np.empty((n_steps, n_runs), dtype=arm_dtype) for _ in runners]
    rewards_log = [np.empty((n_steps, n_runs), dtype=np.float32) for _ in runners]
    means = np.empty((n_steps, n_runs, env.n_arms))
    segments = np.empty((n_steps, n_runs), dtype=np.int16)
    rows = np.arange(n_runs)

    for t in _progress(range(n_steps), progress, n_steps):
        batch = env.serve(n_runs, env_rng)
        outcomes = env.outcomes(batch, env_rng)
        means[t] = batch.expected
        segments[t] = batch.segments
        for i, runner in enumerate(runners):
            arms = runner.choose(batch)
            rewards = outcomes[rows, arms]
            runner.learn(batch, arms, rewards)
            arms_log[i][t] = arms
            rewards_log[i][t] = rewards

    means = np.ascontiguousarray(means.transpose(1, 0, 2))
    segments = np.ascontiguousarray(segments.T)
    return {name: ContextualHistory(np.ascontiguousarray(arms_log[i].T),
                                    np.ascontiguousarray(rewards_log[i].T), means, segments, name,
                                    runners[i].state or None)
            for i, name in enumerate(named)}


def run_contextual(policy, env, *, n_steps, rng=None):
    """One run of one policy *object*, customer by customer, through its public verbs.

    The textbook loop: serve a customer, ``policy.select(x)``, observe the conversion,
    ``policy.update(x, arm, reward)``. Slow by design (a Python loop); the policy object
    is updated in place, so afterwards it holds what it learned.

    Examples
    --------
    >>> from bandit_lab import CreditCardEnv, LinearTS
    >>> env = CreditCardEnv(n_customers=1_000, n_history=500, rng=0)
    >>> policy = LinearTS(5, 11, rng=1)
    >>> history = run_contextual(policy, env, n_steps=200, rng=2)
    >>> history.arms.shape, int(policy.n_obs_.sum())
    ((1, 200), 200)
    """
    if not isinstance(policy, ContextualPolicy):
        raise TypeError(f"policy is of type {type(policy).__name__}, must be a ContextualPolicy "
                        "such as LinearTS.")
    n_steps = check_int("n_steps", n_steps, minimum=1)
    gen = resolve_rng(rng)
    arms = np.empty(n_steps, dtype=np.int64)
    rewards = np.empty(n_steps, dtype=np.float32)
    means = np.empty((n_steps, env.n_arms))
    segments = np.empty(n_steps, dtype=np.int16)
    for t in range(n_steps):
        batch = env.serve(1, gen)
        outcome = env.outcomes(batch, gen)[0]
        x = batch.contexts[0]
        arm = policy.select(x)
        policy.update(x, arm, float(outcome[arm]))
        arms[t], rewards[t] = arm, outcome[arm]
        means[t], segments[t] = batch.expected[0], batch.segments[0]
    return ContextualHistory(arms[None], rewards[None], means[None], segments[None], type(policy).__name__,
                             {k: v[None].copy() for k, v in policy._state().items()})


