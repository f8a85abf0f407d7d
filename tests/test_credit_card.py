"""The credit-card case: archetypes, population, feature pipeline, hidden truth, environment."""

import re

import numpy as np
import pandas as pd
import pytest

from bandit_lab import OFFER_NAMES, CreditCardEnv, draw_customers
from bandit_lab.credit_card import (
    ARCHETYPES,
    CUSTOMER_COLUMNS,
    FEATURE_NAMES,
    SEGMENT_NAMES,
    assign_segments,
    make_feature_pipeline,
    true_conversion,
)


@pytest.fixture(scope="module")
def env():
    return CreditCardEnv(n_customers=5_000, n_history=2_000, rng=0)


def test_the_truth_is_the_source_model_written_out_by_hand():
    c = ARCHETYPES["small_business_owner"]
    inc = np.log(250_000) / np.log(500_000)
    want = [
        0.02 + 0.12 * 0.08,
        0.01 + 0.15 * 0.20 + 0.05 * inc,
        0.01 + 0.18 * 5_000 / 40_000,
        0.005 + 0.20,
        0.01 + 0.08 * inc + 0.03 * 0.20,
    ]
    np.testing.assert_allclose(true_conversion(c)[0], want, rtol=1e-12)


def test_each_archetype_has_a_different_best_offer():
    best = {name: OFFER_NAMES[int(true_conversion(c).argmax())] for name, c in ARCHETYPES.items()}
    assert best == {
        "frequent_traveller": "travel_miles_3x",
        "grocery_shopper": "premium_rewards_500bonus",  # not cashback: by 0.005
        "high_revolving_balance": "balance_transfer_0apr",
        "small_business_owner": "business_expense_card",
    }


def test_population_is_seeded_and_spread_zero_gives_the_archetypes():
    a, b = draw_customers(300, rng=4), draw_customers(300, rng=4)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["archetype", *CUSTOMER_COLUMNS]
    exact = draw_customers(40, spread=0.0, rng=1)
    for _, row in exact.iterrows():
        for col, value in ARCHETYPES[row["archetype"]].items():
            assert row[col] == pytest.approx(value, rel=1e-9), (row["archetype"], col)


def test_population_has_realistic_spread_and_respects_the_weights():
    df = draw_customers(20_000, weights=[0.1, 0.2, 0.3, 0.4], rng=2)
    share = df["archetype"].value_counts(normalize=True)[list(ARCHETYPES)].to_numpy()
    se = np.sqrt(share * (1 - share) / len(df))
    assert np.all(np.abs(share - [0.1, 0.2, 0.3, 0.4]) < 4 * se)
    assert df["age"].between(18, 85).all() and df["credit_score"].between(300, 850).all()
    assert (df["travel_spend_pct"] + df["grocery_spend_pct"] <= 0.9 + 1e-3).all()
    assert (df["revolving_balance"] <= df["credit_limit"]).all()
    travellers = df[df["archetype"] == "frequent_traveller"]
    assert 6 < travellers["age"].std() < 10  # spread, not copies
    assert abs(np.log(travellers["annual_income"]).median() - np.log(180_000)) < 0.05
    assert 0.7 < travellers["has_mortgage"].mean() < 0.95  # most, not all


def test_bad_population_requests_are_refused():
    with pytest.raises(ValueError, match=re.escape("n == 0, must be >= 1.")):
        draw_customers(0)
    with pytest.raises(
        ValueError, match=re.escape("spread == -1.0, must be a finite number >= 0.")
    ):
        draw_customers(5, spread=-1.0)
    with pytest.raises(ValueError, match="weights == \\[1, 2\\], must be 4 non-negative numbers"):
        draw_customers(5, weights=[1, 2])


def test_pipeline_names_and_shapes_the_features(env):
    assert tuple(env.pipeline.get_feature_names_out()) == FEATURE_NAMES
    X = env.contexts
    assert X.shape == (5_000, 11)
    np.testing.assert_array_equal(X[:, FEATURE_NAMES.index("intercept")], 1.0)
    for name in (
        "revolving_ratio",
        "travel_share",
        "grocery_share",
        "has_mortgage",
        "has_business",
    ):
        col = X[:, FEATURE_NAMES.index(name)]
        assert col.min() >= 0 and col.max() <= 1
    # standardised on the *history*: mean 0 and sd 1 there, close to it on the population
    H = env.pipeline.transform(env.history)
    for name in ("age", "log_income", "credit_score", "tenure", "recent_applications"):
        j = FEATURE_NAMES.index(name)
        assert abs(H[:, j].mean()) < 1e-9 and H[:, j].std() == pytest.approx(1.0, rel=1e-9)
        assert abs(X[:, j].mean()) < 0.1


