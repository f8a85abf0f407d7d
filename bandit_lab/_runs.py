"""The one run loop: every simulator of the package runs its experiments through it.

:func:`run` names the policies once, splits the runs into blocks, spawns the streams once
per block, steps every policy of a block through the environment together and fills the
logs once; the simulators (:func:`~bandit_lab.simulate`, :func:`~bandit_lab.explore_then_commit`,
:func:`~bandit_lab.simulate_contextual`, :func:`~bandit_lab.simulate_funnel`,
:func:`~bandit_lab.simulate_budget`) only say which :class:`Runner` drives each kind of
policy and what a family's history adds.

Streams. A block's root stream is spawned into one stream for the environment and one per
policy, in the order the policies are named, so every policy faces the same outcomes and
adding a policy changes none of the others. All spawning happens in the calling process,
before any block runs, so a Generator passed as ``rng`` moves on alike whichever executor
runs the blocks. A simulation of at most ``block_runs`` runs is
one block whose root is ``rng`` itself; a larger one is cut into blocks of ``block_runs``
runs whose roots are ``rng.spawn(n_blocks)``. Blocks are independent pieces of work, so
they go through the package's one ``executor`` option (:func:`bandit_lab._parallel.map_blocks`):
in the calling process by default (vectorised, nothing pickled), or on local processes, a
``concurrent.futures`` pool or a ``dask.distributed`` cluster. The streams travel with the
blocks, so the results are the same whichever executor runs them and however many workers
it has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ._parallel import map_blocks
from ._pending import _Pending
from ._rng import RNGLike, resolve_rng
from ._validation import check_int
from .environments import Environment
from .scores import argmax_random

__all__ = ["Runner", "IndexRunner", "check_policy", "named_policies", "run", "BLOCK_RUNS"]

#: Runs per block by default: large enough that NumPy's per-call cost is spread over many
#: runs, small enough that a block's logs fit a worker's memory.
BLOCK_RUNS = 10_000


def named_policies(
    policies: Any, *, single: type | tuple[type, ...] = (), single_name: str | None = None
) -> tuple[dict[str, Any], bool]:
    """``({name: policy}, was_single)`` from a dict, a list (named by their repr) or one
    policy (an instance of ``single``, named ``single_name`` or its repr)."""
    if isinstance(policies, dict):
        named, was_single = dict(policies), False
    elif isinstance(policies, (list, tuple)):
        named = {}
        for p in policies:
            name = repr(p)
            named[name if name not in named else f"{name} #{len(named)}"] = p
        was_single = False
    elif single and not isinstance(policies, single):
        raise TypeError(
            f"policies is of type {type(policies).__name__}, must be a policy, a "
            "dict of name -> policy or a list of policies."
        )
    else:
        named = {single_name or repr(policies): policies}
        was_single = True
    if not named:
        raise ValueError("policies is empty, must name at least one policy.")
    return named, was_single


def check_policy(
    name: str,
    policy: Any,
    family: str,
    use: str,
    *,
    env: Any = None,
    methods: tuple[str, ...] = (),
    example: str | None = None,
) -> None:
    """Refuse a policy a simulator cannot run faithfully, naming what to do instead: it
    lacks the ``methods`` the simulator calls (one's own policy may duck-type them, as
    notebook 09's do), is of another ``family``, has other arms than ``env``, or has an
    ``rng`` of its own that the simulator would silently ignore."""
    missing = [m for m in methods if not callable(getattr(policy, m, None))]
    if not hasattr(policy, "n_arms"):
        missing.append("n_arms")
    if missing:
        such = f" such as {example}" if example else ""
        raise TypeError(
            f"policies[{name!r}] is of type {type(policy).__name__} and has no "
            f"{', '.join(missing)}, must be a {family!r} policy{such}."
        )
    fam = getattr(policy, "family", family)
    if fam != family:
        raise TypeError(
            f"policies[{name!r}] is a {type(policy).__name__}, a {fam!r} policy: "
            f"{use} runs {family!r} policies (use the simulator of its family)."
        )
    if env is not None and policy.n_arms != env.n_arms:
        raise ValueError(
            f"policies[{name!r}] has n_arms == {policy.n_arms}, must match "
            f"env.n_arms == {env.n_arms}."
        )
    if getattr(policy, "rng", None) is not None:
        raise ValueError(
            f"policies[{name!r}] has its own rng == {policy.rng!r}, must be None: the simulator "
            "gives every policy a stream spawned from its own rng argument (so that all "
            "policies face the same outcomes), and would otherwise ignore this one. Build the "
            f"policy without rng, e.g. {type(policy).__name__}(...), and seed the simulation."
        )


class Runner:
    """One policy's state for a block of runs, its stream, and how it chooses and learns.

    A family writes :meth:`choose` and :meth:`learn` (and :meth:`propensities` when its
    choice probabilities are known); :meth:`active` says which runs are still going (all,
    unless a budget ends some).
    """

    #: extra logs a family keeps: name -> dtype, filled by :meth:`log_extras`
    extras: ClassVar[dict[str, Any]] = {}

    def __init__(self, policy: Any, n_runs: int, rng: np.random.Generator) -> None:
        self.policy, self.rng, self.n_runs = policy, rng, n_runs
        self.state = self.initial_state(n_runs)

    def initial_state(self, n_runs: int) -> dict[str, np.ndarray]:
        return self.policy.initial_state((n_runs,))

    def choose(self, step: Any) -> np.ndarray:
        raise NotImplementedError

    def learn(self, step: Any, arms: np.ndarray, feedback: Any, runs: Any = None) -> None:
        raise NotImplementedError

    def propensities(self, step: Any) -> np.ndarray:
        """The probability of choosing each arm in every run now, shape (n_runs, n_arms)."""
        return self.policy.propensities_of(self.state)

    def active(self) -> np.ndarray | None:
        return None

    def log_extras(self, logs: dict[str, np.ndarray], t: int, rows: Any, feedback: Any) -> None:
        pass

    def final_state(self) -> dict[str, np.ndarray] | None:
        return self.state or None


class IndexRunner(Runner):
    """A context-free index policy: the argmax of its scores, ties broken at random."""

    def choose(self, step: Any) -> np.ndarray:
        return argmax_random(self.policy.scores(self.state, self.rng), self.rng)

    def learn(self, step: Any, arms: np.ndarray, feedback: Any, runs: Any = None) -> None:
        self.policy.update_state(self.state, arms, feedback, runs=runs)


@dataclass
class _Block:
    """One independent piece of a simulation: what :func:`_run_block` needs, picklable."""

    env: Any
    policies: list[tuple[str, Any, type]]
    n_steps: int
    n_runs: int
    #: the environment's stream and one per policy, spawned in the calling process (a
    #: worker gets copies: spawning there would leave the caller's Generator unmoved)
    streams: list[np.random.Generator]
    delay: Any = 0
    update_every: int = 1
    record_propensities: bool = False
    record_contexts: bool = False
    until_inactive: bool = False
    progress: Any = None


def _run_block(block: _Block) -> dict[str, Any]:
    """Step every policy of ``block`` through its environment; return the logs, steps
    first (arrays of shape (n_steps, n_runs, ...))."""
    env, n_steps, n_runs = block.env, block.n_steps, block.n_runs
    env_rng, *policy_rngs = block.streams
    delay_rng = env_rng.spawn(1)[0]  # its own stream: leaves the outcomes unchanged
    runners = [kind(policy, n_runs, r) for (_, policy, kind), r in zip(block.policies, policy_rngs)]
    immediate = block.delay == 0 and block.update_every == 1
    pending = [_Pending() for _ in runners]
    all_runs = np.arange(n_runs)
    arm_dtype = np.int16 if env.n_arms < 2**15 else np.int64
    fill = -1 if block.until_inactive else 0
    logs = [
        {
            "arms": np.full((n_steps, n_runs), fill, dtype=arm_dtype),
            "rewards": np.zeros((n_steps, n_runs), dtype=np.float32),
            **{k: np.zeros((n_steps, n_runs), dtype=d) for k, d in r.extras.items()},
            **({"propensities": np.zeros((n_steps, n_runs))} if block.record_propensities else {}),
        }
        for r in runners
    ]
    truth = contexts = segments = None
    # most environments teach with the rewards themselves: compute them once
    plain_feedback = getattr(type(env).feedback, "__func__", type(env).feedback) is getattr(
        Environment.feedback, "__func__", Environment.feedback
    )
    steps = range(n_steps) if block.progress is None else block.progress(range(n_steps))
    t_end = n_steps
    for t in steps:
        if block.until_inactive:
            active = [r.active() for r in runners]
            if not any(a.any() for a in active):
                t_end = t
                break
        else:
            active = [None] * len(runners)
        step = env.step(t, n_runs, env_rng)
        if truth is None:  # the truth is logged compactly when every run shares it
            shape = np.shape(step.mean_rewards)
            truth = np.empty((n_steps,) + shape)
            if step.segments is not None:
                segments = np.empty((n_steps, n_runs), dtype=np.int16)
            if block.record_contexts and step.contexts is not None:
                contexts = np.empty((n_steps,) + np.shape(step.contexts))
        truth[t] = step.mean_rewards
        if segments is not None:
            segments[t] = step.segments
        if contexts is not None:
            contexts[t] = step.contexts
        if not immediate:
            d = (
                np.full(n_runs, block.delay)
                if not callable(block.delay)
                else np.asarray(block.delay(delay_rng, n_runs))
            )
            if d.shape != (n_runs,) or d.dtype.kind not in "iu" or (d < 0).any():
                raise ValueError(
                    f"delay function returned {d!r}, must return {n_runs} integers >= 0."
                )
            # due: the end of the first update step at or after the reward's arrival
            due = ((t + d) // block.update_every + 1) * block.update_every - 1
        for i, runner in enumerate(runners):
            rows = None
            if active[i] is not None:
                rows = np.flatnonzero(active[i])
                if rows.size == 0:
                    continue
            log = logs[i]
            if block.record_propensities:
                try:
                    probs = runner.propensities(step)
                except NotImplementedError:
                    name = block.policies[i][0]
                    raise ValueError(
                        f"record_propensities is True, but policies[{name!r}] is a "
                        f"{type(runner.policy).__name__}, whose choice probabilities are not "
                        "known: record them for policies that know them, or leave "
                        "record_propensities False."
                    ) from None
            arms = runner.choose(step)
            rewards = env.rewards(step.outcome, arms, t)
            feedback = rewards if plain_feedback else env.feedback(step.outcome, arms, t)
            if rows is not None:  # only the runs still going learn and are logged
                arms, rewards = arms[rows], rewards[rows]
                feedback = (
                    type(feedback)(*(f[rows] for f in feedback))
                    if isinstance(feedback, tuple)
                    else feedback[rows]
                )
                runner.learn(step, arms, feedback, runs=rows)
            elif immediate:
                runner.learn(step, arms, feedback)
            else:
                pending[i].add(due, all_runs, arms, feedback)
                pending[i].apply(t, runner, step, n_runs)
            target = slice(None) if rows is None else rows
            log["arms"][t, target] = arms
            log["rewards"][t, target] = rewards
            if block.record_propensities:
                log["propensities"][t, target] = probs[np.arange(n_runs)[target], arms]
            runner.log_extras(log, t, target, feedback)
    out = {
        "n_steps": t_end,
        "truth": truth[:t_end] if truth is not None else None,
        "contexts": None if contexts is None else contexts[:t_end],
        "segments": None if segments is None else segments[:t_end],
        "policies": [],
    }
    for log, runner in zip(logs, runners):
        out["policies"].append(
            {**{k: v[:t_end] for k, v in log.items()}, "final_state": runner.final_state()}
        )
    return out


def _bar(total: int, desc: str):
    from tqdm.auto import tqdm  # imported only when asked for

    return tqdm(total=total, desc=desc, leave=False)


def run(
    env: Any,
    policies: list[tuple[str, Any, type]],
    *,
    n_steps: int,
    n_runs: int,
    rng: RNGLike = None,
    executor: Any = None,
    block_runs: int | None = None,
    progress: bool = False,
    delay: Any = 0,
    update_every: int = 1,
    record_propensities: bool = False,
    record_contexts: bool = False,
    until_inactive: bool = False,
) -> dict[str, Any]:
    """Run ``policies`` (``(name, policy, Runner class)`` triples) on ``env``; return the logs
    of all blocks joined along the runs, runs first: ``{"truth", "contexts", "segments",
    "policies": [per policy: {"arms", "rewards", extras..., "final_state"}]}``."""
    n_steps = check_int("n_steps", n_steps, minimum=1)
    n_runs = check_int("n_runs", n_runs, minimum=1)
    block_runs = (
        BLOCK_RUNS if block_runs is None else check_int("block_runs", block_runs, minimum=1)
    )
    root = resolve_rng(rng)
    sizes = [min(block_runs, n_runs - start) for start in range(0, n_runs, block_runs)]
    roots = [root] if len(sizes) == 1 else root.spawn(len(sizes))
    blocks = [
        _Block(
            env,
            policies,
            n_steps,
            size,
            r.spawn(1 + len(policies)),
            delay,
            update_every,
            record_propensities,
            record_contexts,
            until_inactive,
        )
        for size, r in zip(sizes, roots)
    ]
    inline = executor is None or executor == "inline"
    bar = None
    if progress and inline:
        bar = _bar(n_steps * len(blocks), "simulating")

        def stepper(steps):
            for t in steps:
                yield t
                bar.update(1)

        for b in blocks:
            b.progress = stepper
    elif progress:
        bar = _bar(len(blocks), "blocks of runs")
    try:
        parts = map_blocks(
            _run_block,
            blocks,
            executor=executor,
            default="inline",
            on_result=(lambda i, r: bar.update(1)) if bar is not None and not inline else None,
        )
    finally:
        if bar is not None:
            bar.close()
    return _join(parts)


def _join(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The logs of every block, runs first and blocks joined along the runs; blocks that
    ended at different steps (budgets) are padded with no decision (-1)."""
    n_steps = max(p["n_steps"] for p in parts)

    def runs_first(arrays, fill=0):
        padded = []
        for a in arrays:
            if a.shape[0] < n_steps:
                pad = np.full((n_steps - a.shape[0],) + a.shape[1:], fill, dtype=a.dtype)
                a = np.concatenate([a, pad])
            padded.append(np.swapaxes(a, 0, 1))
        return np.ascontiguousarray(padded[0] if len(padded) == 1 else np.concatenate(padded))

    truth = parts[0]["truth"]
    if truth is not None and truth.ndim == 3:  # one truth per run: join the runs
        truth = runs_first([p["truth"] for p in parts])
    elif truth is not None and truth.shape[0] < n_steps:
        truth = np.concatenate([truth, np.repeat(truth[-1:], n_steps - truth.shape[0], 0)])
    out = {
        "truth": truth,
        "n_steps": n_steps,
        "contexts": None
        if parts[0]["contexts"] is None
        else runs_first([p["contexts"] for p in parts]),
        "segments": None
        if parts[0]["segments"] is None
        else runs_first([p["segments"] for p in parts]),
        "policies": [],
    }
    for i in range(len(parts[0]["policies"])):
        logs = [p["policies"][i] for p in parts]
        joined = {
            k: runs_first([log[k] for log in logs], fill=-1 if k == "arms" else 0)
            for k in logs[0]
            if k != "final_state"
        }
        states = [log["final_state"] for log in logs]
        joined["final_state"] = (
            None
            if states[0] is None
            else {k: np.concatenate([s[k] for s in states]) for k in states[0]}
        )
        out["policies"].append(joined)
    return out
