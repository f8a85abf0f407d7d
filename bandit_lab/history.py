"""What a simulation returns: one history protocol for every simulator.

Taught in notebooks/01_explore_exploit.ipynb and notebooks/04_comparing_strategies.ipynb.

Every simulator of the package (:func:`~bandit_lab.simulate`,
:func:`~bandit_lab.explore_then_commit`, :func:`~bandit_lab.simulate_contextual`,
:func:`~bandit_lab.simulate_funnel`, :func:`~bandit_lab.simulate_budget`, and the
step-by-step :func:`~bandit_lab.run_policy` and :func:`~bandit_lab.run_contextual`) returns,
for each policy, a :class:`History`: the same attributes with the same shapes, documented
here once.

==================  =================================  =========================================
attribute           shape                              what it holds
==================  =================================  =========================================
``arms``            (n_runs, n_steps), int             the arm chosen; -1 where no decision was
                                                       made (a budget already spent)
``rewards``         (n_runs, n_steps), float32         the reward received (revenue for a funnel)
``mean_rewards``    (n_runs, n_steps, n_arms)          the truth: every arm's expected reward
                                                       for that run at that step (a read-only
                                                       view when runs share it: no memory)
``expected_rewards``(n_runs, n_steps)                  expected reward of the arm chosen
``best_rewards``    (n_runs, n_steps)                  expected reward of the best arm
``propensities``    (n_runs, n_steps) or None          probability the policy gave the arm it
                                                       chose (``record_propensities=True``)
``contexts``        (n_runs, n_steps, n_features)      the context each decision saw
                    or None                            (``record_contexts=True``)
``segments``        (n_runs, n_steps) or None          the customer's segment (contextual)
``final_state``     dict or None                       the policy's state arrays after the last
                                                       step, runs on the first axis
``name``            str                                the policy's name in the comparison
==================  =================================  =========================================

A family adds what it has: :class:`~bandit_lab.FunnelHistory` the ``clicks`` and
``purchases`` (its ``rewards`` are the revenue), :class:`~bandit_lab.BudgetHistory` what each
run ``spent``, the arms' ``costs`` and the ``budget``. Every history answers the same
questions, and :mod:`bandit_lab.metrics` works on all of them: :meth:`History.regret` (the
cumulative pseudo-regret), :meth:`History.arm_shares`, :meth:`History.conversion_rate`,
:meth:`History.optimal_share`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["History"]


def _broadcast_truth(means: Any, n_runs: int, n_steps: int) -> np.ndarray:
    """``means`` of shape (n_arms,), (n_steps, n_arms) or (1 or n_runs, n_steps, n_arms) as
    a read-only array of shape (n_runs, n_steps, n_arms) (a view where it repeats)."""
    m = np.asarray(means, dtype=float)
    if m.ndim == 1:
        m = np.broadcast_to(m, (1, n_steps, m.shape[0]))
    elif m.ndim == 2:
        m = m[None]
    if m.ndim != 3 or m.shape[1] != n_steps or m.shape[0] not in (1, n_runs):
        raise ValueError(
            f"mean_rewards has shape {np.shape(means)}, must be (n_arms,), "
            f"(n_steps, n_arms) or (n_runs, n_steps, n_arms) with n_runs == "
            f"{n_runs} and n_steps == {n_steps}."
        )
    return m if m.shape[0] == n_runs else np.broadcast_to(m, (n_runs,) + m.shape[1:])


def _compact(m: np.ndarray) -> np.ndarray:
    """The smallest array ``m`` is a broadcast of: (n_arms,), (n_steps, n_arms) or ``m``."""
    if m.strides[0] == 0:
        m = m[0]
        if m.strides[0] == 0:
            m = m[0]
    return np.ascontiguousarray(m)


@dataclass(eq=False)
class History:
    """What happened in ``n_runs`` runs of one policy (see the module docstring for every
    attribute and its shape).

    Parameters
    ----------
    arms, rewards : array_like, shape (n_runs, n_steps)
    mean_rewards : array_like, shape (n_arms,), (n_steps, n_arms) or (n_runs, n_steps, n_arms)
        The truth; kept as the read-only (n_runs, n_steps, n_arms) view of what is given.
    name : str
    propensities, contexts, segments, final_state : optional, keyword only

    Examples
    --------
    >>> import numpy as np
    >>> h = History(np.array([[0, 1, 1]]), np.array([[0.0, 1.0, 1.0]]), [0.2, 0.8], "demo")
    >>> h.mean_rewards.shape, h.expected_rewards.tolist(), h.regret().round(2).tolist()
    ((1, 3, 2), [[0.2, 0.8, 0.8]], [[0.6, 0.6, 0.6]])
    """

    arms: np.ndarray
    rewards: np.ndarray
    mean_rewards: np.ndarray
    name: str = ""
    propensities: np.ndarray | None = field(default=None, kw_only=True, repr=False)
    contexts: np.ndarray | None = field(default=None, kw_only=True, repr=False)
    segments: np.ndarray | None = field(default=None, kw_only=True, repr=False)
    final_state: dict | None = field(default=None, kw_only=True, repr=False)

    def __post_init__(self) -> None:
        arms = np.asarray(self.arms)
        if arms.ndim != 2:
            raise ValueError(f"arms has shape {arms.shape}, must be (n_runs, n_steps).")
        rewards = np.asarray(self.rewards)
        if rewards.shape != arms.shape:
            raise ValueError(f"rewards has shape {rewards.shape}, must be {arms.shape} like arms.")
        self.arms, self.rewards = arms, rewards
        self.mean_rewards = _broadcast_truth(self.mean_rewards, *arms.shape)
        for name in ("propensities", "segments"):
            value = getattr(self, name)
            if value is not None and np.shape(value) != arms.shape:
                raise ValueError(f"{name} has shape {np.shape(value)}, must be {arms.shape}.")

    # -- sizes -----------------------------------------------------------------------------
    @property
    def n_runs(self) -> int:
        return self.arms.shape[0]

    @property
    def n_steps(self) -> int:
        return self.arms.shape[1]

    @property
    def n_arms(self) -> int:
        return self.mean_rewards.shape[2]

    # -- the protocol ------------------------------------------------------------------------
    @property
    def expected_rewards(self) -> np.ndarray:
        """Expected reward of the arm chosen, shape (n_runs, n_steps) (0 where none was)."""
        arms = self.arms.astype(np.intp)
        made = arms >= 0
        every = bool(made.all())
        idx = arms if every else np.where(made, arms, 0)
        m = self.mean_rewards
        if m.strides[0] == 0:  # shared by every run: index the (n_steps, n_arms) table
            table = m[0]
            out = table[0][idx] if table.strides[0] == 0 else table[np.arange(self.n_steps), idx]
        else:
            out = np.take_along_axis(m, idx[..., None], 2)[..., 0]
        return out if every else np.where(made, out, 0.0)

    @property
    def best_rewards(self) -> np.ndarray:
        """Expected reward of the best arm, shape (n_runs, n_steps) (0 where no decision)."""
        m = self.mean_rewards
        if m.strides[0] == 0:
            best = np.broadcast_to(m[0].max(axis=-1), self.arms.shape)
        else:
            best = m.max(axis=2)
        made = self.arms >= 0
        return best if made.all() else np.where(made, best, 0.0)

    @property
    def optimal(self) -> np.ndarray:
        """Whether the arm chosen was (one of) the best, shape (n_runs, n_steps)."""
        return (self.expected_rewards >= self.best_rewards) & (self.arms >= 0)

    def regret(self) -> np.ndarray:
        """Cumulative pseudo-regret, shape (n_runs, n_steps): expected reward lost to always
        choosing the best arm (:func:`bandit_lab.cumulative_regret`)."""
        return np.cumsum(self.best_rewards - self.expected_rewards, axis=1)

    def arm_counts(self) -> np.ndarray:
        """Decisions for each arm in each run, shape (n_runs, n_arms)."""
        return np.stack([(self.arms == k).sum(axis=1) for k in range(self.n_arms)], axis=1)

    def arm_shares(self, *, upto: int | None = None) -> np.ndarray:
        """Share of each run's decisions (in its first ``upto`` steps) that went to each arm,
        shape (n_runs, n_arms)."""
        arms = self.arms if upto is None else self.arms[:, :upto]
        counts = np.stack([(arms == k).sum(axis=1) for k in range(self.n_arms)], axis=1)
        made = (arms >= 0).sum(axis=1, keepdims=True)
        if (made == arms.shape[1]).all():
            return counts / arms.shape[1]
        return counts / np.maximum(made, 1)

    def conversion_rate(
        self, *, start: int = 0, stop: int | None = None, expected: bool = False
    ) -> np.ndarray:
        """Per run: mean reward per step over steps ``start:stop`` (realised by default, or
        the expected reward of the arms chosen, less noisy, with ``expected=True``)."""
        values = self.expected_rewards if expected else self.rewards
        return np.asarray(values[:, start:stop], dtype=float).mean(axis=1)

    def optimal_share(self, *, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Per run: share of steps ``start:stop`` on which the best arm was chosen."""
        return self.optimal[:, start:stop].mean(axis=1)

    # -- plumbing ------------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["mean_rewards"] = _compact(self.mean_rewards)  # pickled without the repeats
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.mean_rewards = _broadcast_truth(state["mean_rewards"], *np.shape(self.arms))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, n_runs={self.n_runs}, "
            f"n_steps={self.n_steps}, n_arms={self.n_arms})"
        )

    def _replace(self, **changes: Any) -> History:
        return dataclasses.replace(self, **changes)
