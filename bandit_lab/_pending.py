"""Rewards on their way: the run loop's buffer for delayed and batched feedback."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["_Pending"]


class _Pending:
    """Rewards on their way: decisions held until their reward arrives and an update is due.

    Held in growable flat arrays (run, arm, reward, due step) in decision order. Each step
    takes out the items due then; taken items are marked and the arrays are compacted only
    once most of them are dead, so a step costs one comparison over what is pending.
    """

    def __init__(self, capacity: int = 1024) -> None:
        self.runs = np.empty(capacity, dtype=np.intp)
        self.arms = np.empty(capacity, dtype=np.intp)
        self.rewards = np.empty(capacity)
        self.due = np.empty(capacity, dtype=np.int64)
        self.n = 0  # slots used
        self.dead = 0  # used slots already delivered

    def add(self, due, runs, arms, rewards) -> None:
        k = len(due)
        if self.n + k > self.due.size:
            self._compact()
            if self.n + k > self.due.size:
                size = max(2 * self.due.size, self.n + k)
                for name in ("runs", "arms", "rewards", "due"):
                    old = getattr(self, name)
                    new = np.empty(size, dtype=old.dtype)
                    new[: self.n] = old[: self.n]
                    setattr(self, name, new)
        sl = slice(self.n, self.n + k)
        self.runs[sl], self.arms[sl], self.rewards[sl], self.due[sl] = runs, arms, rewards, due
        self.n += k

    def _compact(self) -> None:
        live = np.flatnonzero(self.due[: self.n] >= 0)
        for name in ("runs", "arms", "rewards", "due"):
            arr = getattr(self, name)
            arr[: live.size] = arr[live]
        self.n, self.dead = live.size, 0

    def apply(self, t: int, runner: Any, step: Any, n_runs: int) -> None:
        now = np.flatnonzero(self.due[: self.n] == t)
        if now.size == 0:
            return
        runs, arms, rewards = self.runs[now], self.arms[now], self.rewards[now]
        self.due[now] = -1
        self.dead += now.size
        if self.dead > self.n // 2:
            self._compact()
        if runs.size == n_runs and np.array_equal(runs, np.arange(n_runs)):
            runner.learn(step, arms, rewards)  # one reward per run, in run order
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
            runner.learn(step, arms[m], rewards[m], runs=runs[m])
