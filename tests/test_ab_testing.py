"""Bayesian A/B testing against exact arithmetic, Monte Carlo and published values.

Monte Carlo comparisons allow 4 standard errors of the simulation; exact comparisons use
rational arithmetic (``fractions``), independent of the floating-point code under test.
"""

from fractions import Fraction
from math import factorial

import numpy as np
import pytest
from scipy import stats

from bandit_lab import BetaPosterior
from bandit_lab.ab_testing import _exact as ab
from bandit_lab.ab_testing import (
    expected_loss,
    lift_interval,
    peeking_rejection_rates,
    prob_b_beats_a,
    prob_being_best,
    sequential_ab_test,
    stop_on_expected_loss,
    stop_on_prob_best,
    two_proportion_ztest,
    ztest_power,
    ztest_sample_size,
)

# ------------------------------------------------------------------------------------------
# P(B > A)


def _beta_fn(a, b):
    return Fraction(factorial(a - 1) * factorial(b - 1), factorial(a + b - 1))


def exact_prob_b_beats_a(a1, b1, a2, b2):
    """Evan Miller's sum in exact rational arithmetic (whole-number parameters)."""
    return float(
        sum(
            _beta_fn(a1 + i, b1 + b2) / ((b2 + i) * _beta_fn(1 + i, b2) * _beta_fn(a1, b1))
            for i in range(a2)
        )
    )


@pytest.mark.parametrize(
    "a1, b1, a2, b2",
    [
        (1, 1, 2, 1),
        (3, 7, 4, 6),
        (41, 961, 59, 943),
        (12, 300, 9, 150),
        (60, 2, 55, 3),
        (1, 40, 1, 41),
    ],
)
def test_prob_b_beats_a_equals_the_exact_rational_sum(a1, b1, a2, b2):
    expect = exact_prob_b_beats_a(a1, b1, a2, b2)
    assert prob_b_beats_a((a1, b1), (a2, b2)) == pytest.approx(expect, abs=1e-10)
    # the quadrature used for non-whole parameters agrees too
    assert ab._prob_greater_quad(float(a1), float(b1), float(a2), float(b2)) == pytest.approx(
        expect, abs=1e-10
    )


@pytest.mark.parametrize(
    "a1, b1, a2, b2",
    [
        (41, 961, 59, 943),  # whole numbers: exact sum
        (3.5, 20.25, 5.5, 19.75),  # none whole: quadrature
        (2.0, 5.5, 3.5, 4.25),  # only alpha_A whole: 1 - sum over alpha_A terms
        (2.5, 5.0, 3.5, 4.25),  # only beta_A whole
        (2.5, 5.5, 3.5, 4.0),  # only beta_B whole
        (0.3, 0.7, 0.2, 0.9),  # U-shaped densities
        (200.5, 3800.5, 230.5, 3770.5),
    ],
)
def test_prob_b_beats_a_matches_monte_carlo_and_is_symmetric(a1, b1, a2, b2):
    n = 400_000
    rng = np.random.default_rng(11)
    mc = np.mean(rng.beta(a2, b2, n) > rng.beta(a1, b1, n))
    p = prob_b_beats_a((a1, b1), (a2, b2))
    se = np.sqrt(max(p * (1 - p), 1e-4) / n)
    assert abs(p - mc) < 4 * se
    assert p + prob_b_beats_a((a2, b2), (a1, b1)) == pytest.approx(1.0, abs=1e-10)
    # reflecting both rates (x -> 1 - x) reverses the comparison
    assert prob_b_beats_a((b2, a2), (b1, a1)) == pytest.approx(p, abs=1e-10)


def test_prob_b_beats_a_closed_forms_and_posteriors():
    assert prob_b_beats_a((1, 1), (2, 1)) == pytest.approx(2 / 3, abs=1e-12)
    assert prob_b_beats_a((7.3, 2.2), (7.3, 2.2)) == pytest.approx(0.5, abs=1e-10)
    assert prob_b_beats_a((1e6 + 0.5, 2e7), (1e6 + 0.5, 2e7)) == pytest.approx(0.5, abs=1e-9)
    a, b = BetaPosterior.from_counts(40, 960), BetaPosterior.from_counts(58, 942)
    assert prob_b_beats_a(a, b) == prob_b_beats_a((41, 961), (59, 943))
    assert isinstance(prob_b_beats_a(a, b), float)


