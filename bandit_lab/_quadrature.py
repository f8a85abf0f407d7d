"""Gauss-Legendre quadrature for "which of several independent draws is the largest".

The machinery behind :mod:`bandit_lab.propensities` (Beta, normal and Student-t scores):
pieces of the line cut at every arm's quantiles, 8 nodes a piece, each arm's distribution
function integrated from its own density at the same nodes, and the probability that arm
``k``'s draw beats every other arm's. Private: import the propensity functions instead.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "NODES",
    "WEIGHTS",
    "CUMULATIVE",
    "cumulative_matrix",
    "pieces",
    "max_probabilities",
    "cdf_at_nodes",
    "positive_params",
]

NODES, WEIGHTS = np.polynomial.legendre.leggauss(8)


def cumulative_matrix(nodes):
    """``S[i, j]``: the integral from -1 to ``nodes[i]`` of the Lagrange polynomial that is 1
    at ``nodes[j]`` and 0 at the others (a polynomial's integral up to each node)."""
    from numpy.polynomial import legendre

    n = nodes.size
    S = np.empty((n, n))
    for j in range(n):
        coef = legendre.legfit(nodes, np.eye(n)[j], n - 1)
        S[:, j] = legendre.legval(nodes, legendre.legint(coef, lbnd=-1))
    return S


CUMULATIVE = cumulative_matrix(NODES)


def pieces(cuts, nodes_only=True):
    """Sorted, de-duplicated cut points -> Gauss-Legendre nodes and weights on every piece
    (and the pieces' half-widths)."""
    cuts = np.sort(cuts)  # equal cuts make pieces of width 0, dropped just below
    lo, hi = cuts[:-1], cuts[1:]
    keep = hi - lo > 1e-15 * np.maximum(1.0, np.abs(hi))
    lo, hi = lo[keep], hi[keep]
    half = 0.5 * (hi - lo)
    x = (lo + hi)[:, None] * 0.5 + half[:, None] * NODES
    w = half[:, None] * WEIGHTS
    if nodes_only:
        return x.ravel(), w.ravel()
    return x.ravel(), w.ravel(), half


def max_probabilities(weighted_pdf, cdf):
    """P(k) from densities times quadrature weights and distribution functions at the
    nodes, both of shape (K, n)."""
    K = cdf.shape[0]
    # the product of every other arm's F, without dividing by F_k (which may be 0): a
    # product of the arms before k and one of the arms after k
    before = np.ones_like(cdf)
    after = np.ones_like(cdf)
    for k in range(1, K):
        before[k] = before[k - 1] * cdf[k - 1]
        after[K - 1 - k] = after[K - k] * cdf[K - k]
    with np.errstate(under="ignore"):
        p = np.einsum("kn,kn->k", weighted_pdf, before * after)
    total = p.sum()
    return p / total if total > 0 else np.full(K, 1.0 / K)


def cdf_at_nodes(pdf, half):
    """Every arm's distribution function at the nodes, from its density there (K, n):
    piece by piece, the integral of the density's interpolating polynomial up to each node,
    plus every earlier piece's total (below the first cut each arm has < 1e-13 of its mass)."""
    K = pdf.shape[0]
    per_piece = pdf.reshape(K, -1, NODES.size)
    inside = (per_piece @ CUMULATIVE.T) * half[None, :, None]
    totals = per_piece @ WEIGHTS * half[None, :]
    start = np.cumsum(totals, axis=1) - totals
    return np.minimum(1.0, (start[:, :, None] + inside).reshape(K, -1))


def positive_params(name, value):
    """``value`` as a float array with the arms on its last axis, every entry finite and > 0."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0 or arr.shape[-1] < 1:
        raise ValueError(
            f"{name} has shape {arr.shape}, must have the arms on its last axis (at least one arm)."
        )
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        bad = float(arr[~(np.isfinite(arr) & (arr > 0))].ravel()[0])
        raise ValueError(f"{name} holds {bad!r}, every value must be a finite number > 0.")
    return arr
