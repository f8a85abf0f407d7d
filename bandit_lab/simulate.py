"""Run experiments: many independent copies of every policy, vectorised across runs.

Taught in notebooks/04_comparing_strategies.ipynb.

:func:`simulate` treats each policy object as a *configuration*: it builds state arrays of
shape ``(n_runs, n_arms)`` and steps all runs at once with the policy's own score function.
It spawns one random stream for the environment and one per policy, so every policy faces
the same outcomes and adding a policy to the comparison changes none of the others.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._rng import resolve_rng
from ._validation import check_int
from .environments import Environment
from .policies import Policy
from .scores import argmax_random

__all__ = ["History", "simulate", "run_policy"]


@dataclass
class History:
    """What happened in ``n_runs`` runs of one policy.

    Attributes
    ----------
    arms : ndarray of int, shape (n_runs, n_steps)
        Arm chosen at each step.
    rewards : ndarray of float32, shape (n_runs, n_steps)
        Reward received.
    mean_rewards : ndarray, shape (n_steps, n_arms)
        Expected reward of every arm at each step (the truth, for regret).
    name : str
    """

    arms: np.ndarray
    rewards: np.ndarray
    mean_rewards: np.ndarray
    name: str = ""

    @property
    def n_runs(self):
        return self.arms.shape[0]

    @property
    def n_steps(self):
        return self.arms.shape[1]

    @property
    def n_arms(self):
        return self.mean_rewards.shape[1]

    @property
    def expected_rewards(self):
        """Expected reward of the chosen arm, shape ``(n_runs, n_steps)``."""
        return np.take_along_axis(self.mean_rewards[None], self.arms[..., None].astype(np.intp), 2)[..., 0]

    @property
    def best_rewards(self):
        """Expected reward of the best arm at each step, shape ``(n_steps,)``."""
        return self.mean_rewards.max(axis=1)

    def arm_counts(self):
        """Pulls of each arm in each run, shape ``(n_runs, n_arms)``."""
        return np.stack([(self.arms == k).sum(axis=1) for k in range(self.n_arms)], axis=1)

    def __repr__(self):
        return (f"History(name={self.name!r}, n_runs={self.n_runs}, n_steps={self.n_steps}, "
                f"n_arms={self.n_arms})")


def _progress(iterable, enabled, total, desc):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm  # imported only when asked for

    return tqdm(iterable, total=total, desc=desc, leave=False)


def simulate(policies, env, *, n_steps, n_runs=1, rng=None, progress=False):
    """Run every policy ``n_runs`` times for ``n_steps`` steps on ``env``.

    Parameters
    ----------
    policies : Policy, or dict of name -> Policy, or list of Policy
        Configurations; their own state and ``rng`` are not touched.
    env : Environment
        E.g. :class:`bandit_lab.BernoulliBandit`.
    n_steps, n_runs : int >= 1
    rng : None, int or numpy.random.Generator
        Root of the streams: one for the environment, one per policy.
    progress : bool
        Show a progress bar (tqdm) over the steps.

    Returns
    -------
    History, or dict of name -> History (for a dict or list of policies)

    Examples
    --------
    >>> from bandit_lab import BetaBernoulliTS, UCB1, BernoulliBandit
    >>> res = simulate({"TS": BetaBernoulliTS(2), "UCB1": UCB1(2)},
    ...                BernoulliBandit([0.2, 0.8]), n_steps=50, n_runs=10, rng=0)
    >>> res["TS"].arms.shape
    (10, 50)
    """
    single = isinstance(policies, Policy)
    if single:
        named = {type(policies).__name__: policies}
    elif isinstance(policies, dict):
        named = dict(policies)
    elif isinstance(policies, (list, tuple)):
        named = {}
        for p in policies:
            name = repr(p)
            named[name if name not in named else f"{name} #{len(named)}"] = p
    else:
        raise TypeError(f"policies is of type {type(policies).__name__}, must be a Policy, "
                        "a dict of name -> Policy or a list of Policy.")
    if not named:
        raise ValueError("policies is empty, must name at least one policy.")
    for name, p in named.items():
        if not isinstance(p, Policy):
            raise TypeError(f"policies[{name!r}] is of type {type(p).__name__}, must be a Policy.")
    if not isinstance(env, Environment):
        raise TypeError(f"env is of type {type(env).__name__}, must be an Environment "
                        "such as BernoulliBandit.")
    for name, p in named.items():
        if p.n_arms != env.n_arms:
            raise ValueError(f"policies[{name!r}] has n_arms == {p.n_arms}, must match "
                             f"env.n_arms == {env.n_arms}.")
    n_steps = check_int("n_steps", n_steps, minimum=1)
    n_runs = check_int("n_runs", n_runs, minimum=1)

    env_rng, *policy_rngs = resolve_rng(rng).spawn(1 + len(named))
    arm_dtype = np.int16 if env.n_arms < 2**15 else np.int64
    pols = list(named.values())
    states = [p.initial_state((n_runs,)) for p in pols]
    arms_log = [np.empty((n_steps, n_runs), dtype=arm_dtype) for _ in pols]
    rewards_log = [np.empty((n_steps, n_runs), dtype=np.float32) for _ in pols]
    means = np.empty((n_steps, env.n_arms))

    for t in _progress(range(n_steps), progress, n_steps, "simulating"):
        means[t] = env.means_at(t)
        outcomes = env.draw(t, n_runs, env_rng)
        for i, p in enumerate(pols):
            prng = policy_rngs[i]
            arms = argmax_random(p.scores(states[i], prng), prng)
            rewards = env.rewards(outcomes, arms, t)
            p.update_state(states[i], arms, rewards)
            arms_log[i][t] = arms
            rewards_log[i][t] = rewards

    out = {name: History(np.ascontiguousarray(arms_log[i].T), np.ascontiguousarray(rewards_log[i].T),
                         means, name)
           for i, name in enumerate(named)}
    return out[next(iter(named))] if single else out


def run_policy(policy, env, *, n_steps, rng=None):
    """One run of one policy *object*, step by step through its public verbs.

    Slow by design (a Python loop): it is the textbook loop, kept for teaching and to check
    that the vectorised simulator agrees with it. The policy object is updated in place.
    """
    n_steps = check_int("n_steps", n_steps, minimum=1)
    env_rng = resolve_rng(rng)
    arms = np.empty(n_steps, dtype=np.int64)
    rewards = np.empty(n_steps)
    means = np.empty((n_steps, env.n_arms))
    for t in range(n_steps):
        means[t] = env.means_at(t)
        outcome = env.draw(t, 1, env_rng)
        arm = policy.select()
        reward = float(env.rewards(outcome, np.array([arm]), t)[0])
        policy.update(arm, reward)
        arms[t], rewards[t] = arm, reward
    return History(arms[None], rewards[None].astype(np.float32), means, type(policy).__name__)
