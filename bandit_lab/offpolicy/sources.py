"""Where logs come from: a DataFrame, a simulation, the decision service's export, or a
fixed logging policy run on an environment (:func:`collect_log`).

Taught in notebooks/11_learning_from_logs.ipynb. The builders are reached through
:class:`~bandit_lab.offpolicy.LoggedFeedback`'s class methods (``from_frame``,
``from_history``, ``from_service_log``), whose docstrings describe them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._rng import RNGLike, resolve_rng
from .._validation import check_int
from .logged import LoggedFeedback, sample_actions

__all__ = ["collect_log"]


def from_frame(
    cls,
    frame,
    *,
    action="action",
    reward="reward",
    propensity="propensity",
    context=None,
    time=None,
    n_arms=None,
    arm_names=None,
):
    """The body of :meth:`LoggedFeedback.from_frame`."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame is of type {type(frame).__name__}, must be a pandas DataFrame.")
    columns = [str(c) for c in frame.columns]
    why = {
        "propensity": ": without the logging policy's propensities a log cannot be "
        "evaluated off-policy"
    }

    def column(role, name):
        if name not in frame.columns:
            raise ValueError(
                f"frame has no column {name!r} (it has "
                f"{', '.join(repr(c) for c in columns)}), name the column "
                f"holding it with {role}=...{why.get(role, '')}."
            )
        return frame[name].to_numpy()

    acts = column("action", action)
    rews = column("reward", reward)
    props = column("propensity", propensity)
    ctx = None
    if context is not None:
        ctx = _numbers(frame, _context_columns(frame, context))
    times = column("time", time) if time is not None else None
    return cls(acts, rews, props, contexts=ctx, n_arms=n_arms, times=times, arm_names=arm_names)


def from_history(cls, history, *, runs=None, contexts=None):
    """The body of :meth:`LoggedFeedback.from_history`."""
    for attr in ("arms", "rewards"):
        if not hasattr(history, attr):
            raise TypeError(
                f"history is of type {type(history).__name__}, must be a "
                f"simulation history (it has no {attr!r})."
            )
    props = getattr(history, "propensities", None)
    if props is None:
        raise ValueError(
            "history has no propensities, must come from a simulation run "
            "with record_propensities=True: without them the log cannot be "
            "evaluated off-policy."
        )
    arms = np.asarray(history.arms)
    if arms.ndim == 1:
        arms = arms[None]
    rows = np.arange(arms.shape[0])
    if runs is not None:
        rows = np.atleast_1d(np.asarray(runs))
        if (
            not np.issubdtype(rows.dtype, np.integer)
            or rows.min() < 0
            or rows.max() >= arms.shape[0]
        ):
            raise ValueError(f"runs == {runs!r}, must be run indices in [0, {arms.shape[0] - 1}].")

    def flat(a, name):
        a = np.asarray(a)
        if a.ndim == arms.ndim - 1:
            a = a[None]
        if a.shape[:2] != arms.shape:
            raise ValueError(
                f"history.{name} has shape {a.shape}, must start with "
                f"{arms.shape} like history.arms."
            )
        return a[rows].reshape((-1,) + a.shape[2:])

    if contexts is None:
        contexts = getattr(history, "contexts", None)
    n_arms = getattr(history, "n_arms", None)
    return cls(
        flat(arms, "arms"),
        flat(history.rewards, "rewards").astype(float),
        flat(props, "propensities"),
        contexts=None if contexts is None else flat(contexts, "contexts"),
        n_arms=n_arms,
        times=np.tile(np.arange(arms.shape[1]), rows.size),
    )


