"""Baselines for the contextual simulator: the floor, the ceiling and one bandit per segment.

Taught in notebooks/06_credit_card_personalisation.ipynb.

    UniformRandom   every offer equally often, whoever the customer (an A/B/n test)
    Oracle          knows the truth: the best offer for this customer (regret 0)
    PerSegment      an independent copy of a non-contextual policy per customer segment
"""

from __future__ import annotations

from .._validation import check_int
from ..policies import Policy

__all__ = ["UniformRandom", "Oracle", "PerSegment"]


class UniformRandom:
    """Every offer equally often, whoever the customer (what an A/B/n test serves)."""

    def __repr__(self):
        return "UniformRandom()"


class Oracle:
    """Knows the truth: always the offer with the highest expected conversion for this
    customer. No real policy can do better; its regret is zero by definition."""

    def __repr__(self):
        return "Oracle()"


class PerSegment:
    """One independent copy of a non-contextual policy per customer segment.

    Parameters
    ----------
    policy : bandit_lab.Policy
        A configuration, e.g. ``BetaBernoulliTS(5)``; it is not modified.
    n_segments : int >= 1
        The environment's segments are numbered 0 .. n_segments - 1.
    """

    def __init__(self, policy: Policy, n_segments: int) -> None:
        if not isinstance(policy, Policy):
            raise TypeError(
                f"policy is of type {type(policy).__name__}, must be a bandit_lab.Policy "
                "such as BetaBernoulliTS(5)."
            )
        self.policy = policy
        self.n_segments = check_int("n_segments", n_segments, minimum=1)
        self.n_arms = policy.n_arms

    def __repr__(self):
        return f"PerSegment({self.policy!r}, n_segments={self.n_segments})"
