"""What changes when a bandit meets production (notebook 09): a topic folder.

Several objectives (objectives.py, funnel.py)
    MultiObjectiveTS           Thompson sampling on the value of an impression
    normal_gamma_update, normal_gamma_mean_samples   its revenue belief
    FunnelEnv, FunnelOutcome, FunnelHistory, simulate_funnel   offers as funnels, simulated

Budgets (budget.py)
    BudgetedTS, BudgetExhausted, budgeted_thompson_scores
    BudgetHistory, simulate_budget

Cold start (cold_start.py)
    beta_prior, PerArmPriorTS, add_arm

Also here for the notebook's convenience (their homes are elsewhere)
    PosteriorStoppingRule, StopCheck, stopping_times, StoppingResult   bandit_lab.ab_testing.stopping
    with_segments                                                      bandit_lab.contextual.credit_card
"""

from __future__ import annotations

import importlib

_LAZY = {
    **dict.fromkeys(
        ("MultiObjectiveTS", "normal_gamma_update", "normal_gamma_mean_samples"), ".objectives"
    ),
    **dict.fromkeys(("FunnelEnv", "FunnelOutcome", "FunnelHistory", "simulate_funnel"), ".funnel"),
    **dict.fromkeys(
        (
            "BudgetedTS",
            "BudgetExhausted",
            "budgeted_thompson_scores",
            "BudgetHistory",
            "simulate_budget",
        ),
        ".budget",
    ),
    **dict.fromkeys(("beta_prior", "PerArmPriorTS", "add_arm"), ".cold_start"),
    **dict.fromkeys(
        ("PosteriorStoppingRule", "StopCheck", "stopping_times", "StoppingResult"),
        "..ab_testing.stopping",
    ),
    "with_segments": "..contextual.credit_card",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
