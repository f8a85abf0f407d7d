"""Bandit problems whose answer we know: the truth a simulation is scored against.

Taught in notebooks/01_explore_exploit.ipynb.

**The environment protocol**, shared by every environment of the package (these, the
credit-card case :class:`~bandit_lab.CreditCardEnv` and the funnels of
:class:`~bandit_lab.FunnelEnv`) and by every simulator:

``n_arms``, ``n_features``, ``n_segments``
    how many arms; how long a context is (0: no context); how many customer segments the
    steps' ``segments`` codes run over (0: no segments).
``step(t, n_runs, rng) -> Step``
    the randomness of step ``t`` for ``n_runs`` runs at once, drawn from the Generator
    ``rng``: a :class:`Step` holding ``mean_rewards``, the truth (every arm's expected
    reward: shape ``(n_arms,)`` when every run faces the same arms, else
    ``(n_runs, n_arms)``), the ``outcome`` (what every arm would pay), and, for a contextual
    problem, the ``contexts`` ``(n_runs, n_features)`` and ``segments`` ``(n_runs,)`` of the
    customers served.
``rewards(outcome, arms, t)``
    the reward of the arm each run chose, shape ``(n_runs,)``; and ``feedback(outcome, arms,
    t)``, what the policy learns from (the rewards, or a funnel's click, purchase and
    revenue).

The truth has one name everywhere: ``mean_rewards`` (on a :class:`Step` and on a
:class:`~bandit_lab.History`). A context-free environment writes just ``means_at(t)`` (the
mean rewards at step ``t``) and ``draw(t, n_runs, rng)``; :meth:`Environment.step` puts
them together. The simulator draws once per step and asks for every policy's rewards from
the same draw, so every policy compared faces the very same outcomes (common random
numbers): two policies that pull the same arm in the same run at the same step get the
same reward.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ._rng import RNGLike, resolve_rng, stream
from ._validation import check_arm, check_int, check_probability

__all__ = [
    "Environment",
    "Step",
    "BernoulliBandit",
    "ScheduledBernoulliBandit",
    "SOURCE_RATES",
    "OFFER_NAMES",
]

#: The five credit-card offers of the course's running example.
OFFER_NAMES = (
    "cashback_grocery_2pct",
    "travel_miles_3x",
    "balance_transfer_0apr",
    "business_expense_card",
    "premium_rewards_500bonus",
)

#: Conversion rates of the five offers used throughout notebooks 01-04 (arm 4 is best).
SOURCE_RATES = (0.030, 0.045, 0.028, 0.015, 0.060)


class Step(NamedTuple):
    """One step of an environment for ``n_runs`` runs (see the module docstring)."""

    t: int
    mean_rewards: np.ndarray
    outcome: Any
    contexts: np.ndarray | None = None
    segments: np.ndarray | None = None


class Environment:
    """The protocol every environment follows (see the module docstring).

    A context-free environment defines ``n_arms``, :meth:`means_at` and :meth:`draw`; the
    default :meth:`rewards` expects :meth:`draw` to return the reward every arm would pay,
    shape ``(n_runs, n_arms)``, and picks the chosen arm's.
    """

    n_arms: int
    n_features: int = 0
    n_segments: int = 0

    def step(self, t: int, n_runs: int, rng: np.random.Generator) -> Step:
        """The truth and the outcomes of step ``t`` for ``n_runs`` runs."""
        if not isinstance(rng, np.random.Generator):
            rng = stream(rng, method=f"{type(self).__name__}.step")
        return Step(t, self.means_at(t), self.draw(t, n_runs, rng))

    def means_at(self, t: int) -> np.ndarray:
        """Expected reward of every arm at step ``t``, shape ``(n_arms,)``."""
        raise NotImplementedError

    def draw(self, t: int, n_runs: int, rng: np.random.Generator) -> Any:
        """The randomness of step ``t`` for ``n_runs`` runs."""
        raise NotImplementedError

    def rewards(self, outcome: Any, arms: np.ndarray, t: int) -> np.ndarray:
        """Reward of ``arms`` (shape ``(n_runs,)``) given one step's ``outcome``."""
        return outcome[np.arange(len(arms)), arms]

    def feedback(self, outcome: Any, arms: np.ndarray, t: int) -> Any:
        """What a policy learns from when it chose ``arms``: by default, the rewards."""
        return self.rewards(outcome, arms, t)


class BernoulliBandit(Environment):
    """Arms that pay 1 with fixed probabilities ``rates`` and 0 otherwise.

    Parameters
    ----------
    rates : sequence of float in [0, 1]
        Success probability of each arm.
    rng : None, int or numpy.random.Generator
        Stream used by :meth:`pull` (the simulator uses streams of its own).

    Examples
    --------
    >>> env = BernoulliBandit([0.030, 0.045, 0.028, 0.015, 0.060], rng=1)
    >>> env.best_arm, env.n_arms
    (4, 5)
    >>> env.pull(4) in (0.0, 1.0)
    True
    """

    def __init__(self, rates: ArrayLike, *, rng: RNGLike = None) -> None:
        arr = (
            np.asarray(rates, dtype=float)
            if not np.isscalar(rates)
            else np.asarray([rates], dtype=float)
        )
        if arr.ndim != 1 or arr.size < 1:
            raise ValueError(
                f"rates has shape {arr.shape}, must be a 1-D sequence of at least one probability."
            )
        for i, p in enumerate(arr):
            check_probability(f"rates[{i}]", p)
        self.rates = arr
        self.n_arms = arr.size
        self.rng = rng
        self._rng = resolve_rng(rng)

    @property
    def best_arm(self) -> int:
        return int(np.argmax(self.rates))

    def best_arm_at(self, t: int) -> int:
        """The arm with the highest expected reward at step ``t``."""
        return int(np.argmax(self.means_at(t)))

    def means_at(self, t: int) -> np.ndarray:
        return self.rates

    def draw(self, t: int, n_runs: int, rng: np.random.Generator) -> np.ndarray:
        if not isinstance(rng, np.random.Generator):
            rng = stream(rng, method="BernoulliBandit.draw")
        # One uniform per run: arm k pays 1 when u < rates[k]. Each arm is still
        # Bernoulli(rates[k]); a policy sees only the arm it pulls, so sharing u across
        # arms changes nothing it can observe, and costs one draw per run, not n_arms.
        return rng.random(n_runs)

    def rewards(self, outcome: np.ndarray, arms: np.ndarray, t: int) -> np.ndarray:
        return (outcome < self.means_at(t)[arms]).astype(float)

    def pull(self, arm: int) -> float:
        """One reward (0.0 or 1.0) from ``arm``, drawn from this environment's own ``rng``."""
        arm = check_arm(arm, self.n_arms)
        return float(self._rng.random() < self.rates[arm])

    def __repr__(self):
        return f"BernoulliBandit({self.rates.tolist()})"


