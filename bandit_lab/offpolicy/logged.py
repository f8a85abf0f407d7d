"""Logged bandit feedback: what a running policy must record for anyone to learn from it.

Taught in notebooks/11_learning_from_logs.ipynb.

A log holds, for every decision the logging policy made: the context it saw (if any), the
action it took, the reward that followed, and the **propensity**, the probability with
which the logging policy took that action at that moment. Without the propensities no
estimator here can correct for what the logger preferred. Optionally the time of each
decision, and the logger's whole distribution over actions.

:class:`LoggedFeedback` validates all of it once, at the boundary, with sentence-long
errors; the estimators can then trust it. It is built from arrays, a DataFrame
(``from_frame``), a simulation run with ``record_propensities=True`` (``from_history``),
the decision service's export (``from_service_log``), or by :func:`collect_log`.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from .._validation import check_int
from ._checks import (
    _as_1d,
    _check_actions,
    _check_contexts,
    _check_propensities,
    _first_bad,
    _one_dim,
    check_eligible,
    check_probabilities,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LoggedFeedback", "check_probabilities", "sample_actions"]


def _check_log(log):
    if not isinstance(log, LoggedFeedback):
        raise TypeError(
            f"log is of type {type(log).__name__}, must be a LoggedFeedback "
            "(build one with LoggedFeedback(actions, rewards, propensities, ...))."
        )
    if log.n_rounds == 0:
        raise ValueError("log has no rounds, must hold at least one.")
    return log


class LoggedFeedback:
    """A log of bandit feedback: contexts, actions, rewards and the logger's propensities.

    Parameters
    ----------
    actions : array_like of int, shape (n,)
        The arm the logging policy chose in each round, in ``[0, n_arms)``.
    rewards : array_like of float, shape (n,)
        The reward that followed; any finite number.
    propensities : array_like of float, shape (n,)
        The probability, in (0, 1], with which the logging policy chose that arm then.
    contexts : array_like, shape (n, n_features), optional
        What the logging policy saw.
    n_arms : int, optional
        Number of arms; by default one more than the largest logged action.
    times : array_like, shape (n,), optional
        When each decision was made (any numbers or datetimes; kept, not interpreted).
    logging_probabilities : array_like, shape (n, n_arms), optional
        The logger's whole distribution over the arms in each round, when it is known;
        its entry for the logged action must equal the propensity.
    arm_names : sequence of str, optional
    eligible : array_like of bool, shape (n, n_arms), optional
        The arms the logger could choose in each round (a service decision restricted to
        some arms), its propensity being among those; the estimators then evaluate a target
        restricted to them, renormalised, and warn when that moved probability.

    Attributes
    ----------
    The parameters, as read-only NumPy arrays, and ``n_rounds``, ``n_features``.

    Examples
    --------
    >>> log = LoggedFeedback([0, 2, 1], [1.0, 0.0, 1.0], [0.5, 0.25, 0.25], n_arms=3)
    >>> log
    LoggedFeedback(n_rounds=3, n_arms=3, contexts=None)
    >>> LoggedFeedback([0, 1], [1.0, 0.0], [0.5, 0.0])
    Traceback (most recent call last):
    ...
    ValueError: propensities[1] == 0.0, must be in (0, 1]: the probability with which the logging policy took the logged action.
    """

    __slots__ = (
        "actions",
        "arm_names",
        "contexts",
        "eligible",
        "logging_probabilities",
        "n_arms",
        "propensities",
        "rewards",
        "times",
    )

    def __init__(
        self,
        actions: ArrayLike,
        rewards: ArrayLike,
        propensities: ArrayLike,
        *,
        contexts: ArrayLike | None = None,
        n_arms: int | None = None,
        times: ArrayLike | None = None,
        logging_probabilities: ArrayLike | None = None,
        arm_names: Sequence[str] | None = None,
        eligible: ArrayLike | None = None,
    ) -> None:
        if arm_names is not None:
            if isinstance(arm_names, (str, bytes)) or not isinstance(arm_names, Iterable):
                raise TypeError(
                    f"arm_names == {arm_names!r} is of type {type(arm_names).__name__}, "
                    "must be a sequence of names, one per arm."
                )
            arm_names = tuple(str(a) for a in arm_names)
            if n_arms is None:
                n_arms = len(arm_names)
        if n_arms is not None:
            n_arms = check_int("n_arms", n_arms, minimum=1)
            if arm_names is not None and len(arm_names) != n_arms:
                raise ValueError(
                    f"arm_names has {len(arm_names)} names, must have one per arm "
                    f"(n_arms == {n_arms})."
                )
        rewards = _as_1d("rewards", rewards)
        propensities = _as_1d("propensities", propensities)
        actions_arr = _one_dim("actions", actions)
        lengths = {
            "actions": actions_arr.shape[0],
            "rewards": rewards.shape[0],
            "propensities": propensities.shape[0],
        }
        if len(set(lengths.values())) != 1:
            raise ValueError(
                "actions, rewards and propensities have lengths "
                f"{lengths['actions']}, {lengths['rewards']} and "
                f"{lengths['propensities']}, must all have one entry per logged "
                "round."
            )
        n = rewards.shape[0]
        actions, n_arms = _check_actions(actions_arr, n_arms)
        bad = ~np.isfinite(rewards)
        if bad.any():
            i = _first_bad(bad)
            raise ValueError(
                f"rewards[{i}] == {float(rewards[i])!r}, must be a finite number "
                "(a round whose reward never arrived cannot be evaluated: leave "
                "it out, or record the reward it stands for)."
            )
        propensities = _check_propensities(propensities)
        if contexts is not None:
            contexts = _check_contexts(contexts, n)
        if times is not None:
            times = np.asarray(times)
            if times.shape != (n,):
                raise ValueError(
                    f"times has shape {times.shape}, must be ({n},): one time per logged round."
                )
        if logging_probabilities is not None:
            logging_probabilities = check_probabilities(
                "logging_probabilities", logging_probabilities, n, n_arms
            )
            chosen = logging_probabilities[np.arange(n), actions]
            bad = np.abs(chosen - propensities) > 1e-9 * np.maximum(1.0, propensities)
            if bad.any():
                i = _first_bad(bad)
                raise ValueError(
                    f"logging_probabilities[{i}, {actions[i]}] == {float(chosen[i])!r} "
                    f"but propensities[{i}] == {float(propensities[i])!r}, must be "
                    "equal (the "
                    "probability of the logged action)."
                )
        eligible = check_eligible(eligible, n, n_arms, actions)
        for name, value in (
            ("eligible", eligible),
            ("actions", actions),
            ("rewards", rewards),
            ("propensities", propensities),
            ("contexts", contexts),
            ("times", times),
            ("logging_probabilities", logging_probabilities),
        ):
            if value is not None:
                value = np.array(value, copy=True)
                value.setflags(write=False)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "n_arms", n_arms)
        object.__setattr__(self, "arm_names", arm_names)

    def __setattr__(self, name, value):
        raise AttributeError(f"LoggedFeedback is read-only: {name} cannot be set (make a new log).")

    # -- sizes ------------------------------------------------------------------------
    @property
    def n_rounds(self) -> int:
        return int(self.actions.shape[0])

    def __len__(self):
        return self.n_rounds

    @property
    def n_features(self) -> int | None:
        return None if self.contexts is None else int(self.contexts.shape[1])

    def __repr__(self):
        ctx = "None" if self.contexts is None else f"({self.n_rounds}, {self.n_features})"
        return f"LoggedFeedback(n_rounds={self.n_rounds}, n_arms={self.n_arms}, contexts={ctx})"

    # -- pieces -----------------------------------------------------------------------
    def subset(self, index: Any) -> LoggedFeedback:
        """The rounds picked by ``index`` (a slice, a boolean mask or integer positions)."""
        if isinstance(index, slice):
            pick = index
        else:
            pick = np.asarray(index)
            if pick.dtype == bool and pick.shape != (self.n_rounds,):
                raise ValueError(
                    f"index is a boolean mask of shape {pick.shape}, must be ({self.n_rounds},)."
                )
        take = lambda a: None if a is None else a[pick]
        return LoggedFeedback(
            self.actions[pick],
            self.rewards[pick],
            self.propensities[pick],
            contexts=take(self.contexts),
            n_arms=self.n_arms,
            times=take(self.times),
            logging_probabilities=take(self.logging_probabilities),
            arm_names=self.arm_names,
            eligible=take(self.eligible),
        )

    def __getitem__(self, index):
        return self.subset(index)

    def split(self, fraction: float) -> tuple[LoggedFeedback, LoggedFeedback]:
        """The first ``fraction`` of the rounds and the rest (in logged order: learn on the
        past, evaluate on what came after)."""
        if not isinstance(fraction, numbers.Real) or not 0 < float(fraction) < 1:
            raise ValueError(f"fraction == {fraction!r}, must be a number in (0, 1).")
        cut = round(float(fraction) * self.n_rounds)
        return self.subset(slice(0, cut)), self.subset(slice(cut, None))

    def to_frame(self) -> pd.DataFrame:
        """The log as a pandas DataFrame: ``action``, ``reward``, ``propensity``, ``time``
        (when logged) and one column per context feature (``x0``, ``x1``, ...)."""
        import pandas as pd

        data = {}
        if self.times is not None:
            data["time"] = self.times
        data["action"] = self.actions
        if self.arm_names is not None:
            data["arm"] = np.asarray(self.arm_names, dtype=object)[self.actions]
        data["reward"] = self.rewards
        data["propensity"] = self.propensities
        if self.contexts is not None:
            for j in range(self.n_features):
                data[f"x{j}"] = self.contexts[:, j]
        return pd.DataFrame(data)

    def importance_weights(self, target_probabilities: ArrayLike) -> np.ndarray:
        """``pi(a_i | x_i) / p_i``: the target's probability of each logged action over the
        logger's. ``target_probabilities`` has shape (n_rounds, n_arms)."""
        pi = check_probabilities(
            "target_probabilities", target_probabilities, self.n_rounds, self.n_arms
        )
        return pi[np.arange(self.n_rounds), self.actions] / self.propensities

    # -- builders ---------------------------------------------------------------------
    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        action: str = "action",
        reward: str = "reward",
        propensity: str = "propensity",
        context: str | Sequence[str] | None = None,
        time: str | None = None,
        n_arms: int | None = None,
        arm_names: Sequence[str] | None = None,
    ) -> LoggedFeedback:
        """A log from a pandas DataFrame, one row per logged round.

        Parameters
        ----------
        frame : pandas.DataFrame
        action, reward, propensity : str
            Names of the columns holding the arm index, the reward and the propensity.
        context : list of str, str or None
            The context columns: a list of names, or a prefix (``"x"`` takes ``x0``, ``x1``,
            ... in numeric order); None for a log without contexts.
        time : str, optional
            The column holding the time of each decision.
        n_arms, arm_names
            As for :class:`LoggedFeedback`.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"action": [0, 1], "reward": [1.0, 0.0], "propensity": [0.5, 0.5],
        ...                    "x0": [0.1, 0.2], "x1": [1.0, 1.0]})
        >>> LoggedFeedback.from_frame(df, context="x").contexts.shape
        (2, 2)
        >>> LoggedFeedback.from_frame(df.drop(columns="propensity"))
        Traceback (most recent call last):
        ...
        ValueError: frame has no column 'propensity' (it has 'action', 'reward', 'x0', 'x1'), name the column holding it with propensity=...: without the logging policy's propensities a log cannot be evaluated off-policy.
        """
        from . import sources

        return sources.from_frame(
            cls,
            frame,
            action=action,
            reward=reward,
            propensity=propensity,
            context=context,
            time=time,
            n_arms=n_arms,
            arm_names=arm_names,
        )

    @classmethod
    def from_history(
        cls,
        history: Any,
        *,
        runs: int | Sequence[int] | None = None,
        contexts: ArrayLike | None = None,
    ) -> LoggedFeedback:
        """A log from a simulation run with ``record_propensities=True``.

        ``history`` has ``arms`` and ``rewards`` of shape (n_runs, n_steps), and
        ``propensities`` of the same shape: the probability, at decision time, of the arm
        chosen. A contextual history recorded with ``record_contexts=True`` also has
        ``contexts`` (n_runs, n_steps, n_features); ``contexts=`` gives them otherwise.
        The runs picked by ``runs`` (None for all, an int or a sequence) are put one after
        another: every round keeps the propensity its logger had then, so the log is valid
        even though the logger was learning.
        """
        from . import sources

        return sources.from_history(cls, history, runs=runs, contexts=contexts)

    @classmethod
    def from_service_log(
        cls,
        path_or_frame: str | os.PathLike[str] | pd.DataFrame,
        *,
        bandit: str | None = None,
        context: str | Sequence[str] | None = None,
        missing_rewards: str = "error",
        n_arms: int | None = None,
        arm_names: Sequence[str] | None = None,
    ) -> LoggedFeedback:
        """A log from the decision service's export (``bandit-lab export-log``).

        Parameters
        ----------
        path_or_frame : str, path or pandas.DataFrame
            A CSV (or ``.parquet``) file written by the export, or the DataFrame read from it.
            Columns used: ``arm_index``, ``propensity``, ``reward``, ``time`` (and ``arm``, the
            arm names, when present); the context, for a linear bandit, from columns named
            by ``context`` (a list, or a prefix), by default ``x0, x1, ...`` or
            ``context_0, ...``, or one ``context`` column holding JSON lists.
        bandit : str, optional
            Keep the rows of this bandit only (the ``bandit`` column); required when the
            export holds several.
        missing_rewards : {"error", "drop", "zero"}
            What to do with decisions whose reward never arrived (an empty ``reward``):
            refuse, leave them out (biased if whether a reward arrives depends on the offer),
            or count them as reward 0 (right when silence means "did not convert").
        n_arms, arm_names : optional
            The bandit's arms (names in the service's order, checked against the log's):
            the export lists decisions, so without them an arm no decision chose is missing.

        A decision the service restricted to some arms (its ``eligible`` column) was logged
        with its propensity among those arms: evaluate a target on such rounds with its
        probabilities restricted the same way.
        """
        from . import sources

        return sources.from_service_log(
            cls,
            path_or_frame,
            bandit=bandit,
            context=context,
            missing_rewards=missing_rewards,
            n_arms=n_arms,
            arm_names=arm_names,
        )


def sample_actions(probabilities: ArrayLike, rng: np.random.Generator) -> np.ndarray:
    """One action per row of ``probabilities`` (shape (..., n_arms)), drawn by inversion."""
    p = np.asarray(probabilities, dtype=float)
    cum = np.cumsum(p, axis=-1)
    u = rng.random(p.shape[:-1] + (1,)) * cum[..., -1:]
    return np.minimum((u >= cum).sum(axis=-1), p.shape[-1] - 1)
