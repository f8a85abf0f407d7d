"""The credit-card case as an environment: the bank's customers, served one per run and step.

Taught in notebooks/05_contextual_bandits.ipynb and notebooks/06_credit_card_personalisation.ipynb.

:class:`CreditCardEnv` draws a historical sample and fits the feature pipeline on it, draws
the live population and turns every customer into model features with the *fitted*
pipeline, and knows every offer's expected conversion for every customer (the truth,
:mod:`bandit_lab.contextual.customers`), so regret can be measured.
"""

from __future__ import annotations

import copy
from collections import namedtuple
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._rng import RNGLike, resolve_rng, stream
from .._validation import check_int
from ..environments import Environment, Step
from .customers import (
    _INCOME_SCALE,
    FEATURE_NAMES,
    OFFER_NAMES,
    SEGMENT_NAMES,
    TRUE_MODEL,
    _as_customers,
    assign_segments,
    draw_customers,
    make_feature_pipeline,
    true_conversion,
)

__all__ = ["CreditCardEnv", "CustomerBatch", "with_segments"]

CustomerBatch = namedtuple("CustomerBatch", "index contexts expected segments")
CustomerBatch.__doc__ = """Customers served at one step: row ``index`` into the population,
model features ``contexts`` (n, 11), every offer's ``expected`` conversion (n, 5) and the
rule-based ``segments`` (n,)."""


# ---------------------------------------------------------------------------------------
# The environment
# ---------------------------------------------------------------------------------------
class CreditCardEnv(Environment):
    """The bank's offer problem, with its answer known.

    On construction it draws a historical sample of customers and fits the feature pipeline
    on it, then draws the live population, turns every customer into model features with
    the *fitted* pipeline (never refitted) and computes the truth.

    Parameters
    ----------
    n_customers : int, default 20_000
        Size of the population customers are served from (with replacement).
    n_history : int, default 5_000
        Size of the historical sample the pipeline is fitted on.
    weights, spread
        Passed to :func:`draw_customers`.
    segment_rule : callable, optional
        How the bank groups customers: a function of the customers DataFrame returning an
        integer segment code (0, 1, ...) per customer. Default :func:`assign_segments`
        (the four segments of :data:`SEGMENT_NAMES`).
    rng : None, int or numpy.random.Generator
        Draws the history and the population (serving uses the stream passed to :meth:`serve`).

    Attributes
    ----------
    pipeline : sklearn ColumnTransformer, fitted
    history, customers : DataFrame
    contexts : ndarray (n_customers, 11)
    expected : ndarray (n_customers, 5)
        Every offer's true conversion probability for every customer.
    segments : ndarray of int (n_customers,)

    Examples
    --------
    >>> import numpy as np
    >>> env = CreditCardEnv(n_customers=2_000, n_history=1_000, rng=0)
    >>> batch = env.serve(3, np.random.default_rng(1))
    >>> batch.contexts.shape, batch.expected.shape
    ((3, 11), (3, 5))
    >>> env.outcomes(batch, np.random.default_rng(2)).shape
    (3, 5)
    """

    offer_names = OFFER_NAMES
    feature_names = FEATURE_NAMES
    segment_names = SEGMENT_NAMES

    def __init__(
        self,
        *,
        n_customers: int = 20_000,
        n_history: int = 5_000,
        weights: ArrayLike | None = None,
        spread: float = 1.0,
        segment_rule: Callable | None = None,
        rng: RNGLike = None,
    ) -> None:
        n_customers = check_int("n_customers", n_customers, minimum=1)
        n_history = check_int("n_history", n_history, minimum=2)
        if segment_rule is not None and not callable(segment_rule):
            raise TypeError(
                f"segment_rule is of type {type(segment_rule).__name__}, must be a function "
                "of the customers DataFrame returning one integer code per customer."
            )
        history_rng, population_rng = resolve_rng(rng).spawn(2)
        self.history = draw_customers(n_history, weights=weights, spread=spread, rng=history_rng)
        self.pipeline = make_feature_pipeline().fit(self.history)
        self.customers = draw_customers(
            n_customers, weights=weights, spread=spread, rng=population_rng
        )
        self.contexts = self.pipeline.transform(self.customers)
        self.expected = true_conversion(self.customers)
        self.n_arms = len(OFFER_NAMES)
        self.n_features = len(FEATURE_NAMES)
        if segment_rule is None:
            self.segments = assign_segments(self.customers)
            self.n_segments = len(SEGMENT_NAMES)
        else:
            codes = np.asarray(segment_rule(self.customers))
            if (
                codes.shape != (n_customers,)
                or not np.issubdtype(codes.dtype, np.integer)
                or codes.min() < 0
            ):
                raise ValueError(
                    f"segment_rule returned an array of shape {codes.shape} and dtype "
                    f"{codes.dtype}, must return {n_customers} integer codes >= 0."
                )
            self.segments = codes.astype(np.int64)
            self.n_segments = int(codes.max()) + 1
            self.segment_names = tuple(f"segment {k}" for k in range(self.n_segments))

    def step(self, t: int, n_runs: int, rng: np.random.Generator) -> Step:
        """One customer per run, every offer's truth for them (``mean_rewards``), their
        contexts and segments, and whether they would convert on each offer (``outcome``)."""
        batch = self.serve(n_runs, rng)
        return Step(t, batch.expected, self.outcomes(batch, rng), batch.contexts, batch.segments)

    def means_at(self, t: int) -> np.ndarray:
        raise TypeError(
            "CreditCardEnv has no mean rewards per step: they depend on the customer "
            "served, so read them from env.step(t, n_runs, rng).mean_rewards."
        )

    def serve(self, n: int, rng: np.random.Generator) -> CustomerBatch:
        """``n`` customers drawn at random from the population (one per run), with the
        Generator ``rng`` (pass the same one at every call)."""
        n = check_int("n", n, minimum=1)
        gen = stream(rng, method="CreditCardEnv.serve")
        idx = gen.integers(len(self.customers), size=n)
        return CustomerBatch(idx, self.contexts[idx], self.expected[idx], self.segments[idx])

    def outcomes(self, batch: CustomerBatch, rng: np.random.Generator) -> np.ndarray:
        """Whether each customer would convert on each offer: 0/1 array (n, 5).

        Drawn for *every* offer, so policies compared on the same batch face the same luck.
        """
        gen = stream(rng, method="CreditCardEnv.outcomes")
        return (gen.random(batch.expected.shape) < batch.expected).astype(float)

    def context_of(self, customers: Any) -> np.ndarray:
        """Model features of new customers (DataFrame or dict), with the fitted pipeline."""
        return self.pipeline.transform(_as_customers(customers))

    @property
    def best_offer(self) -> np.ndarray:
        """The best offer for each customer of the population, shape (n_customers,)."""
        return self.expected.argmax(axis=1)

    def true_weights(self) -> np.ndarray:
        """The truth written in the model's own features: shape (5, 11).

        The true model is linear in the shares, the revolving ratio, the business flag and
        log income, and the pipeline changes those only by an affine map, so
        ``contexts @ true_weights().T`` equals :attr:`expected` wherever the cap does not bind.
        A linear bandit can be exactly right; this is what its weights should approach.
        """
        scaler = self.pipeline.named_transformers_["log_income"][-1]
        mu, sd = float(scaler.mean_[0]), float(scaler.scale_[0])
        col = {name: j for j, name in enumerate(FEATURE_NAMES)}
        w = np.zeros((len(OFFER_NAMES), len(FEATURE_NAMES)))
        for k, offer in enumerate(OFFER_NAMES):
            base, coefs = TRUE_MODEL[offer]
            w[k, col["intercept"]] = base
            for name, coef in coefs.items():
                if name == "income_index":  # log(income) / L = (mu + sd * z) / L
                    w[k, col["log_income"]] += coef * sd / _INCOME_SCALE
                    w[k, col["intercept"]] += coef * mu / _INCOME_SCALE
                else:
                    w[k, col[name]] += coef
        return w

    def __repr__(self):
        return (
            f"CreditCardEnv(n_customers={len(self.customers)}, n_history={len(self.history)}, "
            f"n_arms={self.n_arms}, n_features={self.n_features})"
        )