def test_prob_b_beats_a_vectorised_equals_elementwise():
    alpha_a = np.array([1.0, 41.0, 3.5, 200.0, 2.0])
    beta_a = np.array([1.0, 961.0, 20.25, 3800.0, 5.5])
    alpha_b = np.array([2.0, 59.0, 5.5, 230.0, 3.5])
    beta_b = np.array([1.0, 943.0, 19.75, 3770.0, 4.25])
    together = prob_b_beats_a((alpha_a, beta_a), (alpha_b, beta_b))
    assert together.shape == (5,)
    for k in range(5):
        one = prob_b_beats_a((alpha_a[k], beta_a[k]), (alpha_b[k], beta_b[k]))
        assert together[k] == pytest.approx(one, abs=1e-12)
    grid = prob_b_beats_a(BetaPosterior(np.full((2, 3), 5.0), 50.0), (np.arange(1.0, 4.0), 50.0))
    assert grid.shape == (2, 3)


def test_long_sums_are_split_into_blocks_without_changing_the_answer(monkeypatch):
    alpha = np.array([30.0, 300.0, 3000.0, 5.0])
    beta = np.array([600.0, 6000.0, 60000.0, 100.0])
    whole = prob_b_beats_a((alpha, beta), (alpha * 1.1, beta))
    monkeypatch.setattr(ab, "_BLOCK", 500)
    assert prob_b_beats_a((alpha, beta), (alpha * 1.1, beta)) == pytest.approx(whole, abs=1e-12)
    monkeypatch.setattr(ab, "_MAX_TERMS", 10)  # forces quadrature for the long ones
    assert prob_b_beats_a((alpha, beta), (alpha * 1.1, beta)) == pytest.approx(whole, abs=1e-9)


# ------------------------------------------------------------------------------------------
# Expected loss, probability of being best, lift


@pytest.mark.parametrize(
    "variants",
    [
        [(41, 961), (59, 943)],
        [(3.5, 20.25), (5.5, 19.75)],
        [(12, 300), (9, 150)],
        [(31, 971), (46, 956), (61, 941)],
        [(2.5, 3.0), (2.0, 2.0), (1.5, 1.0), (4.0, 9.0)],
    ],
)
def test_expected_loss_matches_monte_carlo(variants):
    n = 400_000
    rng = np.random.default_rng(5)
    draws = np.stack([rng.beta(a, b, n) for a, b in variants], axis=1)
    regret = draws.max(axis=1)[:, None] - draws  # loss of choosing each variant, per draw
    mc = regret.mean(axis=0)
    se = regret.std(axis=0, ddof=1) / np.sqrt(n)
    loss = expected_loss(*variants)
    assert loss.shape == (len(variants),)
    assert np.all(np.abs(loss - mc) < 4 * se + 1e-12)


def test_two_variant_closed_form_equals_generic_quadrature():
    for (a1, b1), (a2, b2) in [((41, 961), (59, 943)), ((3, 7), (4, 6)), ((2.5, 9.0), (7.0, 3.5))]:
        loss = expected_loss((a1, b1), (a2, b2))
        e_max = ab._expected_max_quad(np.array([a1, a2], float), np.array([b1, b2], float))
        means = np.array([a1 / (a1 + b1), a2 / (a2 + b2)])
        np.testing.assert_allclose(loss, e_max - means, atol=1e-10)
        assert loss[1] - loss[0] == pytest.approx(means[0] - means[1], abs=1e-12)


def test_expected_loss_of_identical_uniforms_is_a_quarter_for_three():
    # E[max of 3 uniforms] = 3/4, mean 1/2; two uniforms: E[max] = 2/3
    np.testing.assert_allclose(expected_loss((1, 1), (1, 1), (1, 1)), [0.25] * 3, atol=1e-10)
    np.testing.assert_allclose(expected_loss((1, 1), (1, 1)), [1 / 6] * 2, atol=1e-12)


def test_expected_loss_vectorised_over_experiments():
    alpha = np.array([[41.0, 59.0], [5.0, 6.0], [100.0, 80.0]])
    beta = np.array([[961.0, 943.0], [95.0, 94.0], [900.0, 920.0]])
    together = expected_loss((alpha[:, 0], beta[:, 0]), (alpha[:, 1], beta[:, 1]))
    assert together.shape == (3, 2)
    for k in range(3):
        np.testing.assert_allclose(
            together[k], expected_loss((alpha[k, 0], beta[k, 0]), (alpha[k, 1], beta[k, 1]))
        )


