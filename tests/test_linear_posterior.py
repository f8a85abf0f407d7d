"""GaussianLinearPosterior: the closed form of Bayesian linear regression, as a value object."""

import re

import numpy as np
import pytest

from bandit_lab import GaussianLinearPosterior


def _data(n=40, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = rng.normal(size=d)
    r = X @ w + rng.normal(0, 0.5, size=n)
    return X, r


def test_from_data_matches_the_textbook_formula_written_with_plain_inverses():
    X, r = _data()
    pv, nv = 2.0, 0.25
    precision = np.eye(3) / pv + X.T @ X / nv
    cov = np.linalg.inv(precision)
    mean = cov @ X.T @ r / nv
    post = GaussianLinearPosterior.from_data(X, r, prior_var=pv, noise_var=nv)
    np.testing.assert_allclose(post.cov, cov, rtol=1e-10)
    np.testing.assert_allclose(post.mean, mean, rtol=1e-10)
    assert post.n_obs == 40 and post.noise_var == nv


def test_one_feature_has_the_scalar_formula():
    # r = w x + noise, prior w ~ N(0, pv): mean = sum(x r) / (nv / pv + sum(x^2))
    x = np.array([0.5, 1.0, 2.0])
    r = np.array([1.1, 1.9, 4.2])
    post = GaussianLinearPosterior.from_data(x[:, None], r, prior_var=4.0, noise_var=0.5)
    assert post.mean[0] == pytest.approx((x @ r) / (0.5 / 4.0 + x @ x), rel=1e-12)
    assert post.cov[0, 0] == pytest.approx(1.0 / (1 / 4.0 + x @ x / 0.5), rel=1e-12)


def test_no_data_is_the_prior():
    post = GaussianLinearPosterior.from_data(np.empty((0, 4)), [], prior_var=3.0)
    prior = GaussianLinearPosterior.prior(4, prior_var=3.0)
    np.testing.assert_allclose(post.cov, 3.0 * np.eye(4))
    np.testing.assert_array_equal(post.mean, prior.mean)


def test_updating_in_two_batches_equals_one_batch_in_any_order():
    X, r = _data(n=30)
    whole = GaussianLinearPosterior.from_data(X, r, prior_var=1.5, noise_var=0.3)
    first = GaussianLinearPosterior.from_data(X[:12], r[:12], prior_var=1.5, noise_var=0.3)
    both = first.update(X[12:], r[12:])
    perm = np.random.default_rng(1).permutation(30)
    shuffled = GaussianLinearPosterior.from_data(X[perm], r[perm], prior_var=1.5, noise_var=0.3)
    for other in (both, shuffled):
        np.testing.assert_allclose(other.mean, whole.mean, rtol=1e-10)
        np.testing.assert_allclose(other.cov, whole.cov, rtol=1e-10, atol=1e-15)
    assert both.n_obs == 30


def test_predictions_agree_with_samples_of_the_weights():
    X, r = _data(n=10)
    post = GaussianLinearPosterior.from_data(X, r, prior_var=1.0, noise_var=0.5)
    x = np.array([0.3, -1.0, 2.0])
    draws = post.sample(20_000, rng=0) @ x
    se = draws.std() / np.sqrt(draws.size)
    assert abs(draws.mean() - post.predict_mean(x)) < 4 * se
    assert draws.var() == pytest.approx(post.predict_var(x), rel=0.05)
    assert post.predict_var(x, observation=True) == pytest.approx(post.predict_var(x) + 0.5)


def test_interval_is_mean_plus_minus_z_sd_and_rows_work_at_once():
    post = GaussianLinearPosterior(np.array([1.0, 2.0]), np.diag([0.04, 0.09]), 1.0)
    lo, hi = post.interval(np.array([0.0, 1.0]), 0.95)
    assert (lo, hi) == (
        pytest.approx(2.0 - 1.959964 * 0.3, abs=1e-6),
        pytest.approx(2.0 + 1.959964 * 0.3, abs=1e-6),
    )
    rows = np.array([[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(post.predict_mean(rows), [1.0, 2.0])
    np.testing.assert_allclose(post.sd, [0.2, 0.3])


def test_to_dict_rebuilds_the_same_belief():
    X, r = _data()
    post = GaussianLinearPosterior.from_data(X, r)
    again = GaussianLinearPosterior(**post.to_dict())
    np.testing.assert_array_equal(again.mean, post.mean)
    np.testing.assert_array_equal(again.cov, post.cov)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(prior_var=0.0), ValueError, "prior_var == 0.0, must be a finite number > 0."),
        (dict(noise_var=-1.0), ValueError, "noise_var == -1.0, must be a finite number > 0."),
    ],
)
def test_non_positive_variances_are_refused(kwargs, error, message):
    X, r = _data()
    with pytest.raises(error, match=re.escape(message)):
        GaussianLinearPosterior.from_data(X, r, **kwargs)


def test_bad_data_is_refused_with_a_sentence():
    X, r = _data()
    with pytest.raises(ValueError, match=re.escape("X has shape (2, 40, 3), must be 2-D")):
        GaussianLinearPosterior.from_data(np.stack([X, X]), r)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=re.escape("X[3, 1] == nan, must be a finite number.")):
        GaussianLinearPosterior.from_data(bad, r)
    with pytest.raises(ValueError, match="must be 1-D with one reward per row of X"):
        GaussianLinearPosterior.from_data(X, r[:-1])
    post = GaussianLinearPosterior.from_data(X, r)
    with pytest.raises(ValueError, match="x has 2 columns, must have n_features == 3"):
        post.predict_mean([1.0, 2.0])
    with pytest.raises(ValueError, match="cov must be positive definite"):
        GaussianLinearPosterior(np.zeros(2), np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match=re.escape("mean has shape (1, 2), must be 1-D")):
        GaussianLinearPosterior(np.zeros((1, 2)), np.eye(2))