def with_segments(env: CreditCardEnv, segments: ArrayLike, n_segments: int) -> CreditCardEnv:
    """A copy of a :class:`bandit_lab.CreditCardEnv` whose customers carry other segments.

    ``segments`` gives one integer code in ``[0, n_segments)`` per customer of the
    population (``len(env.customers)``). The customers, features, truth and serving order
    are unchanged, so policies run on the copy and on ``env`` with the same ``rng`` face
    the same customers and outcomes. ``env`` is not modified.

    Taught in notebooks/09_production_concerns.ipynb.

    Examples
    --------
    >>> env = CreditCardEnv(n_customers=500, n_history=200, rng=0)
    >>> one = with_segments(env, np.zeros(500, dtype=int), 1)
    >>> one.n_segments, env.n_segments
    (1, 4)
    """
    if not isinstance(env, CreditCardEnv):
        raise TypeError(f"env is of type {type(env).__name__}, must be a CreditCardEnv.")
    n_segments = check_int("n_segments", n_segments, minimum=1)
    seg = np.asarray(segments)
    n = len(env.segments)
    if seg.shape != (n,):
        raise ValueError(f"segments has shape {seg.shape}, must be ({n},): one code per customer.")
    if seg.dtype.kind not in "iu":
        raise TypeError(f"segments has dtype {seg.dtype}, must hold integer codes.")
    if n and (seg.min() < 0 or seg.max() >= n_segments):
        bad = int(seg[(seg < 0) | (seg >= n_segments)][0])
        raise ValueError(f"segments contains {bad}, every code must be in [0, {n_segments - 1}].")
    out = copy.copy(env)
    out.segments = seg.astype(np.int64)
    out.n_segments = n_segments
    return out