@pytest.mark.parametrize(
    "variants",
    [
        [(31, 971), (46, 956), (61, 941)],
        [(2.5, 3.0), (2.0, 2.0), (1.5, 1.0), (4.0, 9.0)],
        [(3.5, 20.25), (5.5, 19.75)],
    ],
)
def test_prob_being_best_integrates_to_the_monte_carlo_answer(variants):
    exact = prob_being_best(*variants)
    assert exact.sum() == pytest.approx(1.0, abs=1e-12)
    n = 400_000
    mc = prob_being_best(*variants, method="monte_carlo", n_samples=n, rng=3)
    se = np.sqrt(np.maximum(exact * (1 - exact), 1e-5) / n)
    assert np.all(np.abs(exact - mc) < 4 * se)


def test_prob_being_best_of_two_is_prob_b_beats_a_and_of_equals_is_uniform():
    p = prob_b_beats_a((41, 961), (59, 943))
    np.testing.assert_allclose(prob_being_best((41, 961), (59, 943)), [1 - p, p], atol=1e-12)
    np.testing.assert_allclose(prob_being_best(*[(3.0, 9.5)] * 4), [0.25] * 4, atol=1e-9)


def test_lift_interval_absolute_matches_the_normal_limit_and_nests():
    a, b = (2001.0, 38001.0), (2201.0, 37801.0)  # large counts: the difference is ~normal
    ma, mb = a[0] / sum(a), b[0] / sum(b)
    sd = np.sqrt(ma * (1 - ma) / (sum(a) + 1) + mb * (1 - mb) / (sum(b) + 1))
    low, high = lift_interval(a, b, kind="absolute", level=0.95, rng=1)
    assert low == pytest.approx(mb - ma - 1.96 * sd, abs=0.03 * sd + 2e-5)
    assert high == pytest.approx(mb - ma + 1.96 * sd, abs=0.03 * sd + 2e-5)
    rel_low, rel_high = lift_interval(a, b, level=0.95, rng=1)
    assert rel_low == pytest.approx(low / ma, rel=0.05)  # relative ~ absolute / rate_A
    inner = lift_interval(a, b, level=0.5, rng=1)
    assert rel_low < inner[0] < inner[1] < rel_high
    assert lift_interval(a, b, rng=7) == lift_interval(a, b, rng=7)


# ------------------------------------------------------------------------------------------
# Stopping rules


def test_stopping_rules_follow_their_numbers():
    alpha_a, beta_a = np.array([41.0, 5.0, 3000.0]), np.array([961.0, 95.0, 57000.0])
    alpha_b, beta_b = np.array([59.0, 6.0, 3001.0]), np.array([943.0, 94.0, 56999.0])
    loss = expected_loss((alpha_a, beta_a), (alpha_b, beta_b))
    stop, choice = stop_on_expected_loss((alpha_a, beta_a), (alpha_b, beta_b), threshold=0.001)
    np.testing.assert_array_equal(stop, loss.min(axis=1) < 0.001)
    np.testing.assert_array_equal(choice, loss.argmin(axis=1))
    assert stop.tolist() == [True, False, True]  # the third: equal and well measured
    p = prob_b_beats_a((alpha_a, beta_a), (alpha_b, beta_b))
    stop, choice = stop_on_prob_best((alpha_a, beta_a), (alpha_b, beta_b), level=0.95)
    np.testing.assert_array_equal(stop, np.maximum(p, 1 - p) > 0.95)
    np.testing.assert_array_equal(choice, (p > 0.5).astype(int))
    # X ~ Beta(30, 2) beats two uniforms with probability E[X^2] = 30 * 31 / (32 * 33)
    assert prob_being_best((1, 1), (1, 1), (30, 2))[2] == pytest.approx(930 / 1056, abs=1e-10)
    assert stop_on_prob_best((1, 1), (1, 1), (30, 2), level=0.88) == (True, 2)
    assert stop_on_prob_best((1, 1), (1, 1), (30, 2), level=0.881) == (False, 2)


# ------------------------------------------------------------------------------------------
# The classical test