def from_service_log(
    cls,
    path_or_frame,
    *,
    bandit=None,
    context=None,
    missing_rewards="error",
    n_arms=None,
    arm_names=None,
):
    """The body of :meth:`LoggedFeedback.from_service_log`."""
    import pandas as pd

    if isinstance(path_or_frame, pd.DataFrame):
        frame = path_or_frame
    else:
        from pathlib import Path

        path = Path(path_or_frame)
        if not path.exists():
            raise FileNotFoundError(f"path_or_frame == {str(path)!r}: no such file.")
        parquet = path.suffix in (".parquet", ".pq")
        frame = pd.read_parquet(path) if parquet else pd.read_csv(path)
    if missing_rewards not in ("error", "drop", "zero"):
        raise ValueError(
            f"missing_rewards == {missing_rewards!r}, must be 'error', 'drop' or 'zero'."
        )
    if "bandit" in frame.columns:
        names = pd.unique(frame["bandit"])
        if bandit is not None:
            if bandit not in set(names):
                raise ValueError(
                    f"bandit == {bandit!r} is not in the log, must be one of "
                    f"{sorted(map(str, names))}."
                )
            frame = frame[frame["bandit"] == bandit]
        elif len(names) > 1:
            raise ValueError(
                f"the log holds {len(names)} bandits ({sorted(map(str, names))}), "
                "pass bandit=... to choose one."
            )
    for col in ("arm_index", "propensity", "reward"):
        if col not in frame.columns:
            raise ValueError(
                f"the service log has no column {col!r} (it has "
                f"{', '.join(repr(str(c)) for c in frame.columns)}), must be a "
                "file written by `bandit-lab export-log`."
            )
    frame = frame.sort_values("time", kind="stable") if "time" in frame.columns else frame
    no_propensity = frame["propensity"].isna()
    if no_propensity.any():
        raise ValueError(
            f"{int(no_propensity.sum())} decisions in the log have no propensity "
            "(propensity logging was off when they were made), so the log cannot "
            "be evaluated off-policy: keep only the decisions made with it on."
        )
    missing = frame["reward"].isna()
    if missing.any():
        if missing_rewards == "error":
            raise ValueError(
                f"{int(missing.sum())} decisions in the log have no reward yet, "
                "pass missing_rewards='drop' to leave them out or 'zero' to "
                "count them as 0."
            )
        if missing_rewards == "drop":
            frame = frame[~missing]
        else:
            frame = frame.assign(reward=frame["reward"].fillna(0.0))
    ctx = None
    if context is not None:
        ctx = _numbers(frame, _context_columns(frame, context))
    elif "context" in frame.columns:
        import json

        ctx = np.array(
            [json.loads(c) if isinstance(c, str) else c for c in frame["context"]], dtype=float
        )
    else:
        for prefix in ("x", "context_", "x_"):
            try:
                names = _context_columns(frame, prefix)
            except ValueError:
                continue
            ctx = _numbers(frame, names)
            break
    lookup = {}
    if "arm" in frame.columns and len(frame):
        pairs = frame[["arm_index", "arm"]].drop_duplicates()
        if pairs["arm_index"].is_unique:
            lookup = dict(zip(pairs["arm_index"].astype(int), pairs["arm"].astype(str)))
    if arm_names is not None and not isinstance(arm_names, (str, bytes)):
        named = [str(a) for a in arm_names]
        for k, name in sorted(lookup.items()):
            if k < len(named) and named[k] != name:
                raise ValueError(
                    f"arm_names[{k}] == {named[k]!r} but the log calls arm {k} {name!r}, "
                    "must name the arms in the service's order."
                )
    elif arm_names is None and lookup and set(lookup) == set(range(max(lookup) + 1)):
        if n_arms is None or n_arms == len(lookup):
            arm_names = tuple(lookup[k] for k in range(len(lookup)))
    times = frame["time"].to_numpy() if "time" in frame.columns else None
    eligible = _eligible(frame, n_arms, arm_names)
    return cls(
        frame["arm_index"].to_numpy(),
        frame["reward"].to_numpy(dtype=float),
        frame["propensity"].to_numpy(dtype=float),
        contexts=ctx,
        n_arms=n_arms,
        times=times,
        arm_names=arm_names,
        eligible=eligible,
    )


