"""The checks a log and a target policy's probabilities pass at the boundary, each failure
one sentence that names the value and what is allowed."""

from __future__ import annotations

import numpy as np

__all__ = ["check_probabilities"]


def _first_bad(mask):
    return int(np.flatnonzero(mask.ravel())[0])


def _as_1d(name, values, dtype=float):
    if isinstance(values, (str, bytes)):
        raise TypeError(
            f"{name} == {values!r} is of type {type(values).__name__}, must be a "
            "1-D array with one entry per logged round."
        )
    try:
        arr = np.asarray(values, dtype=dtype)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} is not numeric, must be a 1-D array of numbers with one entry "
            "per logged round."
        ) from None
    if arr.ndim != 1:
        raise ValueError(
            f"{name} has shape {arr.shape}, must be 1-D with one entry per logged round."
        )
    return arr


def _check_actions(actions, n_arms):
    raw = np.asarray(actions)
    if raw.dtype == bool or not (
        np.issubdtype(raw.dtype, np.integer) or np.issubdtype(raw.dtype, np.floating)
    ):
        raise TypeError(f"actions has dtype {raw.dtype}, must hold integer arm indices.")
    arr = _as_1d("actions", raw)
    bad = ~np.isfinite(arr) | (arr != np.round(arr))
    if bad.any():
        i = _first_bad(bad)
        raise ValueError(f"actions[{i}] == {float(arr[i])!r}, must be an integer arm index.")
    if n_arms is None:
        if arr.size == 0:
            raise ValueError(
                "actions is empty and n_arms is not given, must log at least one "
                "round or say how many arms there are."
            )
        n_arms = int(arr.max()) + 1
    bad = (arr < 0) | (arr >= n_arms)
    if bad.any():
        i = _first_bad(bad)
        raise ValueError(
            f"actions[{i}] == {int(arr[i])}, must be an arm index in "
            f"[0, {n_arms - 1}] (n_arms == {n_arms})."
        )
    return arr.astype(np.int64), n_arms


def _check_propensities(values, name="propensities"):
    arr = _as_1d(name, values)
    bad = ~np.isfinite(arr) | (arr <= 0) | (arr > 1)
    if bad.any():
        i = _first_bad(bad)
        raise ValueError(
            f"{name}[{i}] == {float(arr[i])!r}, must be in (0, 1]: the probability "
            "with which the logging policy took the logged action."
        )
    return arr


def check_probabilities(name, probs, n_rounds, n_arms, *, atol=1e-6):
    """An ``(n_rounds, n_arms)`` array of action probabilities: finite, >= 0, rows sum to 1."""
    try:
        arr = np.asarray(probs, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} is not numeric, must be an array of action probabilities of "
            f"shape ({n_rounds}, {n_arms})."
        ) from None
    if arr.shape != (n_rounds, n_arms):
        raise ValueError(
            f"{name} has shape {arr.shape}, must be ({n_rounds}, {n_arms}): one row "
            "of action probabilities per logged round."
        )
    sums = arr.sum(axis=1)
    if not (np.isfinite(sums).all() and arr.min(initial=0.0) >= 0):  # one pass when all is well
        bad = ~np.isfinite(arr) | (arr < 0)
        i, k = np.unravel_index(_first_bad(bad), arr.shape)
        raise ValueError(f"{name}[{i}, {k}] == {float(arr[i, k])!r}, must be a probability >= 0.")
    bad = np.abs(sums - 1.0) > atol
    if bad.any():
        i = _first_bad(bad)
        raise ValueError(
            f"{name}[{i}] sums to {float(sums[i])!r}, every row must sum to 1 "
            "(a distribution over the arms)."
        )
    return arr