def test_ztest_equals_the_chi_square_test_without_correction():
    table = np.array([[40, 960], [58, 942]])
    chi2, p_chi2, _dof, _exp = stats.chi2_contingency(table, correction=False)
    z, p = two_proportion_ztest(40, 1000, 58, 1000)
    assert z**2 == pytest.approx(chi2, rel=1e-12)
    assert p == pytest.approx(p_chi2, rel=1e-10)
    assert z > 0  # B converted more
    z0, p0 = two_proportion_ztest(0, 50, 0, 80)  # nobody converted: no evidence
    assert (z0, p0) == (0.0, 1.0)
    z_arr, p_arr = two_proportion_ztest(np.array([40, 58]), 1000, np.array([58, 40]), 1000)
    np.testing.assert_allclose(z_arr, [z, -z])
    np.testing.assert_allclose(p_arr, [p, p])


def test_sample_size_and_power_match_r_power_prop_test():
    # R's documentation of power.prop.test: p1 = .50, p2 = .75, power = .90 => n = 76.7,
    # and n = 50 => power = 0.740.
    assert ztest_sample_size(0.5, 0.75, power=0.9) == 77
    assert ztest_power(0.5, 0.75, 50) == pytest.approx(0.740, abs=5e-4)
    n = ztest_sample_size(0.05, 0.06)
    assert ztest_power(0.05, 0.06, n) >= 0.8 > ztest_power(0.05, 0.06, n - 1)
    assert ztest_sample_size(0.06, 0.05) == n


def test_simulated_power_at_the_formula_sample_size_is_the_target():
    n = ztest_sample_size(0.05, 0.06, alpha=0.05, power=0.8)
    n_sim = 6000
    rng = np.random.default_rng(2)
    s_a, s_b = rng.binomial(n, 0.05, n_sim), rng.binomial(n, 0.06, n_sim)
    _z, p = two_proportion_ztest(s_a, n, s_b, n)
    power = np.mean(p < 0.05)
    se = np.sqrt(0.8 * 0.2 / n_sim)
    assert abs(power - 0.8) < 4 * se


def test_peeking_inflates_false_positives_but_one_look_keeps_alpha():
    r = peeking_rejection_rates(
        0.05, 0.05, alpha=0.05, check_every=500, max_samples=10_000, n_experiments=4000, rng=8
    )
    se = np.sqrt(0.05 * 0.95 / r.n_experiments)
    assert abs(r.final_look - 0.05) < 4 * se
    se_any = np.sqrt(r.any_look * (1 - r.any_look) / r.n_experiments)
    assert r.any_look - 4 * se_any > 0.05 + 4 * se  # 20 looks: far above the nominal 5%
    # with a real difference the same function measures power; one look matches the formula
    r1 = peeking_rejection_rates(
        0.05, 0.07, check_every=2000, max_samples=2000, n_experiments=4000, rng=9
    )
    expect = ztest_power(0.05, 0.07, 2000)
    assert abs(r1.final_look - expect) < 4 * np.sqrt(expect * (1 - expect) / 4000)
    assert r1.final_look == r1.any_look  # one look: nothing to peek at


# ------------------------------------------------------------------------------------------
# The sequential runner


def test_runner_z_rule_equals_a_hand_written_rule_on_the_same_visitors():
    kwargs = dict(check_every=250, max_samples=5000, n_experiments=400, rng=4)
    built_in = sequential_ab_test(0.05, 0.05, rule="ztest", threshold=0.05, **kwargs)

    def by_hand(successes, trials):
        _z, p = two_proportion_ztest(successes[:, 0], trials[:, 0], successes[:, 1], trials[:, 1])
        return p < 0.05, (successes[:, 1] > successes[:, 0]).astype(int)

    custom = sequential_ab_test(0.05, 0.05, rule=by_hand, threshold=None, **kwargs)
    np.testing.assert_array_equal(built_in.stop_samples, custom.stop_samples)
    np.testing.assert_array_equal(built_in.decision, custom.decision)
    # the peeking false-positive rate equals peeking_rejection_rates' on the same seed
    r = peeking_rejection_rates(0.05, 0.05, alpha=0.05, **{**kwargs, "n_experiments": 400})
    assert built_in.stop_rate == r.any_look


