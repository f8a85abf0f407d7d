"""The old home of the production simulations, kept so that existing imports keep working.

They now live in :mod:`bandit_lab.production` (``funnel``, ``budget``), the stopping
helpers in :mod:`bandit_lab.ab_testing.stopping` and ``with_segments`` in
:mod:`bandit_lab.contextual.credit_card`.
"""

from .ab_testing.stopping import StoppingResult, stopping_times
from .contextual.credit_card import with_segments
from .production.budget import BudgetHistory, simulate_budget
from .production.funnel import FunnelEnv, FunnelHistory, FunnelOutcome, simulate_funnel

__all__ = [
    "FunnelEnv",
    "FunnelOutcome",
    "FunnelHistory",
    "simulate_funnel",
    "BudgetHistory",
    "simulate_budget",
    "StoppingResult",
    "stopping_times",
    "with_segments",
]
