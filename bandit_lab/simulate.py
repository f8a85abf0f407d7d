"""Run experiments: many independent copies of every policy, vectorised across runs.

Taught in notebooks/04_comparing_strategies.ipynb.

:func:`simulate` treats each policy object as a *configuration*: it builds state arrays of
shape ``(n_runs, n_arms)`` and steps all runs at once with the policy's own score function.
It spawns one random stream for the environment and one per policy, so every policy faces
the same outcomes and adding a policy to the comparison changes none of the others.

Feedback need not be immediate (taught in notebooks/07_change_and_delay.ipynb):
``delay`` holds each decision's reward back for a number of steps (fixed, or drawn per
decision), and ``update_every`` updates the policies only every k steps with everything
that has arrived. Regret is always measured against what was decided when.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._rng import resolve_rng
from ._validation import check_int
from .environments import Environment
from .policies import Policy
from .scores import argmax_random

__all__ = ["History", "simulate", "run_policy", "geometric_delay"]


class _RunsBySteps:
    """``n_runs`` and ``n_steps`` of a record whose ``arms`` has shape (n_runs, n_steps)."""

    @property
    def n_runs(self):
        return self.arms.shape[0]

    @property
    def n_steps(self):
        return self.arms.shape[1]


@dataclass
class History(_RunsBySteps):
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


def _named_policies(policies):
    """``{name: policy}`` from a dict, a list (named by their repr) or a single policy."""
    if isinstance(policies, dict):
        named = dict(policies)
    elif isinstance(policies, (list, tuple)):
        named = {}
        for p in policies:
            name = repr(p)
            named[name if name not in named else f"{name} #{len(named)}"] = p
    else:
        named = {repr(policies): policies}
    if not named:
        raise ValueError("policies is empty, must name at least one policy.")
    return named


def _progress(iterable, enabled, total, desc="simulating"):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm  # imported only when asked for

    return tqdm(iterable, total=total, desc=desc, leave=False)


def _check_delay(delay):
    if callable(delay):
        return delay
    if isinstance(delay, (bool, np.bool_)) or not isinstance(delay, (int, np.integer)):
        raise TypeError(f"delay == {delay!r} is of type {type(delay).__name__}, must be an integer "
                        "number of steps >= 0 or a function (rng, size) -> integer delays.")
    if delay < 0:
        raise ValueError(f"delay == {delay}, must be >= 0 steps.")
    return int(delay)


def geometric_delay(mean):
    """A delay function for :func:`simulate`: delays of 0, 1, 2, ... steps, geometric with
    the given ``mean`` (> 0). Most rewards come quickly, a few very late.

    >>> import numpy as np
    >>> d = geometric_delay(20.0)(np.random.default_rng(0), 100_000)
    >>> bool(abs(d.mean() - 20.0) < 0.5), int(d.min())
    (True, 0)
    """
    from ._validation import check_positive

    mean = check_positive("mean", mean)
    p = 1.0 / (1.0 + mean)

    def draw(rng, size):
        return rng.geometric(p, size=size) - 1

    draw.__name__ = f"geometric_delay(mean={mean:g})"
    return draw


class _Pending:
    """Rewards on their way: decisions held until their reward arrives and an update is due.

    Held in growable flat arrays (run, arm, reward, due step) in decision order. Each step
    takes out the items due then; taken items are marked and the arrays are compacted only
    once most of them are dead, so a step costs one comparison over what is pending.
    """

    def __init__(self, capacity=1024):
        self.runs = np.empty(capacity, dtype=np.intp)
        self.arms = np.empty(capacity, dtype=np.intp)
        self.rewards = np.empty(capacity)
        self.due = np.empty(capacity, dtype=np.int64)
        self.n = 0      # slots used
        self.dead = 0   # used slots already delivered

    def add(self, due, runs, arms, rewards):
        k = len(due)
        if self.n + k > self.due.size:
            self._compact()
            if self.n + k > self.due.size:
                size = max(2 * self.due.size, self.n + k)
                for name in ("runs", "arms", "rewards", "due"):
                    old = getattr(self, name)
                    new = np.empty(size, dtype=old.dtype)
                    new[:self.n] = old[:self.n]
                    setattr(self, name, new)
        sl = slice(self.n, self.n + k)
        self.runs[sl], self.arms[sl], self.rewards[sl], self.due[sl] = runs, arms, rewards, due
        self.n += k

    def _compact(self):
        live = np.flatnonzero(self.due[:self.n] >= 0)
        for name in ("runs", "arms", "rewards", "due"):
            arr = getattr(self, name)
            arr[:live.size] = arr[live]
        self.n, self.dead = live.size, 0

    def apply(self, t, policy, state, n_runs):
        now = np.flatnonzero(self.due[:self.n] == t)
        if now.size == 0:
            return
        runs, arms, rewards = self.runs[now], self.arms[now], self.rewards[now]
        self.due[now] = -1
        self.dead += now.size
        if self.dead > self.n // 2:
            self._compact()
        if runs.size == n_runs and np.array_equal(runs, np.arange(n_runs)):
            policy.update_state(state, arms, rewards)  # one reward per run, in run order
            return
        # A run may receive several rewards at once: apply them in layers in which each run
        # appears at most once, oldest decision first (items are held in decision order).
        order = np.argsort(runs, kind="stable")
        runs, arms, rewards = runs[order], arms[order], rewards[order]
        idx = np.arange(runs.size)
        first = np.r_[True, runs[1:] != runs[:-1]]
        rank = idx - np.maximum.accumulate(np.where(first, idx, 0))
        for layer in range(int(rank.max()) + 1):
            m = rank == layer
            policy.update_state(state, arms[m], rewards[m], runs=runs[m])


def simulate(policies, env, *, n_steps, n_runs=1, rng=None, progress=False, delay=0,
             update_every=1):
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
    delay : int >= 0 or callable, default 0
        Steps before a decision's reward reaches the policy: a fixed number, or a function
        ``(rng, size) -> int array`` drawing one delay per run (e.g.
        :func:`geometric_delay`). Every policy faces the same delays. Rewards still on
        their way at the end are never seen.
    update_every : int >= 1, default 1
        Update the policies only at the end of every ``update_every``-th step, with all
        the rewards that have arrived by then (batched feedback).

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
    if not single and not isinstance(policies, (dict, list, tuple)):
        raise TypeError(f"policies is of type {type(policies).__name__}, must be a Policy, "
                        "a dict of name -> Policy or a list of Policy.")
    named = {type(policies).__name__: policies} if single else _named_policies(policies)
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
    delay = _check_delay(delay)
    update_every = check_int("update_every", update_every, minimum=1)
    immediate = delay == 0 and update_every == 1

    env_rng, *policy_rngs = resolve_rng(rng).spawn(1 + len(named))
    delay_rng = env_rng.spawn(1)[0]  # its own stream: leaves the outcomes unchanged
    pending = [_Pending() for _ in named]
    all_runs = np.arange(n_runs)
    arm_dtype = np.int16 if env.n_arms < 2**15 else np.int64
    pols = list(named.values())
    states = [p.initial_state((n_runs,)) for p in pols]
    arms_log = [np.empty((n_steps, n_runs), dtype=arm_dtype) for _ in pols]
    rewards_log = [np.empty((n_steps, n_runs), dtype=np.float32) for _ in pols]
    means = np.empty((n_steps, env.n_arms))

    for t in _progress(range(n_steps), progress, n_steps, "simulating"):
        means[t] = env.means_at(t)
        outcomes = env.draw(t, n_runs, env_rng)
        if not immediate:
            d = np.full(n_runs, delay) if not callable(delay) else np.asarray(delay(delay_rng, n_runs))
            if d.shape != (n_runs,) or d.dtype.kind not in "iu" or (d < 0).any():
                raise ValueError(f"delay function returned {d!r}, must return {n_runs} integers >= 0.")
            # due: the end of the first update step at or after the reward's arrival
            due = ((t + d) // update_every + 1) * update_every - 1
        for i, p in enumerate(pols):
            prng = policy_rngs[i]
            arms = argmax_random(p.scores(states[i], prng), prng)
            rewards = env.rewards(outcomes, arms, t)
            if immediate:
                p.update_state(states[i], arms, rewards)
            else:
                pending[i].add(due, all_runs, arms, rewards)
                pending[i].apply(t, p, states[i], n_runs)
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