def test_pipeline_is_fitted_on_history_and_used_unchanged(env):
    scaler = env.pipeline.named_transformers_["log_income"][-1]
    before = (scaler.mean_.copy(), scaler.scale_.copy())
    odd = draw_customers(500, weights=[0, 0, 0, 1], rng=9)  # only business owners
    X = env.context_of(odd)
    np.testing.assert_array_equal(scaler.mean_, before[0])
    np.testing.assert_array_equal(scaler.scale_, before[1])
    assert X[:, FEATURE_NAMES.index("log_income")].mean() > 0.5  # richer than the history
    refit = make_feature_pipeline().fit(odd).transform(odd)
    assert abs(refit[:, FEATURE_NAMES.index("log_income")].mean()) < 1e-9  # refitting would hide it
    np.testing.assert_allclose(
        env.context_of(env.customers.iloc[:50]), env.contexts[:50], rtol=1e-12
    )


def test_clipping_tames_extreme_records(env):
    wild = dict(
        ARCHETYPES["grocery_shopper"],
        revolving_balance=50_000,
        credit_limit=1_000,
        months_as_customer=900,
        recent_app_count=40,
        age=120,
    )
    x = env.context_of(wild)[0]
    assert x[FEATURE_NAMES.index("revolving_ratio")] == 1.0
    capped = env.context_of(dict(wild, months_as_customer=120, recent_app_count=5, age=90))[0]
    np.testing.assert_allclose(x, capped)


def test_the_truth_is_exactly_linear_in_the_model_features(env):
    W = env.true_weights()
    assert W.shape == (5, 11)
    np.testing.assert_allclose(env.contexts @ W.T, env.expected, atol=1e-12)
    j = {n: i for i, n in enumerate(FEATURE_NAMES)}
    assert W[OFFER_NAMES.index("travel_miles_3x"), j["travel_share"]] == pytest.approx(0.15)
    assert W[OFFER_NAMES.index("business_expense_card"), j["has_business"]] == pytest.approx(0.20)
    assert W[:, j["age"]].tolist() == [0.0] * 5  # age plays no part in the truth


def test_serving_and_outcomes_follow_the_truth(env):
    gen = np.random.default_rng(3)
    batch = env.serve(40_000, gen)
    out = env.outcomes(batch, gen)
    assert out.shape == (40_000, 5) and set(np.unique(out)) <= {0.0, 1.0}
    p = batch.expected.mean(axis=0)
    se = np.sqrt(p * (1 - p) / 40_000)
    assert np.all(np.abs(out.mean(axis=0) - p) < 4 * se)
    np.testing.assert_array_equal(batch.contexts, env.contexts[batch.index])


def test_segments_follow_what_the_bank_can_see(env):
    seg = assign_segments(env.customers)
    assert set(np.unique(seg)) <= set(range(len(SEGMENT_NAMES)))
    expected = {
        "small_business_owner": "business",
        "high_revolving_balance": "revolver",
        "frequent_traveller": "traveller",
        "grocery_shopper": "grocery",
    }
    for archetype, segment in expected.items():
        rows = (env.customers["archetype"] == archetype).to_numpy()
        assert np.mean(seg[rows] == SEGMENT_NAMES.index(segment)) > 0.85


def test_customer_records_are_checked():
    with pytest.raises(ValueError, match="lacks the column\\(s\\) \\['credit_score'\\]"):
        true_conversion(
            {k: v for k, v in ARCHETYPES["grocery_shopper"].items() if k != "credit_score"}
        )
    with pytest.raises(ValueError, match=re.escape("customers['annual_income'] has nan in row 0")):
        true_conversion(dict(ARCHETYPES["grocery_shopper"], annual_income=float("nan")))
    with pytest.raises(
        ValueError,
        match=re.escape("customers['revolving_balance'] has -5.0 in row 0, must be >= 0."),
    ):
        true_conversion(dict(ARCHETYPES["grocery_shopper"], revolving_balance=-5.0))
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        true_conversion([1, 2, 3])


def test_a_bank_can_choose_its_own_segments():
    def age_bands(customers):
        return np.digitize(customers["age"], [35, 45, 55])

    env = CreditCardEnv(n_customers=1_000, n_history=500, segment_rule=age_bands, rng=0)
    same = CreditCardEnv(n_customers=1_000, n_history=500, rng=0)
    np.testing.assert_array_equal(env.contexts, same.contexts)  # the same customers
    np.testing.assert_array_equal(env.segments, age_bands(env.customers))
    assert env.n_segments == 4 and env.segment_names[3] == "segment 3"
    with pytest.raises(
        ValueError, match="segment_rule returned an array of shape \\(1000,\\) and dtype float64"
    ):
        CreditCardEnv(n_customers=1_000, n_history=500, segment_rule=lambda c: c["age"] / 10.0)
    with pytest.raises(TypeError, match="segment_rule is of type int"):
        CreditCardEnv(segment_rule=3)
