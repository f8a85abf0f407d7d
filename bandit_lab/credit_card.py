"""The old home of the credit-card case, kept so that existing imports keep working.

The case now lives in :mod:`bandit_lab.contextual`: the customers, features and truth in
:mod:`bandit_lab.contextual.customers`, the environment in
:mod:`bandit_lab.contextual.credit_card`.
"""

from .contextual.credit_card import CreditCardEnv, CustomerBatch
from .contextual.customers import (
    ARCHETYPES,
    CUSTOMER_COLUMNS,
    FEATURE_NAMES,
    OFFER_NAMES,
    RATE_CAP,
    SEGMENT_NAMES,
    TRUE_MODEL,
    assign_segments,
    draw_customers,
    make_feature_pipeline,
    true_conversion,
)

__all__ = [
    "OFFER_NAMES",
    "ARCHETYPES",
    "CUSTOMER_COLUMNS",
    "FEATURE_NAMES",
    "SEGMENT_NAMES",
    "TRUE_MODEL",
    "RATE_CAP",
    "draw_customers",
    "true_conversion",
    "assign_segments",
    "make_feature_pipeline",
    "CreditCardEnv",
    "CustomerBatch",
]
