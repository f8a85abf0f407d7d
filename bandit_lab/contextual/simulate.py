"""Run contextual experiments: many runs of many policies at once, on the same customers.

Taught in notebooks/06_credit_card_personalisation.ipynb.

:func:`simulate_contextual` is :func:`bandit_lab.simulate` for problems with context, through
the same run loop (:mod:`bandit_lab._runs`). At every step the environment serves one
customer per run and draws whether that customer would convert on *each* offer; every
policy sees the same customer and the same outcomes (common random numbers), so
differences between policies are differences of policy, not of luck. Each policy is a
configuration whose state gets a leading run axis and whose own score and update functions
run all runs at once.

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

from typing import Any

import numpy as np

from .._rng import RNGLike, resolve_rng
from .._runs import IndexRunner, Runner, named_policies, run
from .._validation import check_int
from ..environments import Environment
from ..history import History
from ..policies import Policy, deterministic_propensities
from ..scores import argmax_random
from ..simulate import check_policy
from .baselines import Oracle, PerSegment, UniformRandom
from .policies import ContextualPolicy

__all__ = ["ContextualHistory", "simulate_contextual", "run_contextual"]


class ContextualHistory(History):
    """What happened in ``n_runs`` runs of one policy on a problem with context: a
    :class:`~bandit_lab.History` whose truth differs from customer to customer
    (``mean_rewards`` of shape (n_runs, n_steps, n_arms)) and whose ``segments`` say which
    segment each customer was in. ``final_state`` holds the policy's state after the last
    step, runs on the first axis (e.g. ``mean_`` of shape (n_runs, n_arms, n_features) for
    LinearTS)."""


# ---------------------------------------------------------------------------------------
# One runner per kind of policy: choose and learn for all runs at once
# ---------------------------------------------------------------------------------------
class _ContextualRunner(Runner):
    def choose(self, step):
        return argmax_random(self.policy.scores(self.state, step.contexts, self.rng), self.rng)

    def learn(self, step, arms, rewards, runs=None):
        if runs is None:
            self.policy.update_state(self.state, step.contexts, arms, rewards)
            return
        mine = {k: v[runs] for k, v in self.state.items()}
        self.policy.update_state(mine, step.contexts[runs], arms, rewards)
        for k, v in mine.items():
            self.state[k][runs] = v

    def propensities(self, step):
        return self.policy.propensities_of(self.state, step.contexts)


class _SegmentRunner(Runner):
    def initial_state(self, n_runs):
        self.rows = np.arange(n_runs)
        return self.policy.policy.initial_state((n_runs, self.policy.n_segments))

    def _mine(self, step):
        return {k: v[self.rows, step.segments] for k, v in self.state.items()}

    def choose(self, step):
        return argmax_random(self.policy.policy.scores(self._mine(step), self.rng), self.rng)

    def learn(self, step, arms, rewards, runs=None):
        rows = self.rows if runs is None else np.asarray(runs)
        mine = {k: v[rows, step.segments[rows]] for k, v in self.state.items()}
        self.policy.policy.update_state(mine, arms, rewards)
        for k, v in mine.items():
            self.state[k][rows, step.segments[rows]] = v

    def propensities(self, step):
        return self.policy.policy.propensities_of(self._mine(step))


class _RandomRunner(Runner):
    def initial_state(self, n_runs):
        return {}

    def choose(self, step):
        return self.rng.integers(np.shape(step.mean_rewards)[-1], size=self.n_runs)

    def learn(self, step, arms, rewards, runs=None):
        pass

    def propensities(self, step):
        k = np.shape(step.mean_rewards)[-1]
        return np.full((self.n_runs, k), 1.0 / k)


class _OracleRunner(_RandomRunner):
    def choose(self, step):
        return argmax_random(step.mean_rewards, self.rng)

    def propensities(self, step):
        return deterministic_propensities(
            np.broadcast_to(step.mean_rewards, (self.n_runs, np.shape(step.mean_rewards)[-1]))
        )


def _runner_for(name, policy, env):
    if isinstance(policy, ContextualPolicy):
        if policy.n_features != env.n_features:
            raise ValueError(
                f"policies[{name!r}] has n_features == {policy.n_features}, must "
                f"match env.n_features == {env.n_features}."
            )
        kind = _ContextualRunner
    elif isinstance(policy, Policy):
        kind = IndexRunner
    elif isinstance(policy, PerSegment):
        if env.n_segments < 1:
            raise ValueError(
                f"policies[{name!r}] is a PerSegment, but env has no segments "
                "(env.n_segments == 0), must be an environment whose customers have segments."
            )
        if policy.n_segments < env.n_segments:
            raise ValueError(
                f"policies[{name!r}] has n_segments == {policy.n_segments}, must "
                f"be at least env.n_segments == {env.n_segments}."
            )
        check_policy(name, policy.policy, "index", "PerSegment")
        kind = _SegmentRunner
    elif isinstance(policy, UniformRandom):
        return _RandomRunner
    elif isinstance(policy, Oracle):
        return _OracleRunner
    else:
        raise TypeError(
            f"policies[{name!r}] is of type {type(policy).__name__}, must be a "
            "ContextualPolicy, a Policy, PerSegment, UniformRandom or Oracle."
        )
    if policy.n_arms != env.n_arms:
        raise ValueError(
            f"policies[{name!r}] has n_arms == {policy.n_arms}, must match "
            f"env.n_arms == {env.n_arms}."
        )
    if kind is not _SegmentRunner:
        check_policy(name, policy, policy.family, "simulate_contextual")
    return kind


def _check_env(env):
    if not isinstance(env, Environment) or env.n_features < 1:
        raise TypeError(
            f"env is of type {type(env).__name__}, must be an Environment with "
            "contexts (n_features >= 1) such as CreditCardEnv."
        )


def simulate_contextual(
    policies: Any,
    env: Environment,
    *,
    n_steps: int,
    n_runs: int = 1,
    rng: RNGLike = None,
    progress: bool = False,
    record_propensities: bool = False,
    record_contexts: bool = False,
    executor: Any = None,
    block_runs: int | None = None,
) -> dict[str, ContextualHistory]:
    """Run every policy ``n_runs`` times for ``n_steps`` customers on ``env``.

    Parameters
    ----------
    policies : dict of name -> policy (or a list, or one policy)
        ContextualPolicy, Policy, PerSegment, UniformRandom or Oracle; configurations
        built without ``rng``, left untouched.
    env : CreditCardEnv
        An :class:`~bandit_lab.environments.Environment` with contexts (``n_features`` > 0)
        and ``n_segments``.
    n_steps, n_runs : int >= 1
    rng : None, int, SeedSequence, BitGenerator or numpy.random.Generator
        Root of the streams: one for the customers and their outcomes, one per policy, so
        adding a policy changes none of the others.
    progress : bool
        Show a progress bar (tqdm) over the steps.
    record_propensities : bool, default False
        Keep the probability each policy gave the arm it chose (``history.propensities``).
    record_contexts : bool, default False
        Keep the context of every decision (``history.contexts``, (n_runs, n_steps,
        n_features)).
    executor, block_runs
        Where blocks of runs are simulated, and how many runs a block holds: as in
        :func:`bandit_lab.simulate`.

    Returns
    -------
    dict of name -> ContextualHistory

    Examples
    --------
    >>> from bandit_lab import BetaBernoulliTS, CreditCardEnv, LinearTS
    >>> env = CreditCardEnv(n_customers=1_000, n_history=500, rng=0)
    >>> res = simulate_contextual({"linear": LinearTS(5, 11), "one offer": BetaBernoulliTS(5),
    ...                            "oracle": Oracle()}, env, n_steps=50, n_runs=4, rng=1)
    >>> res["linear"].arms.shape, float(res["oracle"].regret()[:, -1].max())
    ((4, 50), 0.0)
    """
    named, _ = named_policies(policies)
    _check_env(env)
    kinds = [_runner_for(name, p, env) for name, p in named.items()]
    logs = run(
        env,
        [(name, p, kind) for (name, p), kind in zip(named.items(), kinds)],
        n_steps=n_steps,
        n_runs=n_runs,
        rng=rng,
        executor=executor,
        block_runs=block_runs,
        progress=progress,
        record_propensities=record_propensities,
        record_contexts=record_contexts,
    )
    return {
        name: ContextualHistory(
            log["arms"],
            log["rewards"],
            logs["truth"],
            name,
            segments=logs["segments"],
            contexts=logs["contexts"],
            propensities=log.get("propensities"),
            final_state=log["final_state"],
        )
        for name, log in zip(named, logs["policies"])
    }


def run_contextual(
    policy: ContextualPolicy, env: Environment, *, n_steps: int, rng: RNGLike = None
) -> ContextualHistory:
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
        raise TypeError(
            f"policy is of type {type(policy).__name__}, must be a ContextualPolicy "
            "such as LinearTS."
        )
    n_steps = check_int("n_steps", n_steps, minimum=1)
    gen = resolve_rng(rng)
    arms = np.empty(n_steps, dtype=np.int64)
    rewards = np.empty(n_steps, dtype=np.float32)
    means = np.empty((n_steps, env.n_arms))
    segments = np.empty(n_steps, dtype=np.int16)
    for t in range(n_steps):
        step = env.step(t, 1, gen)
        x = step.contexts[0]
        arm = policy.select(x)
        reward = float(env.rewards(step.outcome, np.array([arm]), t)[0])
        policy.update(x, arm, reward)
        arms[t], rewards[t] = arm, reward
        means[t], segments[t] = step.mean_rewards[0], step.segments[0]
    return ContextualHistory(
        arms[None],
        rewards[None],
        means[None],
        type(policy).__name__,
        segments=segments[None],
        final_state={k: v[None].copy() for k, v in policy._state().items()},
    )
