"""The checks a log and a target policy's probabilities pass at the boundary, each failure
one sentence that names the value and what is allowed."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["check_probabilities", "check_eligible", "restrict_to_eligible"]


def _first_bad(mask):
    return int(np.flatnonzero(mask.ravel())[0])


def _one_dim(name, values):
    """``values`` as a 1-D array of whatever it holds, or a sentence naming its shape."""
    if isinstance(values, (str, bytes)):
        raise TypeError(
            f"{name} == {values!r} is of type {type(values).__name__}, must be a "
            "1-D array with one entry per logged round."
        )
    try:
        arr = np.asarray(values)
    except ValueError:  # ragged nested sequences
        raise ValueError(
            f"{name} is a ragged sequence, must be a 1-D array with one entry per logged round."
        ) from None
    if arr.ndim == 0:
        raise TypeError(
            f"{name} == {values!r} is a single value, must be a 1-D array with one entry "
            "per logged round."
        )
    if arr.ndim != 1:
        raise ValueError(
            f"{name} has shape {arr.shape}, must be 1-D with one entry per logged round."
        )
    return arr


def _as_1d(name, values, dtype=float):
    arr = _one_dim(name, values)
    try:
        return arr.astype(dtype)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} is not numeric, must be a 1-D array of numbers with one entry "
            "per logged round."
        ) from None


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
        bad = arr < 0
        if bad.any():  # no range to name: the largest action would have made it up
            i = _first_bad(bad)
            raise ValueError(f"actions[{i}] == {int(arr[i])}, must be an arm index >= 0.")
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


def _check_contexts(contexts, n):
    """Contexts of ``n`` rounds as finite floats of shape (n, n_features) (a 1-D array of
    ``n`` values is one feature)."""
    try:
        contexts = np.asarray(contexts, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            "contexts is not numeric, must be an array of shape (n_rounds, n_features)."
        ) from None
    if contexts.ndim == 1 and n > 0 and contexts.shape[0] == n:
        contexts = contexts[:, None]
    if contexts.ndim != 2 or contexts.shape[0] != n:
        raise ValueError(
            f"contexts has shape {contexts.shape}, must be ({n}, n_features): "
            "one row per logged round."
        )
    bad = ~np.isfinite(contexts)
    if bad.any():
        i, j = np.unravel_index(_first_bad(bad), contexts.shape)
        raise ValueError(
            f"contexts[{i}, {j}] == {float(contexts[i, j])!r}, must be a finite number."
        )
    return contexts


def check_probabilities(
    name: str, probs: ArrayLike, n_rounds: int, n_arms: int, *, atol: float = 1e-6
) -> np.ndarray:
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


def check_eligible(eligible, n, n_arms, actions):
    """The arms the logging policy could choose in each round, as a read-only (n, n_arms)
    boolean array (``None``: every arm in every round), or a sentence naming the problem."""
    if eligible is None:
        return None
    arr = np.asarray(eligible)
    if arr.shape != (n, n_arms) or arr.dtype != bool:
        raise ValueError(
            f"eligible has shape {arr.shape} and dtype {arr.dtype}, must be a boolean array of "
            f"shape ({n}, {n_arms}): which arms each logged round could choose."
        )
    chosen = arr[np.arange(n), actions]
    if not chosen.all():
        i = _first_bad(~chosen)
        raise ValueError(
            f"eligible[{i}, {int(actions[i])}] is False but round {i} chose arm "
            f"{int(actions[i])}, must be True: the logged arm was eligible."
        )
    arr = np.array(arr, copy=True)
    arr.setflags(write=False)
    return arr


def restrict_to_eligible(probs, eligible):
    """A target's probabilities restricted to each round's eligible arms and renormalised
    (uniform on them where the target gave them nothing): the policy the log can evaluate,
    since the logging policy could show no other arm in that round."""
    if eligible is None:
        return probs
    kept = np.where(eligible, probs, 0.0)
    total = kept.sum(axis=1, keepdims=True)
    uniform = eligible / eligible.sum(axis=1, keepdims=True)
    moved = 1.0 - total.mean()
    if moved > 1e-12:
        import warnings

        warnings.warn(
            f"the target put {moved:.1%} of its probability (on average per round) on arms "
            "that were not eligible in the logged rounds; it is evaluated restricted to the "
            "eligible arms, renormalised.",
            stacklevel=3,
        )
    return np.where(total > 0, kept / np.where(total > 0, total, 1.0), uniform)
