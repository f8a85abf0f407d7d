"""The old home of :class:`~bandit_lab.GaussianLinearPosterior`, kept so that existing
imports keep working; it now lives in :mod:`bandit_lab.contextual.posterior`, beside the
maths it shares with the contextual policies (:mod:`bandit_lab.contextual.scores`)."""

from .contextual.posterior import GaussianLinearPosterior

__all__ = ["GaussianLinearPosterior"]