def _eligible(frame, n_arms, arm_names):
    """The ``eligible`` column (JSON lists of arm names, empty when every arm was) as an
    (n, n_arms) boolean array, or None when no decision was restricted."""
    import json

    if "eligible" not in frame.columns:
        return None
    lists = [json.loads(v) if isinstance(v, str) and v.strip() else None for v in frame["eligible"]]
    if all(v is None for v in lists):
        return None
    names = list(arm_names) if arm_names is not None else None
    if names is None:
        raise ValueError(
            "the log restricts some decisions to some arms (its eligible column), pass "
            "arm_names=... (the bandit's arms, in the service's order) to read them."
        )
    k = n_arms if n_arms is not None else len(names)
    mask = np.ones((len(lists), k), dtype=bool)
    for i, arms in enumerate(lists):
        if arms is None:
            continue
        unknown = [a for a in arms if a not in names]
        if unknown:
            raise ValueError(
                f"the log's eligible column names arm {unknown[0]!r}, which is not in "
                f"arm_names {names}."
            )
        mask[i] = [a in arms for a in names]
    return mask


def _numbers(frame, names):
    """The context columns ``names`` of ``frame`` as a float array, or a sentence naming the
    first column that holds something else."""
    try:
        return frame[names].to_numpy(dtype=float)
    except (TypeError, ValueError):
        for name in names:
            for value in frame[name]:
                try:
                    float(value)
                except (TypeError, ValueError):
                    raise TypeError(
                        f"frame's context column {name!r} holds {value!r}, must hold numbers."
                    ) from None
        raise


def _context_columns(frame, context):
    """Context column names: a list as given, or every column ``prefix<int>`` in order."""
    import re

    if isinstance(context, str):
        pattern = re.compile(re.escape(context) + r"(\d+)$")
        found = sorted((int(m.group(1)), c) for c in frame.columns if (m := pattern.match(str(c))))
        if not found:
            raise ValueError(
                f"context == {context!r}: frame has no columns {context}0, "
                f"{context}1, ..., must name the context columns or their prefix."
            )
        return [c for _, c in found]
    names = list(context)
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise ValueError(
            f"frame has no column {missing[0]!r}, must hold every context column "
            f"named in context (missing: {missing})."
        )
    return names


def collect_log(
    env: Any, logging_policy: Any, *, n_rounds: int, rng: RNGLike = None, return_truth: bool = False
) -> LoggedFeedback | tuple[LoggedFeedback, np.ndarray]:
    """Run a fixed logging policy on ``env`` for ``n_rounds`` customers and log it.

    Parameters
    ----------
    env : CreditCardEnv (or anything with ``serve(n, rng)`` returning a batch with
        ``contexts`` and ``expected``, and ``outcomes(batch, rng)``)
    logging_policy
        Anything :func:`~bandit_lab.offpolicy.action_probabilities` accepts: a policy with
        ``action_probabilities(contexts)``, a frozen ``LinearTS``, a function of the
        contexts, ...
    n_rounds : int >= 1
    rng : None, int or numpy.random.Generator
        One stream draws the customers, the logger's choices and the outcomes.
    return_truth : bool
        Also return every arm's expected reward in every round, shape (n_rounds, n_arms):
        what only a simulation knows.

    Returns
    -------
    LoggedFeedback, or (LoggedFeedback, ndarray) with ``return_truth``

    Examples
    --------
    >>> from bandit_lab import CreditCardEnv
    >>> from bandit_lab.offpolicy import UniformPolicy
    >>> env = CreditCardEnv(n_customers=1_000, n_history=500, rng=0)
    >>> log = collect_log(env, UniformPolicy(5), n_rounds=100, rng=1)
    >>> log.n_rounds, float(log.propensities[0])
    (100, 0.2)
    """
    from .targets import action_probabilities

    n_rounds = check_int("n_rounds", n_rounds, minimum=1)
    gen = resolve_rng(rng)
    batch = env.serve(n_rounds, gen)
    probs = action_probabilities(logging_policy, batch.contexts, n_arms=env.n_arms)
    actions = sample_actions(probs, gen)
    outcomes = env.outcomes(batch, gen)
    rows = np.arange(n_rounds)
    log = LoggedFeedback(
        actions,
        outcomes[rows, actions],
        probs[rows, actions],
        contexts=batch.contexts,
        n_arms=env.n_arms,
        times=rows,
        logging_probabilities=probs,
        arm_names=getattr(env, "offer_names", None),
    )
    return (log, np.asarray(batch.expected, dtype=float)) if return_truth else log
