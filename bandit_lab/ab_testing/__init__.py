"""A/B testing the Bayesian way, with the classical test beside it (notebook 08): a topic folder.

The questions a manager asks, answered from the posteriors (bayes.py)
    prob_b_beats_a        P(rate of B > rate of A), exact
    expected_loss         E[max(rates) - rate of the variant chosen], for each variant
    prob_being_best       P(variant k has the highest rate), for two or more variants
    lift_interval         credible interval of B's lift over A, relative or absolute

When to stop (stopping.py: the one home of every stopping rule)
    stop_on_expected_loss, stop_on_prob_best      rules on the posteriors of the variants
    PosteriorStoppingRule, StopCheck              the same for a bandit's arms (notebook 09)
    stopping_times, StoppingResult                when a rule would have ended each run

Simulated experiments that peek (sequential.py)
    sequential_ab_test, SequentialTestResult, peeking_rejection_rates, PeekingRates

The classical test, for comparison (classical.py)
    two_proportion_ztest, ztest_sample_size, ztest_power
"""

from __future__ import annotations

import importlib

_LAZY = {
    **dict.fromkeys(
        ("prob_b_beats_a", "expected_loss", "prob_being_best", "lift_interval"), "bayes"
    ),
    **dict.fromkeys(
        (
            "stop_on_expected_loss",
            "stop_on_prob_best",
            "PosteriorStoppingRule",
            "StopCheck",
            "stopping_times",
            "StoppingResult",
        ),
        "stopping",
    ),
    **dict.fromkeys(
        ("sequential_ab_test", "SequentialTestResult", "peeking_rejection_rates", "PeekingRates"),
        "sequential",
    ),
    **dict.fromkeys(("two_proportion_ztest", "ztest_sample_size", "ztest_power"), "classical"),
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