def test_runner_bookkeeping():
    never = sequential_ab_test(
        0.03,
        0.06,
        rule=lambda s, n: (np.zeros(len(s), bool), np.zeros(len(s), int)),
        threshold=None,
        check_every=100,
        max_samples=3000,
        n_experiments=3000,
        prior=(2.0, 8.0),
        rng=0,
    )
    assert not never.stopped.any() and (never.decision == -1).all()
    assert (never.stop_samples == 3000).all()
    assert np.isnan(never.loss).all() and not never.chose_worse.any()
    # at the last look the counts are Binomial(3000, rate)
    for k, rate in enumerate((0.03, 0.06)):
        se = np.sqrt(3000 * rate * (1 - rate) / 3000)
        assert abs(never.successes[:, k].mean() - 3000 * rate) < 4 * se
    np.testing.assert_allclose(never.posterior_mean, (2.0 + never.successes) / (10.0 + 3000))
    res = sequential_ab_test(
        0.03,
        0.06,
        rule="expected_loss",
        threshold=0.002,
        check_every=100,
        max_samples=3000,
        n_experiments=300,
        rng=0,
    )
    assert set(np.unique(res.stop_samples)) <= set(range(100, 3001, 100))
    assert ((res.decision >= 0) == res.stopped).all()
    np.testing.assert_array_equal(res.chose_worse, res.stopped & (res.decision == 0))
    np.testing.assert_allclose(
        res.loss[res.stopped], np.where(res.decision[res.stopped] == 0, 0.03, 0.0)
    )
    # every stopped experiment satisfied the rule at its stop
    a = 1.0 + res.successes
    b = 1.0 + res.stop_samples[:, None] - res.successes
    loss = expected_loss((a[:, 0], b[:, 0]), (a[:, 1], b[:, 1]))
    assert (loss.min(axis=1)[res.stopped] < 0.002).all()
    same = sequential_ab_test(
        0.03,
        0.06,
        rule="expected_loss",
        threshold=0.002,
        check_every=100,
        max_samples=3000,
        n_experiments=300,
        rng=0,
    )
    np.testing.assert_array_equal(res.stop_samples, same.stop_samples)


def test_expected_loss_rule_keeps_its_promise_under_peeking():
    # Rates drawn from the prior the rule uses. At the stop the posterior expected loss of
    # the choice is below the threshold, and (optional stopping does not change a posterior)
    # the realised loss averages to the posterior expected loss: so its mean over stopped
    # experiments is below the threshold however often we peek.
    n_exp, prior, threshold = 3000, (2.0, 38.0), 0.002
    rng = np.random.default_rng(21)
    rate_a, rate_b = rng.beta(*prior, n_exp), rng.beta(*prior, n_exp)
    res = sequential_ab_test(
        rate_a,
        rate_b,
        rule="expected_loss",
        threshold=threshold,
        check_every=50,
        max_samples=5000,
        n_experiments=n_exp,
        prior=prior,
        rng=22,
    )
    stopped = res.stopped
    assert stopped.mean() > 0.9
    realised = res.loss[stopped]
    se = realised.std(ddof=1) / np.sqrt(realised.size)
    assert realised.mean() < threshold + 4 * se
    a = prior[0] + res.successes
    b = prior[1] + res.stop_samples[:, None] - res.successes
    promised = expected_loss((a[:, 0], b[:, 0]), (a[:, 1], b[:, 1])).min(axis=1)[stopped]
    assert abs(realised.mean() - promised.mean()) < 4 * se
    assert res.chose_worse.mean() > 0  # not trivially perfect: small gaps are shipped wrong


def test_prob_best_rule_is_not_immune_to_peeking_under_the_null():
    res = sequential_ab_test(
        0.05,
        0.05,
        rule="prob_best",
        threshold=0.99,
        check_every=500,
        max_samples=10_000,
        n_experiments=1500,
        rng=6,
    )
    # one look at level 0.99 declares a winner 2% of the time; twenty looks, far more
    se = np.sqrt(0.02 * 0.98 / 1500)
    assert res.stop_rate > 0.02 + 4 * se


