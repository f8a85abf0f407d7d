"""The credit-card case's customers: who they are, what the bank sees, and the hidden truth.

Taught in notebooks/05_contextual_bandits.ipynb and notebooks/06_credit_card_personalisation.ipynb.

Five offers (:data:`OFFER_NAMES`), four customer archetypes (:data:`ARCHETYPES`, the source
tutorial's four profiles) and the source's ground-truth conversion model
(:func:`true_conversion`, which a bandit never sees). Around the archetypes,
:func:`draw_customers` draws a *population* with realistic spread. A scikit-learn
``ColumnTransformer`` (:func:`make_feature_pipeline`) turns a customer's raw record into the
11 model features (:data:`FEATURE_NAMES`); it is fitted once on a historical sample and then
used unchanged at decision time. :class:`~bandit_lab.CreditCardEnv`
(:mod:`bandit_lab.contextual.credit_card`) puts the pieces together.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from .._rng import RNGLike, resolve_rng
from .._validation import check_int
from ..environments import OFFER_NAMES

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
]

#: The raw columns of a customer record (what the bank's CRM holds).
CUSTOMER_COLUMNS = (
    "age",  # years
    "annual_income",  # dollars per year
    "credit_score",  # FICO, 300-850
    "revolving_balance",  # dollars carried on cards
    "credit_limit",  # dollars
    "travel_spend_pct",  # share of card spend on airlines and hotels, 0-1
    "grocery_spend_pct",  # share of card spend at grocery stores, 0-1
    "months_as_customer",  # tenure
    "has_mortgage",  # 0 or 1
    "has_business",  # 0 or 1: any business entity on file
    "recent_app_count",  # credit applications in the last six months
)

#: The source tutorial's four customer profiles, the centres of the population.
ARCHETYPES = {
    "frequent_traveller": dict(
        age=38,
        annual_income=180_000,
        credit_score=790,
        revolving_balance=2_000,
        credit_limit=25_000,
        travel_spend_pct=0.40,
        grocery_spend_pct=0.10,
        months_as_customer=48,
        has_mortgage=1,
        has_business=0,
        recent_app_count=1,
    ),
    "grocery_shopper": dict(
        age=34,
        annual_income=65_000,
        credit_score=720,
        revolving_balance=800,
        credit_limit=8_000,
        travel_spend_pct=0.05,
        grocery_spend_pct=0.45,
        months_as_customer=24,
        has_mortgage=0,
        has_business=0,
        recent_app_count=0,
    ),
    "high_revolving_balance": dict(
        age=42,
        annual_income=90_000,
        credit_score=650,
        revolving_balance=14_000,
        credit_limit=16_000,
        travel_spend_pct=0.10,
        grocery_spend_pct=0.20,
        months_as_customer=72,
        has_mortgage=1,
        has_business=0,
        recent_app_count=2,
    ),
    "small_business_owner": dict(
        age=45,
        annual_income=250_000,
        credit_score=810,
        revolving_balance=5_000,
        credit_limit=40_000,
        travel_spend_pct=0.20,
        grocery_spend_pct=0.08,
        months_as_customer=96,
        has_mortgage=1,
        has_business=1,
        recent_app_count=0,
    ),
}

#: The 11 model features, in order, as the feature pipeline names them.
FEATURE_NAMES = (
    "age",  # standardised, after clipping to [18, 90]
    "log_income",  # log of income, standardised
    "credit_score",  # standardised, after clipping to [300, 850]
    "revolving_ratio",  # revolving balance / credit limit, clipped to [0, 1]
    "travel_share",  # clipped to [0, 1]
    "grocery_share",  # clipped to [0, 1]
    "tenure",  # months as customer, capped at 120, standardised
    "has_mortgage",  # 0 or 1
    "has_business",  # 0 or 1
    "recent_applications",  # capped at 5, standardised
    "intercept",  # always 1
)

#: Customer segments a bank could define by rules on what it sees (:func:`assign_segments`).
SEGMENT_NAMES = ("business", "revolver", "traveller", "grocery")

#: The hidden truth (the source's Part 8.2): per offer, a base rate plus coefficients on
#: the source's normalised quantities. ``income_index`` is log(income) / log(500 000);
#: shares and the revolving ratio are fractions in [0, 1]. Rates are capped at RATE_CAP.
TRUE_MODEL = {
    "cashback_grocery_2pct": (0.020, {"grocery_share": 0.12}),
    "travel_miles_3x": (0.010, {"travel_share": 0.15, "income_index": 0.05}),
    "balance_transfer_0apr": (0.010, {"revolving_ratio": 0.18}),
    "business_expense_card": (0.005, {"has_business": 0.20}),
    "premium_rewards_500bonus": (0.010, {"income_index": 0.08, "travel_share": 0.03}),
}
RATE_CAP = 0.25
_INCOME_SCALE = np.log(500_000)


# ---------------------------------------------------------------------------------------
# Customers
# ---------------------------------------------------------------------------------------
def _as_customers(customers, name="customers"):
    """A DataFrame with every column of CUSTOMER_COLUMNS (a dict is one customer)."""
    if isinstance(customers, dict):
        customers = pd.DataFrame([customers])
    if not isinstance(customers, pd.DataFrame):
        raise TypeError(
            f"{name} is of type {type(customers).__name__}, must be a pandas DataFrame "
            "(or a dict describing one customer)."
        )
    missing = [c for c in CUSTOMER_COLUMNS if c not in customers.columns]
    if missing:
        raise ValueError(
            f"{name} lacks the column(s) {missing}, must have all of {list(CUSTOMER_COLUMNS)}."
        )
    values = customers[list(CUSTOMER_COLUMNS)]
    try:
        numeric = values.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} has non-numeric values in {list(CUSTOMER_COLUMNS)}, must be numbers."
        ) from None
    if not np.isfinite(numeric).all():
        row, col = np.argwhere(~np.isfinite(numeric))[0]
        raise ValueError(
            f"{name}[{CUSTOMER_COLUMNS[col]!r}] has {float(numeric[row, col])!r} in row {row}, "
            "must be a finite number."
        )
    if (numeric < 0).any():
        row, col = np.argwhere(numeric < 0)[0]
        raise ValueError(
            f"{name}[{CUSTOMER_COLUMNS[col]!r}] has {float(numeric[row, col])!r} in row {row}, "
            "must be >= 0."
        )
    return customers


def draw_customers(
    n: int, *, weights: ArrayLike | None = None, spread: float = 1.0, rng: RNGLike = None
) -> pd.DataFrame:
    """A sample of ``n`` customers around the four archetypes, as a DataFrame.

    Each customer belongs to one archetype (column ``archetype``, drawn with probabilities
    ``weights``, equal by default) and varies around it: age +- 8 years, income and credit
    limit log-normal (about +-35% and +-30%), credit score +- 40 points, the revolving
    ratio and spend shares logit-normal, tenure log-normal, a mortgage or a business that
    not every member of the archetype has (or that some others do), a few recent
    applications. ``spread`` scales all of that: 0 gives the four archetypes exactly.

    Examples
    --------
    >>> df = draw_customers(1000, rng=0)
    >>> df.shape, sorted(df["archetype"].unique())[0]
    ((1000, 12), 'frequent_traveller')
    >>> draw_customers(4, spread=0.0, rng=0)["annual_income"].isin([65_000, 90_000, 180_000, 250_000]).all()
    np.True_
    """
    n = check_int("n", n, minimum=1)
    if isinstance(spread, (bool, np.bool_)) or not isinstance(
        spread, (int, float, np.integer, np.floating)
    ):
        raise TypeError(
            f"spread == {spread!r} is of type {type(spread).__name__}, must be a real number."
        )
    s = float(spread)
    if not np.isfinite(s) or s < 0:
        raise ValueError(f"spread == {s!r}, must be a finite number >= 0.")
    names = list(ARCHETYPES)
    if weights is None:
        p = np.full(len(names), 1.0 / len(names))
    else:
        p = np.asarray(weights, dtype=float)
        if p.shape != (len(names),) or not np.isfinite(p).all() or (p < 0).any() or p.sum() <= 0:
            raise ValueError(
                f"weights == {weights!r}, must be {len(names)} non-negative numbers "
                f"(one per archetype: {names}), not all 0."
            )
        p = p / p.sum()
    gen = resolve_rng(rng)
    which = gen.choice(len(names), size=n, p=p)
    base = {
        c: np.array([ARCHETYPES[k][c] for k in names], dtype=float)[which] for c in CUSTOMER_COLUMNS
    }
    z = gen.standard_normal((n, 9)) * s
    u = gen.random((n, 2))

    def logit_normal(centre, noise):
        return 1.0 / (1.0 + np.exp(-(np.log(centre / (1 - centre)) + noise)))

    age = np.clip(np.round(base["age"] + 8.0 * z[:, 0]), 18, 85)
    income = np.round(base["annual_income"] * np.exp(0.35 * z[:, 1]), -2)
    score = np.clip(np.round(base["credit_score"] + 40.0 * z[:, 2]), 300, 850)
    limit = np.maximum(np.round(base["credit_limit"] * np.exp(0.3 * z[:, 3]), -2), 500.0)
    ratio = logit_normal(base["revolving_balance"] / base["credit_limit"], 0.6 * z[:, 4])
    travel = logit_normal(base["travel_spend_pct"], 0.5 * z[:, 5])
    grocery = logit_normal(base["grocery_spend_pct"], 0.5 * z[:, 6])
    total = travel + grocery
    squeeze = np.where(total > 0.9, 0.9 / total, 1.0)  # the two shares leave room for other spend
    months = np.clip(np.round(base["months_as_customer"] * np.exp(0.5 * z[:, 7])), 1, 480)
    # A flag flips away from its archetype's value with a probability that grows with spread.
    flip_mortgage = u[:, 0] < np.where(base["has_mortgage"] == 1, 0.15, 0.20) * min(s, 1.0)
    flip_business = u[:, 1] < np.where(base["has_business"] == 1, 0.10, 0.03) * min(s, 1.0)
    apps = np.clip(np.round(base["recent_app_count"] + 1.0 * z[:, 8]), 0, 10)
    df = pd.DataFrame(
        {
            "archetype": pd.Categorical.from_codes(which, names),
            "age": age.astype(int),
            "annual_income": income,
            "credit_score": score.astype(int),
            "revolving_balance": np.round(ratio * limit, -1),
            "credit_limit": limit,
            "travel_spend_pct": np.round(travel * squeeze, 3),
            "grocery_spend_pct": np.round(grocery * squeeze, 3),
            "months_as_customer": months.astype(int),
            "has_mortgage": np.where(
                flip_mortgage, 1 - base["has_mortgage"], base["has_mortgage"]
            ).astype(int),
            "has_business": np.where(
                flip_business, 1 - base["has_business"], base["has_business"]
            ).astype(int),
            "recent_app_count": apps.astype(int),
        }
    )
    return df


def _truth_inputs(customers):
    """The source's normalised quantities the true model reads."""
    c = customers
    return {
        "income_index": np.log(np.maximum(c["annual_income"].to_numpy(float), 1.0)) / _INCOME_SCALE,
        "travel_share": np.minimum(c["travel_spend_pct"].to_numpy(float), 1.0),
        "grocery_share": np.minimum(c["grocery_spend_pct"].to_numpy(float), 1.0),
        "revolving_ratio": np.minimum(
            c["revolving_balance"].to_numpy(float)
            / np.maximum(c["credit_limit"].to_numpy(float), 1.0),
            1.0,
        ),
        "has_business": c["has_business"].to_numpy(float),
    }


