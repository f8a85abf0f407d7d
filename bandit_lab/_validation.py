"""Checks for user input at the public boundary, with messages a learner can act on.

Every message is one sentence that names the parameter, the value it got and what is
allowed, e.g. ``alpha0 == -1.0, must be > 0.``. Wrong type raises ``TypeError``; wrong
value raises ``ValueError``. Nothing here uses ``assert``: user input is always checked.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "check_int",
    "check_positive",
    "check_probability",
    "check_arm",
    "check_reward",
    "check_rewards_array",
]


def _is_int(value) -> bool:
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_int(name: str, value, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` or raise, naming ``name``."""
    if not _is_int(value):
        raise TypeError(f"{name} == {value!r} is of type {type(value).__name__}, must be an integer.")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} == {value}, must be >= {minimum}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} == {value}, must be <= {maximum}.")
    return value


def _as_float(name: str, value) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} == {value!r} is of type {type(value).__name__}, must be a real number.")
    return float(value)


def check_positive(name: str, value) -> float:
    """A finite number > 0 (prior pseudo-counts, temperatures, variances)."""
    x = _as_float(name, value)
    if not np.isfinite(x) or x <= 0:
        raise ValueError(f"{name} == {x!r}, must be a finite number > 0.")
    return x


def check_probability(name: str, value, *, open_low: bool = False, open_high: bool = False) -> float:
    """A number in [0, 1] (or an open end where asked)."""
    x = _as_float(name, value)
    low_ok = x > 0 if open_low else x >= 0
    high_ok = x < 1 if open_high else x <= 1
    if not (np.isfinite(x) and low_ok and high_ok):
        interval = ("(" if open_low else "[") + "0, 1" + (")" if open_high else "]")
        raise ValueError(f"{name} == {x!r}, must be in {interval}.")
    return x


def check_arm(arm, n_arms: int, name: str = "arm") -> int:
    """An arm index: an integer in [0, n_arms)."""
    if not _is_int(arm):
        raise TypeError(f"{name} == {arm!r} is of type {type(arm).__name__}, "
                        f"must be an integer arm index in [0, {n_arms - 1}].")
    arm = int(arm)
    if not 0 <= arm < n_arms:
        raise ValueError(f"{name} == {arm}, must be an arm index in [0, {n_arms - 1}] "
                         f"(this bandit has {n_arms} arms).")
    return arm


def check_reward(reward, name: str = "reward") -> float:
    """A reward in [0, 1]; a fraction counts as a fraction of a success."""
    x = _as_float(name, reward)
    if not np.isfinite(x) or not 0.0 <= x <= 1.0:
        raise ValueError(f"{name} == {x!r}, must be a number in [0, 1] "
                         f"(1 is a success, 0 a failure, a fraction a partial success).")
    return x


def check_rewards_array(name: str, values) -> np.ndarray:
    """A float array of rewards, all in [0, 1]."""
    arr = np.asarray(values, dtype=float)
    bad = ~np.isfinite(arr) | (arr < 0) | (arr > 1)
    if bad.any():
        first = float(arr[bad].flat[0])
        raise ValueError(f"{name} contains {first!r}, every value must be a number in [0, 1].")
    return arr
