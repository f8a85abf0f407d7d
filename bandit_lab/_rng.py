"""Random-number streams: one keyword, ``rng``, resolved once (NEP 19, SPEC 7).

Nothing in bandit_lab touches NumPy's global random state. Two rules:

- A function or constructor that takes ``rng`` resolves it once with :func:`resolve_rng`:
  None (fresh entropy), an integer seed, a ``SeedSequence``, a ``BitGenerator`` or a
  ``Generator`` (used as is, shared, so the caller keeps control of the stream).
- A method called again and again with a stream (an environment's ``step``, ``draw``,
  ``serve`` ...) takes it through :func:`stream`, which refuses an integer seed or a
  ``SeedSequence``: resolving one afresh at every call would replay the same draws (the
  same customers twice), silently. Pass a Generator and keep passing the same one.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RNGLike", "resolve_rng", "stream", "spawn"]

#: What every ``rng`` parameter accepts (SPEC 7).
RNGLike = (
    int | np.integer | np.random.SeedSequence | np.random.BitGenerator | np.random.Generator | None
)


def resolve_rng(rng: RNGLike = None) -> np.random.Generator:
    """Turn ``rng`` (None, an int seed, a SeedSequence, a BitGenerator or a Generator) into a
    Generator.

    A Generator is returned as is (shared, not copied), and a BitGenerator is wrapped
    without re-seeding it, so a caller who passes one keeps control of the stream.

    >>> resolve_rng(np.random.PCG64(0)).random() == np.random.default_rng(0).random()
    True
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, np.random.BitGenerator):
        return np.random.Generator(rng)
    if rng is None or (
        isinstance(rng, (int, np.integer, np.random.SeedSequence))
        and not isinstance(rng, (bool, np.bool_))
    ):
        if isinstance(rng, (int, np.integer)) and rng < 0:
            raise ValueError(
                f"rng == {rng}, must be None, a non-negative integer seed, "
                "a SeedSequence, a BitGenerator or a numpy Generator."
            )
        return np.random.default_rng(rng)
    raise TypeError(
        f"rng == {rng!r} is of type {type(rng).__name__}, must be None, an integer "
        "seed, a SeedSequence, a BitGenerator or a numpy Generator."
    )


def stream(rng: RNGLike, *, method: str) -> np.random.Generator:
    """The Generator a per-call ``rng`` of ``method`` names, never one re-seeded at each call.

    >>> g = np.random.default_rng(0)
    >>> stream(g, method="serve") is g
    True
    >>> stream(0, method="CreditCardEnv.serve")
    Traceback (most recent call last):
    ...
    TypeError: rng == 0 is an integer seed, but CreditCardEnv.serve() is called again and again: a seed would replay the same draws at every call. Pass a numpy Generator, e.g. rng = np.random.default_rng(0), and keep passing that one.
    """
    if isinstance(rng, (int, np.integer, np.random.SeedSequence)) and not isinstance(rng, bool):
        what = (
            "an integer seed" if not isinstance(rng, np.random.SeedSequence) else "a SeedSequence"
        )
        raise TypeError(
            f"rng == {rng!r} is {what}, but {method}() is called again and again: a seed would "
            "replay the same draws at every call. Pass a numpy Generator, e.g. "
            f"rng = np.random.default_rng({rng if not isinstance(rng, np.random.SeedSequence) else ''}), "
            "and keep passing that one."
        )
    return resolve_rng(rng)


def spawn(rng: RNGLike, n: int) -> list[np.random.Generator]:
    """``n`` independent child streams of ``rng``."""
    return resolve_rng(rng).spawn(n)