def true_conversion(customers: pd.DataFrame | dict) -> np.ndarray:
    """Every offer's probability of conversion for each customer: the hidden truth.

    ``customers`` is a DataFrame with :data:`CUSTOMER_COLUMNS` (or a dict for one
    customer); returns shape (n, 5), offers in the order of :data:`OFFER_NAMES`.

    >>> rates = true_conversion(ARCHETYPES["frequent_traveller"])
    >>> [OFFER_NAMES[k] for k in rates.argmax(axis=1)]
    ['travel_miles_3x']
    """
    c = _as_customers(customers)
    q = _truth_inputs(c)
    out = np.empty((len(c), len(OFFER_NAMES)))
    for k, offer in enumerate(OFFER_NAMES):
        base, coefs = TRUE_MODEL[offer]
        out[:, k] = base + sum(coef * q[name] for name, coef in coefs.items())
    return np.minimum(out, RATE_CAP)


def assign_segments(customers: pd.DataFrame | dict) -> np.ndarray:
    """Rule-based segments from what the bank sees (no hidden archetype): a business flag
    first, then a revolving ratio of at least 0.5, then travel versus grocery spend.
    Returns integer codes into :data:`SEGMENT_NAMES`."""
    c = _as_customers(customers)
    q = _truth_inputs(c)
    business = q["has_business"] == 1
    revolver = ~business & (q["revolving_ratio"] >= 0.5)
    traveller = ~business & ~revolver & (q["travel_share"] >= q["grocery_share"])
    return np.select([business, revolver, traveller], [0, 1, 2], default=3).astype(np.int64)


