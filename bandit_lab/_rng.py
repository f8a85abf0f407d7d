"""Random-number streams: one keyword, ``rng``, resolved once (NEP 19, SPEC 7).

Nothing in bandit_lab touches NumPy's global random state.
"""
from __future__ import annotations

import numpy as np

__all__ = ["resolve_rng", "spawn"]


def resolve_rng(rng=None) -> np.random.Generator:
    """Turn ``rng`` (None, an int seed, a SeedSequence or a Generator) into a Generator.

    A Generator is returned as is (shared, not copied), so a caller who passes one keeps
    control of the stream.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer, np.random.SeedSequence)) and not isinstance(rng, bool):
        if isinstance(rng, (int, np.integer)) and rng < 0:
            raise ValueError(f"rng == {rng}, must be None, a non-negative integer seed, "
                             "a SeedSequence or a numpy Generator.")
        return np.random.default_rng(rng)
    raise TypeError(f"rng == {rng!r} is of type {type(rng).__name__}, must be None, an integer "
                    "seed, a SeedSequence or a numpy Generator.")


def spawn(rng, n: int) -> list[np.random.Generator]:
    """``n`` independent child streams of ``rng``."""
    return resolve_rng(rng).spawn(n)
