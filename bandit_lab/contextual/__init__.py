"""Contextual bandits and the credit-card case (notebooks 05-06): a topic folder.

Policies -- select(x) an arm for context x, update(x, arm, reward)
    LinearTS, LinUCB, LogisticTS, ContextualPolicy        (policies.py)
    GaussianLinearPosterior  the closed-form belief about one arm's weights (posterior.py)
    NIGLinearTS   linear TS that learns its noise variance (Normal-Inverse-Gamma), with its
                  maths nig_score_params, nig_ts_scores, nig_update, nig_batch and its
                  choice probabilities student_t_max_propensities (nig.py)
    score_moments, linear_ts_scores, linucb_scores, logistic_ts_scores,
    gaussian_linear_update, gaussian_linear_batch, laplace_logistic_update,
    laplace_logistic_batch   their maths, shared with the simulator (scores.py)

The case
    CreditCardEnv, CustomerBatch, with_segments           (credit_card.py)
    draw_customers, true_conversion, assign_segments, make_feature_pipeline,
    ARCHETYPES, CUSTOMER_COLUMNS, FEATURE_NAMES, SEGMENT_NAMES, TRUE_MODEL, RATE_CAP
                                                          (customers.py)

Experiments
    simulate_contextual, run_contextual, ContextualHistory (simulate.py)
    PerSegment, UniformRandom, Oracle                     (baselines.py)
    summarize, paired_gain, learning_curve                (bandit_lab.metrics: any history)

Names are imported on first use, so ``from bandit_lab.contextual import LinearTS`` does not
load pandas and scikit-learn.
"""

from __future__ import annotations

import importlib

_LAZY = {
    **dict.fromkeys(("ContextualPolicy", "LinearTS", "LinUCB", "LogisticTS"), "policies"),
    "GaussianLinearPosterior": "posterior",
    **dict.fromkeys(
        (
            "NIGLinearTS",
            "nig_score_params",
            "nig_ts_scores",
            "nig_update",
            "nig_batch",
            "student_t_max_propensities",
        ),
        "nig",
    ),
    **dict.fromkeys(
        (
            "score_moments",
            "linear_ts_scores",
            "linucb_scores",
            "logistic_ts_scores",
            "gaussian_linear_update",
            "gaussian_linear_batch",
            "laplace_logistic_update",
            "laplace_logistic_batch",
        ),
        "scores",
    ),
    **dict.fromkeys(("CreditCardEnv", "CustomerBatch", "with_segments"), "credit_card"),
    **dict.fromkeys(
        (
            "draw_customers",
            "true_conversion",
            "assign_segments",
            "make_feature_pipeline",
            "ARCHETYPES",
            "CUSTOMER_COLUMNS",
            "FEATURE_NAMES",
            "SEGMENT_NAMES",
            "TRUE_MODEL",
            "RATE_CAP",
            "OFFER_NAMES",
        ),
        "customers",
    ),
    **dict.fromkeys(("simulate_contextual", "run_contextual", "ContextualHistory"), "simulate"),
    **dict.fromkeys(("PerSegment", "UniformRandom", "Oracle"), "baselines"),
    **dict.fromkeys(("summarize", "paired_gain", "learning_curve"), ".metrics"),
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)  # ..metrics: one up
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
