"""LinearTS, LinUCB, LogisticTS: exact beliefs, cheap decisions, the source's drift caught."""

import json
import re

import numpy as np
import pytest
from scipy import stats
from scipy.optimize import brentq
from scipy.special import expit

from bandit_lab import ContextualPolicy, GaussianLinearPosterior, LinearTS, LinUCB, LogisticTS
from bandit_lab.contextual import (
    gaussian_linear_update,
    laplace_logistic_update,
    linear_ts_scores,
    score_moments,
)


def _stream(n, d, n_arms, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[:, -1] = 1.0
    arms = rng.integers(n_arms, size=n)
    rewards = (rng.random(n) < 0.2).astype(float)
    return X, arms, rewards


def _batch_posteriors(X, arms, rewards, n_arms, prior_var, noise_var):
    return [
        GaussianLinearPosterior.from_data(
            X[arms == k], rewards[arms == k], prior_var=prior_var, noise_var=noise_var
        )
        for k in range(n_arms)
    ]


# -- exactness ------------------------------------------------------------------------------
def test_linear_ts_state_equals_the_closed_form_batch_posterior_after_any_updates():
    X, arms, rewards = _stream(1500, 6, 3)
    bandit = LinearTS(3, 6, prior_var=2.0, noise_var=0.05)
    for x, a, r in zip(X, arms, rewards):
        bandit.update(x, int(a), float(r))
    for k, post in enumerate(_batch_posteriors(X, arms, rewards, 3, 2.0, 0.05)):
        scale_m, scale_c = np.abs(post.mean).max(), np.abs(post.cov).max()
        assert np.abs(bandit.mean_[k] - post.mean).max() / scale_m < 1e-10
        assert np.abs(bandit.cov_[k] - post.cov).max() / scale_c < 1e-10
        assert bandit.n_obs_[k] == post.n_obs
    np.testing.assert_array_equal(bandit.cov_, np.swapaxes(bandit.cov_, 1, 2))  # exactly symmetric


def test_order_does_not_matter():
    X, arms, rewards = _stream(400, 4, 2, seed=3)
    one, two = LinearTS(2, 4), LinearTS(2, 4)
    for x, a, r in zip(X, arms, rewards):
        one.update(x, int(a), float(r))
    for i in np.random.default_rng(7).permutation(len(X)):
        two.update(X[i], int(arms[i]), float(rewards[i]))
    np.testing.assert_allclose(one.mean_, two.mean_, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(one.cov_, two.cov_, rtol=1e-10, atol=1e-15)


def test_update_many_equals_one_at_a_time():
    X, arms, rewards = _stream(200, 4, 3, seed=5)
    one = LinearTS(3, 4, prior_var=0.5, noise_var=0.2)
    for x, a, r in zip(X, arms, rewards):
        one.update(x, int(a), float(r))
    many = LinearTS(3, 4, prior_var=0.5, noise_var=0.2).update_many(X, arms, rewards)
    np.testing.assert_allclose(many.mean_, one.mean_, rtol=1e-12)
    np.testing.assert_array_equal(many.n_obs_, one.n_obs_)


def _source_update(mu, precision, x, r, noise_var):
    """The source article's update (Part 7), as written: the new precision multiplies the
    old mean and the residual is dropped."""
    precision = precision + np.outer(x, x) / noise_var
    mu = np.linalg.inv(precision) @ (precision @ mu + r * x / noise_var)
    return mu, precision


def test_the_source_update_drifts_where_ours_is_exact():
    # 200 rewards of 1 at x = [1], prior N(0, 1), noise variance 1: the exact posterior
    # mean is 200 / 201; the source's update adds 1 / (1 + n) at every step instead.
    x = np.array([1.0])
    mu, precision = np.zeros(1), np.eye(1)
    ours = LinearTS(1, 1, prior_var=1.0, noise_var=1.0)
    for _ in range(200):
        mu, precision = _source_update(mu, precision, x, 1.0, 1.0)
        ours.update(x, 0, 1.0)
    assert ours.mean_[0, 0] == pytest.approx(200 / 201, rel=1e-12)
    assert mu[0] == pytest.approx(sum(1 / (1 + n) for n in range(1, 201)), rel=1e-9)
    assert round(float(mu[0]), 2) == 4.88 and abs(mu[0] - 200 / 201) > 3.5
    # ... and it keeps growing, like log(n), while the truth stays below 1.
    for _ in range(800):
        mu, precision = _source_update(mu, precision, x, 1.0, 1.0)
    assert mu[0] > 6.0


def test_the_source_update_fails_the_exactness_check_we_hold_ourselves_to():
    X, _arms, rewards = _stream(100, 3, 1, seed=2)
    mu, precision = np.zeros(3), np.eye(3) / 2.0
    for x, r in zip(X, rewards):
        mu, precision = _source_update(mu, precision, x, r, 0.05)
    exact = GaussianLinearPosterior.from_data(X, rewards, prior_var=2.0, noise_var=0.05)
    assert np.abs(mu - exact.mean).max() > 100 * np.abs(exact.mean).max() * 1e-3


# -- decisions -------------------------------------------------------------------------------
def test_decisions_need_no_matrix_factorisation(monkeypatch):
    bandit = LinearTS(5, 11, rng=0)
    x = np.linspace(-1, 1, 11)

    def forbidden(*args, **kwargs):
        raise AssertionError("a matrix factorisation was called")

    for name in ("inv", "cholesky", "svd", "eigh", "solve", "eig"):
        monkeypatch.setattr(np.linalg, name, forbidden)
    draws = []
    real_normal = bandit._rng.standard_normal
    bandit._rng = type(
        "Spy",
        (),
        {
            "standard_normal": lambda self, size: draws.append(size) or real_normal(size),
            "multivariate_normal": forbidden,
            "random": bandit._rng.random,
        },
    )()
    for _ in range(20):
        bandit.update(x, bandit.select(x), 1.0)
    assert draws == [(5,)] * 20  # one normal number per arm per decision


def test_thompson_choice_probability_matches_the_normal_scores():
    # Arm 0's score ~ N(0.1, 0.01) and arm 1's ~ N(0, 0.04): P(arm 0) = Phi(0.1 / sqrt(0.05)).
    bandit = LinearTS(2, 1, rng=1)
    bandit.mean_[:] = [[0.1], [0.0]]
    bandit.cov_[:] = [[[0.01]], [[0.04]]]
    n = 4000
    share = np.mean([bandit.select([1.0]) == 0 for _ in range(n)])
    p = stats.norm.cdf(0.1 / np.sqrt(0.05))
    assert abs(share - p) < 4 * np.sqrt(p * (1 - p) / n)
    probs = bandit.choice_probabilities([1.0], n_draws=20_000, rng=2)
    assert abs(probs[0] - p) < 4 * np.sqrt(p * (1 - p) / 20_000)


def test_the_same_functions_serve_many_runs_and_one():
    X, arms, rewards = _stream(60, 4, 3, seed=4)
    cfg = LinearTS(3, 4, prior_var=1.5, noise_var=0.3)
    stacked = cfg.initial_state((2,))
    singles = [cfg.initial_state(()) for _ in range(2)]
    for t in range(30):
        xs = X[2 * t : 2 * t + 2]
        a = arms[2 * t : 2 * t + 2]
        r = rewards[2 * t : 2 * t + 2]
        gaussian_linear_update(stacked["mean_"], stacked["cov_"], xs, a, r, 0.3)
        for i in range(2):
            gaussian_linear_update(singles[i]["mean_"], singles[i]["cov_"], xs[i], a[i], r[i], 0.3)
    m, v = score_moments(stacked["mean_"], stacked["cov_"], X[:2])
    for i in range(2):
        np.testing.assert_allclose(stacked["mean_"][i], singles[i]["mean_"], rtol=1e-12, atol=1e-15)
        m1, v1 = score_moments(singles[i]["mean_"], singles[i]["cov_"], X[i])
        np.testing.assert_allclose(m[i], m1, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(v[i], v1, rtol=1e-12)
    assert linear_ts_scores(
        stacked["mean_"], stacked["cov_"], X[:2], np.random.default_rng(0)
    ).shape == (2, 3)


def test_expected_reward_and_interval_come_from_the_posterior():
    X, arms, rewards = _stream(300, 4, 2, seed=8)
    bandit = LinearTS(2, 4, prior_var=1.0, noise_var=0.1).update_many(X, arms, rewards)
    x = X[0]
    lo, hi = bandit.reward_interval(x, 0.9)
    for k in range(2):
        post = bandit.posterior(k)
        assert bandit.expected_reward(x)[k] == pytest.approx(post.predict_mean(x), rel=1e-12)
        plo, phi = post.interval(x, 0.9)
        assert (lo[k], hi[k]) == (pytest.approx(plo, rel=1e-12), pytest.approx(phi, rel=1e-12))


def test_linear_ts_learns_which_arm_suits_which_context():
    rng = np.random.default_rng(11)
    bandit = LinearTS(2, 2, prior_var=1.0, noise_var=0.1, rng=12)
    truth = np.array([[0.3, 0.0], [0.0, 0.3]])  # arm k pays 0.3 when feature k is on
    for _ in range(1500):
        x = np.eye(2)[rng.integers(2)]
        arm = bandit.select(x)
        bandit.update(x, arm, float(rng.random() < truth[arm] @ x))
    assert bandit.choice_probabilities([1.0, 0.0], rng=0)[0] > 0.9
    assert bandit.choice_probabilities([0.0, 1.0], rng=0)[1] > 0.9


# -- LinUCB ------------------------------------------------------------------------------------
def test_linucb_is_ridge_regression_plus_a_bonus():
    X, arms, rewards = _stream(200, 3, 2, seed=9)
    ucb = LinUCB(2, 3, alpha=0.7, ridge=2.0).update_many(X, arms, rewards)
    for k in range(2):
        Xk, rk = X[arms == k], rewards[arms == k]
        A = 2.0 * np.eye(3) + Xk.T @ Xk
        theta = np.linalg.solve(A, Xk.T @ rk)
        np.testing.assert_allclose(ucb.mean_[k], theta, rtol=1e-10)
        np.testing.assert_allclose(ucb.cov_[k], np.linalg.inv(A), rtol=1e-10)
    x = X[0]
    want = [x @ ucb.mean_[k] + 0.7 * np.sqrt(x @ ucb.cov_[k] @ x) for k in range(2)]
    np.testing.assert_allclose(ucb.scores(ucb._state(), x, None), want, rtol=1e-12)
    assert ucb.select(x) == int(np.argmax(want))


# -- LogisticTS ----------------------------------------------------------------------------------
def test_logistic_one_step_update_is_the_exact_laplace_approximation():
    rng = np.random.default_rng(0)
    for _ in range(200):
        d = 3
        A = rng.normal(size=(d, d)) * rng.uniform(0.1, 5)
        S = A @ A.T + 0.01 * np.eye(d)  # priors from very narrow to very wide
        m = rng.normal(size=d) * 3
        x = rng.normal(size=d)
        r = float(rng.integers(2))
        mean, cov = m[None].copy(), S[None].copy()
        laplace_logistic_update(mean, cov, x, np.asarray(0), np.asarray(r))
        s, mu = x @ S @ x, x @ m
        t = brentq(lambda t, r=r, mu=mu, s=s: t - r + expit(mu + s * t), r - 1, r, xtol=1e-15)
        mode = m + S @ x * t
        p = expit(mode @ x)
        cov_exact = np.linalg.inv(np.linalg.inv(S) + p * (1 - p) * np.outer(x, x))
        np.testing.assert_allclose(mean[0], mode, rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(
            cov[0], cov_exact, rtol=1e-6, atol=1e-9 * np.abs(cov_exact).max()
        )


def test_logistic_batch_of_one_equals_the_online_update():
    x, r = np.array([0.5, -1.0, 1.0]), 1.0
    online = LogisticTS(2, 3, prior_var=2.0).update(x, 1, r)
    batch = LogisticTS(2, 3, prior_var=2.0).update_many([x], [1], [r])
    np.testing.assert_allclose(batch.mean_, online.mean_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(batch.cov_, online.cov_, rtol=1e-9, atol=1e-12)


def test_logistic_ts_recovers_known_weights():
    rng = np.random.default_rng(1)
    w = np.array([-2.0, 1.0, -0.5])
    X = np.column_stack([np.ones(3000), rng.normal(size=(3000, 2))])
    r = (rng.random(3000) < expit(X @ w)).astype(float)
    online = LogisticTS(1, 3, prior_var=4.0)
    for x, y in zip(X, r):
        online.update(x, 0, y)
    batch = LogisticTS(1, 3, prior_var=4.0).update_many(X, np.zeros(3000, int), r)
    for fitted in (online, batch):
        sd = np.sqrt(np.diag(fitted.cov_[0]))
        assert np.all(np.abs(fitted.mean_[0] - w) < 4 * sd)
    p = online.expected_reward(np.array([1.0, 0.0, 0.0]))[0]
    assert abs(p - expit(-2.0)) < 0.03


# -- state as JSON -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda: LinearTS(3, 4, prior_var=2.0, noise_var=0.05, rng=0),
        lambda: LinUCB(3, 4, alpha=0.3, ridge=2.0, rng=0),
        lambda: LogisticTS(3, 4, prior_var=1.5, rng=0),
    ],
)
def test_state_survives_a_json_round_trip_exactly(make):
    X, arms, rewards = _stream(80, 4, 3, seed=6)
    policy = make().update_many(X, arms, rewards)
    text = json.dumps(policy.get_state())
    again = ContextualPolicy.from_state(text)
    assert type(again) is type(policy) and again.get_params() == policy.get_params()
    for name in ("mean_", "cov_", "n_obs_"):
        np.testing.assert_array_equal(getattr(again, name), getattr(policy, name))
    assert policy.reset().n_obs_.sum() == 0 and np.all(policy.mean_ == 0)


def test_from_state_refuses_broken_states():
    good = LinearTS(2, 3).get_state()
    wrong_shape = json.loads(json.dumps(good))
    wrong_shape["state"]["mean_"] = [[0.0, 0.0]] * 2
    with pytest.raises(
        ValueError, match=re.escape("state['state']['mean_'] has shape (2, 2), must be (2, 3).")
    ):
        ContextualPolicy.from_state(wrong_shape)
    not_pd = json.loads(json.dumps(good))
    not_pd["state"]["cov_"][1] = [[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    with pytest.raises(
        ValueError, match=re.escape("state['state']['cov_'][1] must be a symmetric positive")
    ):
        ContextualPolicy.from_state(not_pd)
    unknown = dict(good, policy="Nope")
    with pytest.raises(ValueError, match="state\\['policy'\\] == 'Nope'"):
        ContextualPolicy.from_state(unknown)
    with pytest.raises(ValueError, match="must be a dict made by ContextualPolicy.get_state"):
        ContextualPolicy.from_state({"policy": "LinearTS"})


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "x, error, message",
    [
        (
            np.ones(3),
            ValueError,
            "x has shape (3,), must be 1-D of length 4 (one value per feature).",
        ),
        (
            np.ones((1, 4)),
            ValueError,
            "x has shape (1, 4), must be 1-D of length 4 (one value per feature).",
        ),
        ([1.0, np.nan, 0.0, 1.0], ValueError, "x[1] == nan, must be a finite number."),
        ([1.0, 2.0, np.inf, 1.0], ValueError, "x[2] == inf, must be a finite number."),
        ("abcd", TypeError, "x == 'abcd' is of type str, must be a 1-D array of 4 real numbers."),
        ([1.0, "a", 0.0, 1.0], TypeError, "is not numeric, must be a 1-D array of 4 real numbers."),
    ],
)
def test_bad_contexts_are_refused(x, error, message):
    bandit = LinearTS(3, 4)
    with pytest.raises(error, match=re.escape(message)):
        bandit.select(x)
    with pytest.raises(error, match=re.escape(message)):
        bandit.update(x, 0, 1.0)


@pytest.mark.parametrize(
    "arm, error, message",
    [
        (3, ValueError, "arm == 3, must be an arm index in [0, 2] (this bandit has 3 arms)."),
        (-1, ValueError, "arm == -1, must be an arm index in [0, 2]"),
        (1.0, TypeError, "arm == 1.0 is of type float, must be an integer arm index in [0, 2]."),
    ],
)
def test_unknown_arms_are_refused(arm, error, message):
    with pytest.raises(error, match=re.escape(message)):
        LinearTS(3, 2).update([1.0, 0.0], arm, 1.0)


def test_bad_rewards_and_settings_are_refused():
    with pytest.raises(ValueError, match=re.escape("reward == nan, must be a finite number.")):
        LinearTS(2, 2).update([1.0, 0.0], 0, float("nan"))
    with pytest.raises(ValueError, match=re.escape("reward == 2.0, must be a number in [0, 1]")):
        LogisticTS(2, 2).update([1.0, 0.0], 0, 2.0)
    with pytest.raises(
        TypeError, match=re.escape("reward == 'yes' is of type str, must be a real number.")
    ):
        LinearTS(2, 2).update([1.0, 0.0], 0, "yes")
    for cls, kwargs, message in [
        (LinearTS, dict(prior_var=0.0), "prior_var == 0.0, must be a finite number > 0."),
        (LinearTS, dict(noise_var=-0.1), "noise_var == -0.1, must be a finite number > 0."),
        (LogisticTS, dict(prior_var=-1), "prior_var == -1.0, must be a finite number > 0."),
        (LinUCB, dict(alpha=0.0), "alpha == 0.0, must be a finite number > 0."),
        (LinUCB, dict(ridge=float("inf")), "ridge == inf, must be a finite number > 0."),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            cls(2, 2, **kwargs)
    with pytest.raises(ValueError, match=re.escape("n_features == 0, must be >= 1.")):
        LinearTS(2, 0)
    with pytest.raises(ValueError, match="X, arms and rewards have shapes"):
        LinearTS(2, 2).update_many(np.ones((3, 2)), [0, 1], [1.0, 0.0, 1.0])
