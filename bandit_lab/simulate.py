"""Run experiments: many independent copies of every policy, vectorised across runs.

Taught in notebooks/04_comparing_strategies.ipynb.

:func:`simulate` treats each policy object as a *configuration*: it builds state arrays of
shape ``(n_runs, n_arms)`` and steps all runs at once with the policy's own score function.
It spawns one random stream for the environment and one per policy, so every policy faces
the same outcomes and adding a policy to the comparison changes none of the others. Like
every simulator of the package it runs through the one run loop
(:mod:`bandit_lab._runs`) and returns a :class:`~bandit_lab.History` per policy.

Feedback need not be immediate (taught in notebooks/07_change_and_delay.ipynb):
``delay`` holds each decision's reward back for a number of steps (fixed, or drawn per
decision), and ``update_every`` updates the policies only every k steps with everything
that has arrived. Regret is always measured against what was decided when.

Many runs split into blocks that can run elsewhere: ``executor=`` sends them to local
processes, a ``concurrent.futures`` pool or a ``dask.distributed`` cluster, with the same
result as in this process.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._rng import RNGLike, resolve_rng
from ._runs import IndexRunner, check_policy, named_policies, run
from ._validation import check_int
from .environments import Environment
from .history import History
from .policies import Policy

__all__ = ["History", "simulate", "run_policy", "geometric_delay"]


def _check_delay(delay):
    if callable(delay):
        return delay
    if isinstance(delay, (bool, np.bool_)) or not isinstance(delay, (int, np.integer)):
        raise TypeError(
            f"delay == {delay!r} is of type {type(delay).__name__}, must be an integer "
            "number of steps >= 0 or a function (rng, size) -> integer delays."
        )
    if delay < 0:
        raise ValueError(f"delay == {delay}, must be >= 0 steps.")
    return int(delay)


class _GeometricDelay:
    """Delays of 0, 1, 2, ... steps, geometric with a given mean (picklable, so a
    simulation with delays can run on other processes)."""

    def __init__(self, mean: float) -> None:
        self.mean = mean
        self.__name__ = f"geometric_delay(mean={mean:g})"

    def __call__(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.geometric(1.0 / (1.0 + self.mean), size=size) - 1

    def __repr__(self) -> str:
        return self.__name__


def geometric_delay(mean: float) -> _GeometricDelay:
    """A delay function for :func:`simulate`: delays of 0, 1, 2, ... steps, geometric with
    the given ``mean`` (> 0). Most rewards come quickly, a few very late.

    >>> import numpy as np
    >>> d = geometric_delay(20.0)(np.random.default_rng(0), 100_000)
    >>> bool(abs(d.mean() - 20.0) < 0.5), int(d.min())
    (True, 0)
    """
    from ._validation import check_positive

    return _GeometricDelay(check_positive("mean", mean))


def simulate(
    policies: Any,
    env: Environment,
    *,
    n_steps: int,
    n_runs: int = 1,
    rng: RNGLike = None,
    progress: bool = False,
    delay: Any = 0,
    update_every: int = 1,
    record_propensities: bool = False,
    executor: Any = None,
    block_runs: int | None = None,
) -> History | dict[str, History]:
    """Run every policy ``n_runs`` times for ``n_steps`` steps on ``env``.

    Parameters
    ----------
    policies : Policy, or dict of name -> Policy, or list of Policy
        Configurations, built without ``rng`` (each gets a stream of its own from the
        simulation's ``rng``; a policy with an ``rng`` of its own is refused rather than
        have it silently ignored); their state is not touched.
    env : Environment
        E.g. :class:`bandit_lab.BernoulliBandit`.
    n_steps, n_runs : int >= 1
    rng : None, int, SeedSequence, BitGenerator or numpy.random.Generator
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
    record_propensities : bool, default False
        Keep, in ``history.propensities``, the probability each policy gave the arm it
        chose (computed from its state at decision time; exact Thompson-sampling
        probabilities cost about 0.3 ms per decision: for logs, not for everyday runs).
    executor : None, "inline", "processes", int, concurrent.futures.Executor, dask Client
        or scheduler address
        Where the blocks of runs are simulated (see :mod:`bandit_lab._parallel`); by
        default in this process. The result does not depend on it.
    block_runs : int, default 10_000
        Runs per block: a simulation of more runs is cut into blocks, each with streams
        spawned from ``rng`` (the result depends on this number, never on the executor).

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
    if not isinstance(policies, (Policy, dict, list, tuple)):
        raise TypeError(
            f"policies is of type {type(policies).__name__}, must be a Policy, "
            "a dict of name -> Policy or a list of Policy."
        )
    named, single = named_policies(policies, single=Policy, single_name=type(policies).__name__)
    for name, p in named.items():
        if not isinstance(p, Policy):
            raise TypeError(f"policies[{name!r}] is of type {type(p).__name__}, must be a Policy.")
    if not isinstance(env, Environment):
        raise TypeError(
            f"env is of type {type(env).__name__}, must be an Environment such as BernoulliBandit."
        )
    for name, p in named.items():
        check_policy(name, p, "index", "simulate", env=env)
    delay = _check_delay(delay)
    update_every = check_int("update_every", update_every, minimum=1)
    logs = run(
        env,
        [(name, p, IndexRunner) for name, p in named.items()],
        n_steps=n_steps,
        n_runs=n_runs,
        rng=rng,
        executor=executor,
        block_runs=block_runs,
        progress=progress,
        delay=delay,
        update_every=update_every,
        record_propensities=record_propensities,
    )
    out = {
        name: History(
            log["arms"],
            log["rewards"],
            logs["truth"],
            name,
            propensities=log.get("propensities"),
            final_state=log["final_state"],
        )
        for name, log in zip(named, logs["policies"])
    }
    return out[next(iter(named))] if single else out


def run_policy(
    policy: Policy,
    env: Environment,
    *,
    n_steps: int,
    rng: RNGLike = None,
    record_propensities: bool = False,
) -> History:
    """One run of one policy *object*, step by step through its public verbs.

    Slow by design (a Python loop): it is the textbook loop, kept for teaching and to check
    that the vectorised simulator agrees with it. The policy object is updated in place and
    draws its choices from its own stream; ``rng`` draws the outcomes.
    """
    n_steps = check_int("n_steps", n_steps, minimum=1)
    env_rng = resolve_rng(rng)
    arms = np.empty(n_steps, dtype=np.int64)
    rewards = np.empty(n_steps)
    means = np.empty((n_steps, env.n_arms))
    probs = np.empty(n_steps) if record_propensities else None
    for t in range(n_steps):
        step = env.step(t, 1, env_rng)
        means[t] = step.mean_rewards
        if probs is not None:
            p = policy.propensities()
        arm = policy.select()
        reward = float(env.rewards(step.outcome, np.array([arm]), t)[0])
        policy.update(arm, reward)
        arms[t], rewards[t] = arm, reward
        if probs is not None:
            probs[t] = p[arm]
    return History(
        arms[None],
        rewards[None].astype(np.float32),
        means,
        type(policy).__name__,
        propensities=None if probs is None else probs[None],
    )