class ScheduledBernoulliBandit(BernoulliBandit):
    """Bernoulli arms whose rates change over time along a known schedule.

    Taught in notebooks/07_change_and_delay.ipynb.

    Parameters
    ----------
    schedule : array_like of shape (n_steps, n_arms)
        ``schedule[t]`` are the rates at step ``t``; past the last row the last row holds.
    rng : None, int or numpy.random.Generator

    Use the constructors :meth:`piecewise` (rates that jump at change points) and
    :meth:`seasonal` (rates that drift along a sine wave).

    Examples
    --------
    >>> env = ScheduledBernoulliBandit.piecewise([[0.6, 0.4], [0.4, 0.6]], change_points=[100], n_steps=200)
    >>> env.means_at(99).tolist(), env.means_at(100).tolist()
    ([0.6, 0.4], [0.4, 0.6])
    """

    def __init__(self, schedule: ArrayLike, *, rng: RNGLike = None) -> None:
        sched = np.asarray(schedule, dtype=float)
        if sched.ndim != 2 or sched.shape[0] < 1 or sched.shape[1] < 1:
            raise ValueError(
                f"schedule has shape {sched.shape}, must be (n_steps, n_arms) with "
                "at least one step and one arm."
            )
        bad = ~np.isfinite(sched) | (sched < 0) | (sched > 1)
        if bad.any():
            t, k = np.argwhere(bad)[0]
            raise ValueError(f"schedule[{t}, {k}] == {float(sched[t, k])!r}, must be in [0, 1].")
        super().__init__(sched[0], rng=rng)  # .rates: the rates at step 0
        self.schedule = sched

    @property
    def best_arm(self) -> int:
        raise AttributeError(
            "a ScheduledBernoulliBandit has no single best arm: the best arm "
            "changes with time, use best_arm_at(t)."
        )

    @classmethod
    def piecewise(
        cls,
        rates_by_phase: ArrayLike,
        *,
        change_points: ArrayLike,
        n_steps: int,
        rng: RNGLike = None,
    ) -> ScheduledBernoulliBandit:
        """Rates ``rates_by_phase[i]`` from ``change_points[i-1]`` up to ``change_points[i]``."""
        n_steps = check_int("n_steps", n_steps, minimum=1)
        phases = np.asarray(rates_by_phase, dtype=float)
        cps = [int(c) for c in np.atleast_1d(change_points)]
        if phases.ndim != 2 or len(cps) != phases.shape[0] - 1:
            raise ValueError(
                f"rates_by_phase has {phases.shape[0] if phases.ndim == 2 else '?'} phases "
                f"and change_points has {len(cps)} entries; there must be one change "
                "point fewer than phases."
            )
        if any(b <= a for a, b in zip([0] + cps, cps + [n_steps])):
            raise ValueError(
                f"change_points == {cps}, must increase strictly within (0, n_steps={n_steps})."
            )
        phase = np.searchsorted(np.asarray(cps), np.arange(n_steps), side="right")
        return cls(phases[phase], rng=rng)

    @classmethod
    def seasonal(
        cls,
        base: ArrayLike,
        *,
        amplitude: ArrayLike,
        period: float,
        n_steps: int,
        phase: ArrayLike | None = None,
        rng: RNGLike = None,
    ) -> ScheduledBernoulliBandit:
        """Rates ``base + amplitude * sin(2 pi t / period + phase)`` per arm, clipped to [0, 1]."""
        n_steps = check_int("n_steps", n_steps, minimum=1)
        base = np.asarray(base, dtype=float)
        amp = np.broadcast_to(np.asarray(amplitude, dtype=float), base.shape)
        ph = (
            np.zeros_like(base)
            if phase is None
            else np.broadcast_to(np.asarray(phase, dtype=float), base.shape)
        )
        period = float(period)
        if not period > 0:
            raise ValueError(f"period == {period!r}, must be > 0.")
        t = np.arange(n_steps)[:, None]
        return cls(np.clip(base + amp * np.sin(2 * np.pi * t / period + ph), 0.0, 1.0), rng=rng)

    def means_at(self, t: int) -> np.ndarray:
        return self.schedule[min(t, self.schedule.shape[0] - 1)]

    def pull(self, arm: int, t: int = 0) -> float:
        """One reward from ``arm`` at step ``t``."""
        arm = check_arm(arm, self.n_arms)
        return float(self._rng.random() < self.means_at(t)[arm])

    def __repr__(self):
        return f"ScheduledBernoulliBandit(n_steps={self.schedule.shape[0]}, n_arms={self.n_arms})"
