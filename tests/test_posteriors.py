"""Beta posteriors against their closed forms."""

import numpy as np
import pytest
from scipy import stats

from bandit_lab import BetaBernoulliTS, BetaPosterior


def test_sequential_updates_equal_batch_in_any_order():
    rng = np.random.default_rng(3)
    rewards = rng.random(200) < 0.3
    rewards = rewards.astype(float)
    rewards[::7] = rng.random(rewards[::7].size)  # fractional rewards too
    batch = BetaPosterior.from_counts(rewards.sum(), (1 - rewards).sum(), alpha0=2.0, beta0=0.5)
    for _ in range(5):
        post = BetaPosterior(2.0, 0.5)
        for r in rng.permutation(rewards):
            post = post.update([r])
        np.testing.assert_allclose(post.alpha, batch.alpha, rtol=1e-12)
        np.testing.assert_allclose(post.beta, batch.beta, rtol=1e-12)


def test_policy_updates_equal_closed_form_per_arm_in_any_order():
    rng = np.random.default_rng(0)
    arms = rng.integers(0, 4, size=300)
    rewards = rng.random(300)
    binary = rng.random(300) < 0.5
    rewards[binary] = np.round(rewards[binary])
    expect_a = 1.5 + np.bincount(arms, weights=rewards, minlength=4)
    expect_b = 3.0 + np.bincount(arms, weights=1 - rewards, minlength=4)
    for order in (np.arange(300), rng.permutation(300), rng.permutation(300)):
        ts = BetaBernoulliTS(4, alpha0=1.5, beta0=3.0, rng=1)
        for i in order:
            ts.update(int(arms[i]), float(rewards[i]))
        np.testing.assert_allclose(ts.alpha_, expect_a, rtol=1e-12)
        np.testing.assert_allclose(ts.beta_, expect_b, rtol=1e-12)
    batch = BetaBernoulliTS(4, alpha0=1.5, beta0=3.0).update_many(arms, rewards)
    np.testing.assert_allclose(batch.alpha_, expect_a, rtol=1e-12)
    np.testing.assert_allclose(batch.beta_, expect_b, rtol=1e-12)


def test_fractional_reward_is_a_fraction_of_a_success():
    ts = BetaBernoulliTS(2).update(0, 0.1)
    assert ts.alpha_[0] == pytest.approx(1.1)
    assert ts.beta_[0] == pytest.approx(1.9)
    assert ts.posterior().mean[0] == pytest.approx(1.1 / 3.0)


def test_moments_interval_and_pdf_match_scipy():
    post = BetaPosterior([5.0, 1.0, 2.5], [1.0, 5.0, 7.0])
    dist = stats.beta(post.alpha, post.beta)
    np.testing.assert_allclose(post.mean, dist.mean())
    np.testing.assert_allclose(post.var, dist.var())
    np.testing.assert_allclose(post.skewness, dist.stats(moments="s"))
    lo, hi = post.interval(0.9)
    np.testing.assert_allclose(lo, dist.ppf(0.05))
    np.testing.assert_allclose(hi, dist.ppf(0.95))
    x = np.linspace(0.01, 0.99, 7)
    np.testing.assert_allclose(post.pdf(x), stats.beta.pdf(x[:, None], post.alpha, post.beta))


def test_beta_5_1_is_skewed_left():
    # The source article's table calls Beta(5, 1) "skewed right": its tail points left.
    post = BetaPosterior(5.0, 1.0)
    assert post.skewness < 0
    assert post.mean > 0.5 and np.median(post.sample(20_000, rng=0)) > post.mean


def test_samples_have_the_posterior_mean():
    post = BetaPosterior([2.0, 30.0], [8.0, 10.0])
    draws = post.sample(40_000, rng=5)
    se = np.sqrt(post.var / 40_000)
    assert np.all(np.abs(draws.mean(axis=0) - post.mean) < 5 * se)


def test_prob_best_matches_exact_two_arm_value():
    a = BetaPosterior([3.0, 5.0], [7.0, 6.0])
    # exact P(X2 > X1) by numerical integration
    x = np.linspace(0, 1, 20001)
    pdf1 = stats.beta.pdf(x, 3, 7)
    cdf2 = stats.beta.cdf(x, 5, 6)
    p1_best = np.trapezoid(pdf1 * cdf2, x)
    est = a.prob_best(200_000, rng=1)
    assert abs(est[0] - p1_best) < 5 * np.sqrt(p1_best * (1 - p1_best) / 200_000)


@pytest.mark.parametrize("alpha, beta", [(0.0, 1.0), (-1.0, 1.0), (1.0, np.nan), (np.inf, 1.0)])
def test_bad_parameters_are_refused_with_the_value(alpha, beta):
    with pytest.raises(ValueError, match="must be a finite number > 0"):
        BetaPosterior(alpha, beta)


def test_bad_rewards_and_levels_are_refused():
    post = BetaPosterior(1.0, 1.0)
    with pytest.raises(ValueError, match=r"rewards contains 1\.5"):
        post.update([0.0, 1.5])
    with pytest.raises(ValueError, match=r"level == 1\.0, must be in \(0, 1\)"):
        post.interval(1.0)
    with pytest.raises(ValueError, match="alpha0 == -2.0"):
        BetaPosterior.from_counts(1, 1, alpha0=-2.0)


def test_mode_and_median_at_the_edges():
    post = BetaPosterior([5.0, 1.0, 3.0, 1.0, 0.5], [1.0, 5.0, 3.0, 1.0, 0.5])
    np.testing.assert_array_equal(post.mode[:3], [1.0, 0.0, 0.5])
    assert np.isnan(post.mode[3]) and np.isnan(post.mode[4])
    np.testing.assert_allclose(post.median, stats.beta.median(post.alpha, post.beta))
    with pytest.raises(ValueError, match=r"failures contains -1.0"):
        BetaPosterior.from_counts(1, -1)


def test_prob_best_answers_each_run_separately():
    post = BetaPosterior([[50.0, 1.0], [1.0, 50.0]], [[1.0, 50.0], [50.0, 1.0]])
    p = post.prob_best(2000, rng=0)
    assert p.shape == (2, 2)
    np.testing.assert_allclose(p, [[1.0, 0.0], [0.0, 1.0]])
