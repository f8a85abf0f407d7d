"""The facts notebooks 01 and 02 teach, checked against the package.

If a change to bandit_lab made one of these false, the notebooks' prose would be wrong.
"""

import numpy as np
import pytest
from scipy import stats as st

from bandit_lab import (
    SOURCE_RATES,
    BernoulliBandit,
    BetaBernoulliTS,
    BetaPosterior,
    EpsilonGreedy,
    cumulative_regret,
    simulate,
)
from bandit_lab.explore_exploit import explore_then_commit

ENV = BernoulliBandit(SOURCE_RATES)


# -- notebook 01 ---------------------------------------------------------------------------
def test_greedy_locks_onto_one_offer_often_a_wrong_one():
    n_runs = 400
    hist = simulate(EpsilonGreedy(5, epsilon=0.0), ENV, n_steps=3_000, n_runs=n_runs, rng=7)
    tail = hist.arms[:, -500:]
    locked = (tail == tail[:, [0]]).all(axis=1)
    assert locked.mean() >= 0.99  # every run has settled on a single offer
    wrong = float((tail[:, -1] != ENV.best_arm).mean())
    se = np.sqrt(wrong * (1 - wrong) / n_runs)
    assert wrong - 4 * se > 0.4  # "settles on a wrong offer in a large share of runs"


def test_greedy_regret_spans_from_nothing_to_worse_than_random():
    hist = simulate(EpsilonGreedy(5, epsilon=0.0), ENV, n_steps=3_000, n_runs=400, rng=8)
    regret = cumulative_regret(hist)[:, -1]
    rates = np.array(SOURCE_RATES)
    random_regret = (rates.max() - rates.mean()) * 3_000
    assert np.percentile(regret, 10) < 0.05 * random_regret
    assert np.percentile(regret, 90) > random_regret


def test_ab_test_trades_test_cost_against_wrong_winners():
    n_runs = 400
    wrong, mean_regret = {}, {}
    for n_test in (250, 5_000):
        hist = explore_then_commit(ENV, n_test=n_test, n_steps=10_000, n_runs=n_runs, rng=3)
        wrong[n_test] = float((hist.arms[:, n_test] != ENV.best_arm).mean())
        mean_regret[n_test] = cumulative_regret(hist)[:, -1].mean()
    se = np.sqrt(sum(w * (1 - w) for w in wrong.values()) / n_runs)
    assert wrong[250] - wrong[5_000] > 4 * se
    rates = np.array(SOURCE_RATES)
    assert mean_regret[5_000] > (rates.max() - rates.mean()) * 5_000  # at least the test's cost


@pytest.mark.slow  # tens of seconds: left out of the fast lane
def test_thompson_sampling_beats_every_fixed_test_size_of_notebook_01():
    n_runs, horizon = 400, 10_000
    ts = cumulative_regret(
        simulate(BetaBernoulliTS(5), ENV, n_steps=horizon, n_runs=n_runs, rng=7)
    )[:, -1]
    for n_test in (250, 500, 1_000, 2_000, 5_000):
        ab = cumulative_regret(
            explore_then_commit(ENV, n_test=n_test, n_steps=horizon, n_runs=n_runs, rng=7)
        )[:, -1]
        se = np.sqrt(ab.var(ddof=1) / n_runs + ts.var(ddof=1) / n_runs)
        assert ab.mean() - ts.mean() > 4 * se, n_test


# -- notebook 02 ---------------------------------------------------------------------------
def test_beta_5_1_is_skewed_left_and_beta_1_5_right():
    left, right = BetaPosterior(5.0, 1.0), BetaPosterior(1.0, 5.0)
    assert float(left.skewness) < 0 < float(right.skewness)
    assert float(left.skewness) == pytest.approx(-float(right.skewness))
    # a long left tail drags the mean below the median; the density peaks at p = 1
    assert float(left.mean) < st.beta.median(5, 1) < 1.0
    x = np.linspace(0, 1, 101)
    assert x[np.argmax(left.pdf(x))] == 1.0
    # most of the mass is near 1: P(p > 0.5) = 1 - 0.5**5
    assert 1 - st.beta.cdf(0.5, 5, 1) == pytest.approx(1 - 0.5**5)


def test_skewness_property_agrees_with_samples():
    post = BetaPosterior(5.0, 1.0)
    draws = post.sample(200_000, rng=4)
    z = (draws - draws.mean()) / draws.std()
    se = np.sqrt(np.var(z**3) / draws.size)
    assert abs(np.mean(z**3) - float(post.skewness)) < 4 * se


def test_one_at_a_time_in_any_order_equals_batch():
    rng = np.random.default_rng(0)
    rewards = (rng.random(500) < 0.045).astype(float)
    batch = BetaPosterior.from_counts(rewards.sum(), (1 - rewards).sum())
    for _ in range(3):
        post = BetaPosterior(1.0, 1.0)
        for r in rng.permutation(rewards):
            post = post.update([r])
        assert float(post.alpha) == float(batch.alpha)
        assert float(post.beta) == float(batch.beta)


def test_fractional_rewards_count_as_fractions_in_any_order():
    rng = np.random.default_rng(1)
    rewards = rng.random(300)
    batch = BetaPosterior(2.0, 5.0).update(rewards)
    post = BetaPosterior(2.0, 5.0)
    for r in rng.permutation(rewards):
        post = post.update([r])
    assert float(post.alpha) == pytest.approx(2.0 + rewards.sum(), rel=1e-12)
    assert float(post.beta) == pytest.approx(5.0 + (1 - rewards).sum(), rel=1e-12)
    assert float(post.alpha) == pytest.approx(float(batch.alpha), rel=1e-12)
    assert BetaPosterior(1.0, 1.0).update([0.3]).alpha == pytest.approx(1.3)
    clicks = BetaPosterior(1.0, 1.0).update(np.full(100, 0.1))
    assert float(clicks.mean) == pytest.approx(11 / 102)


def test_credible_interval_matches_sample_quantiles():
    post = BetaPosterior(24.0, 478.0)
    lo, hi = post.interval(0.95)
    draws = post.sample(200_000, rng=5)
    inside = float(np.mean((draws >= lo) & (draws <= hi)))
    assert abs(inside - 0.95) < 4 * np.sqrt(0.95 * 0.05 / draws.size)


def test_credible_intervals_are_calibrated_when_rates_come_from_the_prior():
    rng = np.random.default_rng(11)
    n_exp, n = 20_000, 200
    p = rng.beta(3.0, 97.0, size=n_exp)
    k = rng.binomial(n, p)
    lo, hi = BetaPosterior.from_counts(k, n - k, alpha0=3.0, beta0=97.0).interval(0.95)
    covered = float(np.mean((lo <= p) & (p <= hi)))
    assert abs(covered - 0.95) < 4 * np.sqrt(0.95 * 0.05 / n_exp)


def test_interval_width_shrinks_like_one_over_root_n():
    widths = []
    for n in (1_000, 10_000, 100_000):
        lo, hi = BetaPosterior.from_counts(0.045 * n, 0.955 * n).interval(0.95)
        widths.append(float(hi - lo))
    ratios = np.array(widths[:-1]) / np.array(widths[1:])
    assert np.allclose(ratios, np.sqrt(10), rtol=0.05)
