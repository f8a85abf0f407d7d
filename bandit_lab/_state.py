"""A policy saved as plain data, and rebuilt from it: the one format every policy uses.

``get_state()`` of every policy (all derive from ``bandit_lab._base.BasePolicy``) returns
``{"format": 1, "policy": <class name>, "params": <get_params()>, "state": {<name>: <list
or number>}}``, JSON-ready. ``from_state`` opens that envelope, picks the class it names,
builds it from the parameters and loads the arrays, checking every part first: a
service restarting from a corrupted record gets an error naming what is wrong, not a
policy that silently holds nonsense.
"""

from __future__ import annotations

import json

import numpy as np

__all__ = ["STATE_FORMAT", "dump", "open_envelope", "pick_class", "load_arrays"]

STATE_FORMAT = 1
_KEYS = ("format", "policy", "params", "state")


def dump(policy, arrays):
    """The envelope of ``policy`` holding ``arrays`` (name -> array or number).

    >>> from bandit_lab import BetaBernoulliTS
    >>> dump(BetaBernoulliTS(2), {"alpha_": np.ones(2)})["state"]
    {'alpha_': [1.0, 1.0]}
    """
    return {
        "format": STATE_FORMAT,
        "policy": type(policy).__name__,
        "params": policy.get_params(),
        "state": {name: np.asarray(value).tolist() for name, value in arrays.items()},
    }


def open_envelope(state, *, made_by):
    """``state`` (a dict, or its JSON text) checked to be an envelope of the current format.

    ``made_by`` names the class whose ``get_state()`` makes it, for the error message.

    >>> open_envelope('{"format": 1, "policy": "P", "params": {}, "state": {}}', made_by="P")
    {'format': 1, 'policy': 'P', 'params': {}, 'state': {}}
    """
    if isinstance(state, (str, bytes)):
        try:
            state = json.loads(state)
        except ValueError as err:
            raise ValueError(
                f"state is not valid JSON ({err}); it must be what "
                f"{made_by}.get_state() returns, or its JSON text."
            ) from None
    if not isinstance(state, dict) or not set(_KEYS) <= set(state):
        raise ValueError(
            f"state must be a dict made by {made_by}.get_state(), with keys "
            "'format', 'policy', 'params' and 'state'."
        )
    if state["format"] != STATE_FORMAT:
        raise ValueError(f"state['format'] == {state['format']!r}, must be {STATE_FORMAT}.")
    if not isinstance(state["params"], dict) or not isinstance(state["state"], dict):
        raise ValueError("state['params'] and state['state'] must be dicts (name -> value).")
    return state


def pick_class(state, candidates):
    """The class among ``candidates`` (name -> class) that ``state['policy']`` names."""
    name = state["policy"]
    if name not in candidates:
        allowed = sorted(candidates)
        must = f"{allowed[0]!r}" if len(allowed) == 1 else f"one of {allowed}"
        raise ValueError(f"state['policy'] == {name!r}, must be {must}.")
    return candidates[name]


def load_arrays(policy, saved, names):
    """The saved values ``names``, each checked against the freshly built ``policy``: the
    same shape, finite, and whole numbers where the policy keeps integers. Returns name ->
    array of the policy's dtype (not yet set on it)."""
    out = {}
    for key in names:
        fresh = np.asarray(getattr(policy, key))
        if key not in saved:
            raise ValueError(f"state['state'] lacks {key!r}, must hold {list(names)}.")
        try:
            arr = np.asarray(saved[key], dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"state['state'][{key!r}] must hold numbers.") from None
        if arr.shape != fresh.shape:
            raise ValueError(
                f"state['state'][{key!r}] has shape {arr.shape}, must be {fresh.shape}."
            )
        if not np.isfinite(arr).all():
            raise ValueError(
                f"state['state'][{key!r}] holds a value that is not finite, must be finite numbers."
            )
        if fresh.dtype.kind in "iu" and (arr != np.round(arr)).any():
            raise ValueError(f"state['state'][{key!r}] holds a fraction, must be whole numbers.")
        out[key] = arr.astype(fresh.dtype)
    return out
