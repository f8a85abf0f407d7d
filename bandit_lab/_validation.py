"""Checks for user input at the public boundary, with messages a learner can act on.

Every message is one sentence that names the parameter, the value it got and what is
allowed, e.g. ``alpha0 == -1.0, must be > 0.``. Wrong type raises ``TypeError``; wrong
value raises ``ValueError``. Nothing here uses ``assert``: user input is always checked.

The one home of every check in the package, all with one argument order: the parameter's
**name first**, then the value, then what it is checked against
(``check_arm("arm", arm, n_arms)``). ``check_arm`` and ``check_reward`` also accept the
order they had before (value first: ``check_reward(reward)``), so code written against it
keeps working.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "check_int",
    "check_positive",
    "check_nonnegative",
    "check_probability",
    "check_real",
    "check_flag",
    "check_choice",
    "check_arm",
    "check_reward",
    "check_rewards_array",
    "check_per_arm",
    "check_context",
    "check_design",
    "check_targets",
]


def _is_int(value) -> bool:
    if type(value) is int:  # the usual case first
        return True
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(
        value, (bool, np.bool_)
    )


def check_int(
    name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` as an ``int`` or raise, naming ``name``."""
    if not _is_int(value):
        raise TypeError(
            f"{name} == {value!r} is of type {type(value).__name__}, must be an integer."
        )
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} == {value}, must be >= {minimum}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} == {value}, must be <= {maximum}.")
    return value


def _as_float(name: str, value) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (numbers.Real, np.floating, np.integer)
    ):
        raise TypeError(
            f"{name} == {value!r} is of type {type(value).__name__}, must be a real number."
        )
    return float(value)


def check_real(name: str, value: Any) -> float:
    """A finite real number (not a bool)."""
    x = _as_float(name, value)
    if not np.isfinite(x):
        raise ValueError(f"{name} == {x!r}, must be a finite number.")
    return x


def check_positive(name: str, value: Any) -> float:
    """A finite number > 0 (prior pseudo-counts, temperatures, variances)."""
    x = _as_float(name, value)
    if not np.isfinite(x) or x <= 0:
        raise ValueError(f"{name} == {x!r}, must be a finite number > 0.")
    return x


def check_nonnegative(name: str, value: Any) -> float:
    """A finite number >= 0."""
    x = _as_float(name, value)
    if not np.isfinite(x) or x < 0:
        raise ValueError(f"{name} == {x!r}, must be a finite number >= 0.")
    return x


def check_probability(
    name: str, value: Any, *, open_low: bool = False, open_high: bool = False
) -> float:
    """A number in [0, 1] (or an open end where asked)."""
    x = _as_float(name, value)
    low_ok = x > 0 if open_low else x >= 0
    high_ok = x < 1 if open_high else x <= 1
    if not (np.isfinite(x) and low_ok and high_ok):
        interval = ("(" if open_low else "[") + "0, 1" + (")" if open_high else "]")
        raise ValueError(f"{name} == {x!r}, must be in {interval}.")
    return x


def check_flag(name: str, value: Any) -> bool:
    """A yes/no outcome: bool, or the integers 0 and 1."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (numbers.Integral, np.integer)) and int(value) in (0, 1):
        return bool(value)
    raise TypeError(
        f"{name} == {value!r} is of type {type(value).__name__}, must be True or False (or 1 or 0)."
    )


def check_choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    """One of the strings ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} == {value!r}, must be one of {', '.join(map(repr, allowed))}.")
    return value


_OLD = object()  # marks a call in the order before the one order (value first)


def check_arm(what: Any, arm: Any, n_arms: Any = _OLD, *, name: str | None = None) -> int:
    """An arm index: an integer in [0, n_arms). Called as ``check_arm(name, arm, n_arms)``
    (or, as before, ``check_arm(arm, n_arms, name="arm")``)."""
    if n_arms is _OLD:  # the old order: (arm, n_arms)
        what, arm, n_arms = name or "arm", what, arm
    if not _is_int(arm):
        raise TypeError(
            f"{what} == {arm!r} is of type {type(arm).__name__}, "
            f"must be an integer arm index in [0, {n_arms - 1}]."
        )
    arm = int(arm)
    if not 0 <= arm < n_arms:
        raise ValueError(
            f"{what} == {arm}, must be an arm index in [0, {n_arms - 1}] "
            f"(this bandit has {n_arms} arms)."
        )
    return arm


