"""The old home of the contextual simulator, kept so that existing imports keep working.

The simulator now lives in :mod:`bandit_lab.contextual.simulate`, its baselines in
:mod:`bandit_lab.contextual.baselines` and the summaries in :mod:`bandit_lab.metrics`.
"""

from .contextual.baselines import Oracle, PerSegment, UniformRandom
from .contextual.simulate import ContextualHistory, run_contextual, simulate_contextual
from .metrics import learning_curve, paired_gain, summarize

__all__ = [
    "ContextualHistory",
    "simulate_contextual",
    "run_contextual",
    "PerSegment",
    "UniformRandom",
    "Oracle",
    "summarize",
    "paired_gain",
    "learning_curve",
]
