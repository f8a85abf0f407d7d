"""Small numerical helpers shared by the maths floor."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

_EPS = 1e-15


def bernoulli_kl(p: ArrayLike, q: ArrayLike) -> np.ndarray:
    """Kullback-Leibler divergence KL(Bernoulli(p) || Bernoulli(q)), elementwise.

    Uses the convention 0 log 0 = 0; ``q`` is clipped away from 0 and 1 so the result is
    finite whenever ``p`` is.
    """
    p = np.asarray(p, dtype=float)
    q = np.clip(np.asarray(q, dtype=float), _EPS, 1 - _EPS)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0) / q), 0.0)
        b = np.where(p < 1, (1 - p) * np.log(np.where(p < 1, 1 - p, 1.0) / (1 - q)), 0.0)
    return a + b


def arm_index(arms: ArrayLike) -> tuple:
    """Index tuple that picks ``arms[...]`` on the last axis of a ``arms.shape + (K,)`` array."""
    arms = np.asarray(arms)
    return tuple(np.indices(arms.shape, sparse=True)) + (arms,)