# ---------------------------------------------------------------------------------------
# Features: fitted once on history, used unchanged at decision time
# ---------------------------------------------------------------------------------------
def _clip(X, low, high):
    return np.clip(np.asarray(X, dtype=float), low, high)  # numpy, not pandas: much faster


def _clip_to(low, high, name=None):
    return FunctionTransformer(
        _clip,
        kw_args={"low": low, "high": high},
        feature_names_out=_named(name) if name else "one-to-one",
    )


def _log_income(X):
    return np.log(np.maximum(np.asarray(X, dtype=float), 1.0))


def _ratio(X):
    X = np.asarray(X, dtype=float)
    return np.clip(X[:, :1] / np.maximum(X[:, 1:2], 1.0), 0.0, 1.0)


def _ones(X):
    return np.ones((np.asarray(X).shape[0], 1))


def _feature_name(transformer, names, *, name):
    return np.array([name], dtype=object)


def _named(name):
    """A ``feature_names_out`` that names the one output ``name`` (picklable, so the fitted
    pipeline and the environment travel to other processes)."""
    return functools.partial(_feature_name, name=name)


def make_feature_pipeline() -> ColumnTransformer:
    """The scikit-learn ``ColumnTransformer`` from raw customer columns to the 11 model
    features of :data:`FEATURE_NAMES` (unfitted: fit it on a historical sample).

    Log income, standardise the continuous quantities, clip ratios and shares to [0, 1]
    and counts to a cap, pass the two flags through, and add an intercept.

    Examples
    --------
    >>> pipe = make_feature_pipeline().fit(draw_customers(500, rng=0))
    >>> X = pipe.transform(draw_customers(3, rng=1))
    >>> X.shape, tuple(pipe.get_feature_names_out()) == FEATURE_NAMES
    ((3, 11), True)
    """
    scaled = lambda *steps: make_pipeline(*steps, StandardScaler())
    return ColumnTransformer(
        [
            ("age", scaled(_clip_to(18, 90)), ["age"]),
            (
                "log_income",
                scaled(FunctionTransformer(_log_income, feature_names_out=_named("log_income"))),
                ["annual_income"],
            ),
            ("credit_score", scaled(_clip_to(300, 850)), ["credit_score"]),
            (
                "revolving_ratio",
                FunctionTransformer(_ratio, feature_names_out=_named("revolving_ratio")),
                ["revolving_balance", "credit_limit"],
            ),
            ("travel_share", _clip_to(0.0, 1.0, "travel_share"), ["travel_spend_pct"]),
            ("grocery_share", _clip_to(0.0, 1.0, "grocery_share"), ["grocery_spend_pct"]),
            ("tenure", scaled(_clip_to(0, 120, "tenure")), ["months_as_customer"]),
            ("flags", _clip_to(0, 1), ["has_mortgage", "has_business"]),
            (
                "recent_applications",
                scaled(_clip_to(0, 5, "recent_applications")),
                ["recent_app_count"],
            ),
            (
                "intercept",
                FunctionTransformer(_ones, feature_names_out=_named("intercept")),
                ["age"],
            ),
        ],
        remainder="drop",
        sparse_threshold=0.0,
        verbose_feature_names_out=False,
    )