def check_reward(what: Any, reward: Any = _OLD, *, name: str | None = None) -> float:
    """A reward in [0, 1]; a fraction counts as a fraction of a success. Called as
    ``check_reward(name, reward)`` (or, as before, ``check_reward(reward, name="reward")``)."""
    if reward is _OLD:  # the old order: (reward,)
        what, reward = name or "reward", what
    if type(reward) is float:  # the usual case, checked without a detour
        x = reward
    else:
        x = _as_float(what, reward)
    if not 0.0 <= x <= 1.0:  # also false for NaN
        raise ValueError(
            f"{what} == {x!r}, must be a number in [0, 1] "
            f"(1 is a success, 0 a failure, a fraction a partial success)."
        )
    return x


def check_rewards_array(name: str, values: Any) -> np.ndarray:
    """A float array of rewards, all in [0, 1]."""
    arr = np.asarray(values, dtype=float)
    bad = ~np.isfinite(arr) | (arr < 0) | (arr > 1)
    if bad.any():
        first = float(arr[bad].flat[0])
        raise ValueError(f"{name} contains {first!r}, every value must be a number in [0, 1].")
    return arr


def check_per_arm(name: str, values: Any, n_arms: int, *, positive: bool = True) -> np.ndarray:
    """A float array of shape (n_arms,), from a number or a sequence; entries > 0 (or >= 0)."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} == {values!r} is of type {type(values).__name__}, must be a number "
            f"or a sequence of {n_arms} numbers."
        ) from None
    if arr.ndim == 0:
        arr = np.full(n_arms, float(arr))
    if arr.shape != (n_arms,):
        raise ValueError(
            f"{name} has shape {arr.shape}, must be a number or a sequence of "
            f"{n_arms} numbers (one per arm)."
        )
    bad = ~np.isfinite(arr) | ((arr <= 0) if positive else (arr < 0))
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(
            f"{name}[{k}] == {float(arr[k])!r}, must be a finite number "
            f"{'> 0' if positive else '>= 0'}."
        )
    return arr


def check_context(name: str, x: Any, n_features: int) -> np.ndarray:
    """A context: a 1-D array of ``n_features`` finite real numbers."""
    if isinstance(x, (str, bytes)):
        raise TypeError(
            f"{name} == {x!r} is of type {type(x).__name__}, must be a 1-D array of "
            f"{n_features} real numbers."
        )
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} == {x!r} is not numeric, must be a 1-D array of {n_features} real numbers."
        ) from None
    if arr.ndim != 1 or arr.shape[0] != n_features:
        raise ValueError(
            f"{name} has shape {arr.shape}, must be 1-D of length {n_features} "
            "(one value per feature)."
        )
    if not np.isfinite(arr).all():
        i = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{name}[{i}] == {float(arr[i])!r}, must be a finite number.")
    return arr


def check_design(name: str, X: Any, n_features: int | None = None) -> np.ndarray:
    """A design matrix: finite floats of shape (n, d); a 1-D ``X`` is one observation."""
    try:
        arr = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} == {X!r} is not numeric, must be an array of real numbers."
        ) from None
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"{name} has shape {arr.shape}, must be 2-D (one row per observation).")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(
            f"{name} has {arr.shape[1]} columns, must have n_features == {n_features}."
        )
    if not np.isfinite(arr).all():
        row, col = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(
            f"{name}[{row}, {col}] == {float(arr[row, col])!r}, must be a finite number."
        )
    return arr


def check_targets(name: str, r: Any, n: int) -> np.ndarray:
    """Rewards for ``n`` observations: finite floats of shape (n,)."""
    try:
        arr = np.asarray(r, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} == {r!r} is not numeric, must be an array of real numbers."
        ) from None
    arr = arr.reshape(-1) if arr.ndim == 0 else arr
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(
            f"{name} has shape {arr.shape}, must be 1-D with one reward per row of X ({n})."
        )
    if not np.isfinite(arr).all():
        i = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{name}[{i}] == {float(arr[i])!r}, must be a finite number.")
    return arr