# ------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    "call, error, words",
    [
        (
            lambda: prob_b_beats_a((1, 1), 3),
            TypeError,
            "must be a BetaPosterior or an (alpha, beta)",
        ),
        (lambda: prob_b_beats_a((1, -1), (1, 1)), ValueError, "a beta == -1.0, must be a finite"),
        (lambda: prob_b_beats_a((1, 1), (np.nan, 1)), ValueError, "b alpha == nan"),
        (lambda: prob_b_beats_a(("x", 1), (1, 1)), TypeError, "a alpha == 'x'"),
        (lambda: expected_loss((1, 1)), ValueError, "must be at least 2"),
        (lambda: expected_loss(([1, 2], 1), ([1, 2, 3], 1)), ValueError, "must broadcast"),
        (lambda: prob_b_beats_a(([1, 2], 1), ([1, 2, 3], 1)), ValueError, "must broadcast"),
        (lambda: prob_being_best((1, 1), (1, 1), method="exact"), ValueError, "method == 'exact'"),
        (
            lambda: prob_being_best((1, 1), (1, 1), method="monte_carlo", n_samples=0),
            ValueError,
            "n_samples == 0",
        ),
        (lambda: lift_interval((1, 1), (1, 1), level=1.0), ValueError, "level == 1.0"),
        (lambda: lift_interval((1, 1), (1, 1), kind="ratio"), ValueError, "kind == 'ratio'"),
        (lambda: lift_interval(([1, 2], 1), (1, 1)), ValueError, "one variant each"),
        (
            lambda: stop_on_expected_loss((1, 1), (1, 1), threshold=0),
            ValueError,
            "threshold == 0.0",
        ),
        (lambda: stop_on_prob_best((1, 1), (1, 1), level=1.5), ValueError, "level == 1.5"),
        (lambda: two_proportion_ztest(5, 0, 1, 10), ValueError, "trials_a == 0.0, must be >= 1"),
        (lambda: two_proportion_ztest(11, 10, 1, 10), ValueError, "successes_a exceeds trials_a"),
        (lambda: two_proportion_ztest(1.5, 10, 1, 10), ValueError, "successes_a == 1.5"),
        (lambda: two_proportion_ztest("3", 10, 1, 10), TypeError, "successes_a"),
        (lambda: ztest_sample_size(0.05, 0.05), ValueError, "must differ"),
        (lambda: ztest_sample_size(0.0, 0.05), ValueError, "rate_a == 0.0"),
        (lambda: ztest_sample_size(0.05, 0.06, power=0.3), ValueError, "power == 0.3"),
        (lambda: ztest_sample_size(0.05, 0.06, alpha=0), ValueError, "alpha == 0.0"),
        (lambda: ztest_power(0.05, 0.06, 0), ValueError, "n == 0"),
        (lambda: ztest_power(0.05, 0.06, 10.5), TypeError, "n == 10.5"),
        (
            lambda: sequential_ab_test(0.05, 0.06, rule="bayes", threshold=0.1),
            ValueError,
            "rule == 'bayes'",
        ),
        (
            lambda: sequential_ab_test(0.05, 0.06, rule="ztest", threshold=None),
            TypeError,
            "threshold == None",
        ),
        (
            lambda: sequential_ab_test(0.05, 0.06, rule="expected_loss", threshold=-1),
            ValueError,
            "threshold == -1.0",
        ),
        (
            lambda: sequential_ab_test(0.05, 0.06, rule=lambda s, n: None, threshold=0.1),
            ValueError,
            "must be None when rule is a function",
        ),
        (
            lambda: sequential_ab_test(
                0.05, 0.06, rule="ztest", threshold=0.05, check_every=300, max_samples=1000
            ),
            ValueError,
            "multiple of check_every",
        ),
        (
            lambda: sequential_ab_test(1.2, 0.06, rule="ztest", threshold=0.05),
            ValueError,
            "rate_a == 1.2",
        ),
        (
            lambda: sequential_ab_test(
                [0.1, 0.2], 0.06, rule="ztest", threshold=0.05, n_experiments=3
            ),
            ValueError,
            "rate_a has shape (2,)",
        ),
        (
            lambda: sequential_ab_test(0.05, 0.06, rule="ztest", threshold=0.05, n_experiments=0),
            ValueError,
            "n_experiments == 0",
        ),
        (
            lambda: sequential_ab_test(0.05, 0.06, rule="ztest", threshold=0.05, prior=1.0),
            TypeError,
            "prior == 1.0",
        ),
        (
            lambda: sequential_ab_test(0.05, 0.06, rule="ztest", threshold=0.05, prior=(1.0, 0.0)),
            ValueError,
            "prior beta0 == 0.0",
        ),
        (lambda: peeking_rejection_rates(0.05, 0.05, alpha=1.0), ValueError, "alpha == 1.0"),
    ],
)
def test_bad_input_is_rejected_with_a_sentence(call, error, words):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert words in message
    assert message.endswith(".")
