"""NIGLinearTS: the Normal-Inverse-Gamma posterior checked against its closed form and a direct
computation, its Student-t draws and choice probabilities checked statistically."""

import itertools
import json

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import gammaln

from bandit_lab import ContextualPolicy, NIGLinearTS
from bandit_lab.contextual import nig_batch, student_t_max_propensities
from bandit_lab.propensities import monte_carlo_propensities


def _stream(n, d, n_arms, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[:, -1] = 1.0
    arms = rng.integers(n_arms, size=n)
    w = rng.normal(size=(n_arms, d)) * 0.3
    rewards = np.einsum("nd,nd->n", X, w[arms]) + rng.normal(size=n) * 0.4
    return X, arms, rewards


def _fed(policy, X, arms, rewards, order=None):
    for i in range(len(X)) if order is None else order:
        policy.update(X[i], int(arms[i]), float(rewards[i]))
    return policy


# -- the posterior: batch equals sequential, in any order -----------------------------------
@pytest.mark.parametrize("seed", [0, 1])
def test_one_at_a_time_in_any_order_equals_the_batch_closed_form(seed):
    X, arms, rewards = _stream(600, 5, 3, seed=seed)
    policy = NIGLinearTS(3, 5, prior_var=0.7, a0=2.0, b0=0.3)
    shuffled = np.random.default_rng(seed + 10).permutation(len(X))
    one = _fed(NIGLinearTS(3, 5, prior_var=0.7, a0=2.0, b0=0.3), X, arms, rewards)
    two = _fed(policy, X, arms, rewards, order=shuffled)
    for k in range(3):
        sel = arms == k
        m, V, a, b = nig_batch(np.zeros(5), 0.7 * np.eye(5), 2.0, 0.3, X[sel], rewards[sel])
        for bandit in (one, two):
            np.testing.assert_allclose(bandit.mean_[k], m, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(bandit.scale_[k], V, rtol=1e-9, atol=1e-14)
            assert bandit.a_[k] == a == 2.0 + sel.sum() / 2
            assert bandit.b_[k] == pytest.approx(b, rel=1e-10)
            assert bandit.n_obs_[k] == sel.sum()
    np.testing.assert_array_equal(one.scale_, np.swapaxes(one.scale_, 1, 2))  # exactly symmetric


def test_update_many_uses_the_closed_form_and_agrees():
    X, arms, rewards = _stream(300, 4, 2, seed=4)
    one = _fed(NIGLinearTS(2, 4), X, arms, rewards)
    many = NIGLinearTS(2, 4).update_many(X, arms, rewards)
    for name in ("mean_", "scale_", "a_", "b_"):
        np.testing.assert_allclose(getattr(many, name), getattr(one, name), rtol=1e-9, atol=1e-13)
    np.testing.assert_array_equal(many.n_obs_, one.n_obs_)


def test_batch_in_two_halves_equals_the_whole_batch():
    X, _, r = _stream(80, 3, 1, seed=6)
    prior = (
        np.array([0.1, -0.2, 0.3]),
        np.diag([0.5, 1.0, 2.0]),
        1.5,
        0.2,
    )  # a non-zero prior mean
    whole = nig_batch(*prior, X, r)
    half = nig_batch(*nig_batch(*prior, X[:30], r[:30]), X[30:], r[30:])
    for w, h in zip(whole, half):
        np.testing.assert_allclose(h, w, rtol=1e-10)


def test_vectorised_update_equals_the_one_run_update():
    # leading run axis: what the simulator does, run by run
    X, _, _ = _stream(40, 3, 2, seed=8)
    policy = NIGLinearTS(2, 3)
    runs = policy.initial_state((4,))
    singles = [policy.initial_state(()) for _ in range(4)]
    rng = np.random.default_rng(0)
    for _ in range(40):
        xs = X[rng.integers(40, size=4)]
        a = rng.integers(2, size=4)
        r = rng.normal(size=4)
        policy.update_state(runs, xs, a, r)
        for i, s in enumerate(singles):
            policy.update_state(s, xs[i], np.asarray(a[i]), np.asarray(r[i]))
    for i, s in enumerate(singles):
        for name in s:
            np.testing.assert_allclose(runs[name][i], s[name], rtol=1e-12, atol=1e-15)


# -- the posterior: a direct computation --------------------------------------------------
def _log_prior_times_likelihood(w, s2, X, r, prior_var, a0, b0):
    """log of p(sigma2) p(w | sigma2) p(r | w, sigma2), written from the model, not the algebra."""
    d, n = w.size, r.size
    log_ig = a0 * np.log(b0) - gammaln(a0) - (a0 + 1) * np.log(s2) - b0 / s2
    log_w = -0.5 * d * np.log(2 * np.pi * s2 * prior_var) - w @ w / (2 * s2 * prior_var)
    resid = r - X @ w
    log_r = -0.5 * n * np.log(2 * np.pi * s2) - resid @ resid / (2 * s2)
    return log_ig + log_w + log_r


def _log_nig(w, s2, m, V, a, b):
    log_ig = a * np.log(b) - gammaln(a) - (a + 1) * np.log(s2) - b / s2
    return log_ig + stats.multivariate_normal(m, s2 * V).logpdf(w)


def test_the_posterior_is_prior_times_likelihood_normalised():
    # Bayes' rule: log posterior - log(prior x likelihood) is the same constant (minus the
    # log evidence) at every (w, sigma2); and that constant is the closed-form evidence.
    X, _, r = _stream(25, 3, 1, seed=2)
    prior_var, a0, b0 = 0.8, 1.5, 0.2
    policy = NIGLinearTS(1, 3, prior_var=prior_var, a0=a0, b0=b0)
    for x, y in zip(X, r):
        policy.update(x, 0, y)
    m, V, a, b = policy.mean_[0], policy.scale_[0], policy.a_[0], policy.b_[0]
    rng = np.random.default_rng(3)
    gaps = [
        _log_prior_times_likelihood(w, s2, X, r, prior_var, a0, b0) - _log_nig(w, s2, m, V, a, b)
        for w, s2 in zip(rng.normal(size=(12, 3)), rng.uniform(0.05, 2.0, size=12))
    ]
    np.testing.assert_allclose(gaps, gaps[0], rtol=0, atol=1e-9)
    # the log evidence, from the marginal: r ~ multivariate t(2 a0, 0, b0/a0 (I + prior_var X X'))
    evidence = stats.multivariate_t(
        np.zeros(len(r)), b0 / a0 * (np.eye(len(r)) + prior_var * X @ X.T), df=2 * a0
    ).logpdf(r)
    assert gaps[0] == pytest.approx(evidence, abs=1e-9)


def test_noise_variance_is_learned():
    rng = np.random.default_rng(5)
    X = np.column_stack([rng.normal(size=(4000, 2)), np.ones(4000)])
    r = X @ np.array([0.5, -0.2, 0.1]) + rng.normal(size=4000) * 0.3
    policy = NIGLinearTS(1, 3).update_many(X, np.zeros(4000, int), r)
    assert policy.noise_var_[0] == pytest.approx(0.09, rel=0.06)
    np.testing.assert_allclose(policy.mean_[0], [0.5, -0.2, 0.1], atol=0.02)


# -- decisions: Student-t draws ---------------------------------------------------------------
def test_scores_are_student_t_with_the_right_centre_scale_and_dof():
    X, arms, rewards = _stream(40, 3, 2, seed=9)
    policy = NIGLinearTS(2, 3, a0=2.0, b0=0.5, exploration=1.0).update_many(X, arms, rewards)
    x = np.array([0.3, -1.0, 1.0])
    centre, scale, dof = policy.score_params(x)
    n = 200_000
    state = {k: v[None] for k, v in policy._state().items()}
    draws = policy.scores(state, np.broadcast_to(x, (n, 3)), np.random.default_rng(1))
    assert draws.shape == (n, 2)
    for k in range(2):
        t = stats.t(dof[k], centre[k], scale[k])
        assert stats.kstest(draws[:, k], t.cdf).pvalue > 1e-3
        assert abs(draws[:, k].mean() - centre[k]) < 5 * t.std() / np.sqrt(n)
        # the variance scale^2 nu / (nu - 2), checked through the median absolute deviation
        # (robust to the heavy tails) and through score_moments
        mad = np.median(np.abs(draws[:, k] - centre[k]))
        assert mad == pytest.approx(t.ppf(0.75) - centre[k], rel=0.02)
        assert dof[k] > 8  # a finite fourth moment: the sample variance has a standard error
        se = t.var() * np.sqrt((t.moment(4) / t.var() ** 2 - 1) / n) if dof[k] > 8 else np.inf
        assert abs(draws[:, k].var() - t.var()) < 5 * se
    np.testing.assert_allclose(policy.score_moments(x)[1], scale**2 * dof / (dof - 2))


def test_one_t_number_per_arm_and_no_factorisation(monkeypatch):
    policy = NIGLinearTS(4, 6, rng=0)
    x = np.linspace(-1, 1, 6)

    def forbidden(*args, **kwargs):
        raise AssertionError("a matrix factorisation was called")

    for name in ("inv", "cholesky", "svd", "eigh", "solve", "eig"):
        monkeypatch.setattr(np.linalg, name, forbidden)
    sizes = []
    real = policy._rng.standard_t
    policy._rng = type(
        "Spy",
        (),
        {
            "standard_t": lambda self, df: sizes.append(np.shape(df)) or real(df),
            "multivariate_normal": forbidden,
            "random": policy._rng.random,
            "integers": policy._rng.integers,
        },
    )()
    for _ in range(10):
        policy.update(x, policy.select(x), 1.0)
    assert sizes == [(4,)] * 10


def test_same_seed_same_choices_and_simulator_runs_it():
    from bandit_lab import CreditCardEnv, simulate_contextual

    X, _, _ = _stream(30, 11, 1, seed=1)
    a, b = NIGLinearTS(5, 11, rng=3), NIGLinearTS(5, 11, rng=3)
    assert [a.select(x) for x in X] == [b.select(x) for x in X]
    env = CreditCardEnv(n_customers=500, n_history=200, rng=0)
    res = simulate_contextual({"nig": NIGLinearTS(5, 11)}, env, n_steps=50, n_runs=3, rng=1)
    assert res["nig"].final_state["a_"].shape == (3, 5)
    assert res["nig"].final_state["a_"].sum() == pytest.approx(
        3 * (5 * NIGLinearTS(5, 11).a0 + 50 / 2)
    )


# -- propensities ---------------------------------------------------------------------------
def _t_max_by_quad(m, s, nu):
    out = []
    for k in range(len(m)):

        def f(z, k=k):
            val = stats.t.pdf(z, nu[k], m[k], s[k])
            for j in range(len(m)):
                if j != k:
                    val *= stats.t.cdf(z, nu[j], m[j], s[j])
            return val

        pieces = np.unique(np.concatenate([m - 50 * s, m, m + 50 * s]))
        total = sum(
            integrate.quad(f, lo, hi, epsabs=1e-14, epsrel=1e-12, limit=200)[0]
            for lo, hi in itertools.pairwise(pieces)
        )
        total += integrate.quad(f, -np.inf, pieces[0], epsabs=1e-14, limit=200)[0]
        total += integrate.quad(f, pieces[-1], np.inf, epsabs=1e-14, limit=200)[0]
        out.append(total)
    return np.array(out)


@pytest.mark.parametrize(
    "m, s, nu",
    [
        ([0.0, 0.1, -0.2], [1.0, 0.5, 2.0], [3.0, 5.0, 2.5]),
        (
            [0.05, 0.06, 0.04, 0.05],
            [0.001, 0.02, 0.01, 0.3],
            [2.0, 40.0, 500.0, 2.2],
        ),  # narrow inside wide, heavy tails
        ([0.0, 3.0], [1.0, 1.0], [1.0, 1.0]),  # Cauchy
    ],
)
def test_student_t_propensities_match_adaptive_quadrature(m, s, nu):
    m, s, nu = map(np.asarray, (m, s, nu))
    p = student_t_max_propensities(m, s, nu)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(p, _t_max_by_quad(m, s, nu), atol=1e-9)


@pytest.mark.parametrize("m1, s0, s1", [(0.5, 1.0, 1.0), (3.0, 1.0, 2.0), (-10.0, 0.1, 5.0)])
def test_two_cauchy_arms_match_the_closed_form(m1, s0, s1):
    # X ~ Cauchy(0, s0), Y ~ Cauchy(m1, s1): X - Y ~ Cauchy(-m1, s0 + s1), so
    # P(X > Y) = 1/2 - arctan(m1 / (s0 + s1)) / pi. The heaviest tails there are.
    p = student_t_max_propensities([0.0, m1], [s0, s1], [1.0, 1.0])
    assert p[0] == pytest.approx(0.5 - np.arctan(m1 / (s0 + s1)) / np.pi, abs=1e-9)


def test_policy_propensities_match_monte_carlo_of_its_own_draws():
    X, arms, rewards = _stream(60, 4, 3, seed=11)
    policy = NIGLinearTS(3, 4, rng=0).update_many(X, arms, rewards)
    x = np.array([0.2, 0.1, -0.3, 1.0])
    exact = policy.propensities(x)
    state = {k: v[None] for k, v in policy._state().items()}
    p, se = monte_carlo_propensities(
        lambda n, g: policy.scores(state, np.broadcast_to(x, (n, 4)), g), 3, n_draws=400_000, rng=2
    )
    assert np.all(np.abs(p - exact) < 4.5 * np.maximum(se, 1e-4))
    # a leading axis of runs works the same
    runs = {k: np.stack([v, v]) for k, v in policy._state().items()}
    np.testing.assert_allclose(policy.propensities_of(runs, np.stack([x, x])), [exact, exact])


def test_student_t_propensities_name_bad_input():
    with pytest.raises(ValueError, match="scales holds -1.0"):
        student_t_max_propensities([0.0, 1.0], [1.0, -1.0], [3.0, 3.0])
    with pytest.raises(ValueError, match="dofs holds 0.0"):
        student_t_max_propensities([0.0, 1.0], [1.0, 1.0], [3.0, 0.0])
    with pytest.raises(ValueError, match="centres holds a value that is not finite"):
        student_t_max_propensities([np.nan, 1.0], [1.0, 1.0], [3.0, 3.0])


# -- state, intervals, errors ----------------------------------------------------------------
def test_state_round_trip_through_json_keeps_every_number_and_the_stream_apart():
    X, arms, rewards = _stream(50, 3, 2, seed=12)
    policy = NIGLinearTS(2, 3, prior_var=0.5, a0=2.0, b0=0.05, rng=1).update_many(X, arms, rewards)
    text = policy.to_json()
    back = ContextualPolicy.from_state(json.loads(text), rng=5)
    assert type(back) is NIGLinearTS and back.get_params() == policy.get_params()
    for name in ("mean_", "scale_", "a_", "b_", "n_obs_"):
        np.testing.assert_array_equal(getattr(back, name), getattr(policy, name))
    x = X[0]
    np.testing.assert_array_equal(back.propensities(x), policy.propensities(x))
    assert NIGLinearTS.from_state(text).get_state() == policy.get_state()


def test_corrupted_state_is_refused_with_a_named_error():
    good = NIGLinearTS(2, 2).get_state()
    bad = json.loads(json.dumps(good))
    bad["state"]["b_"][1] = -1.0
    with pytest.raises(ValueError, match=r"state\['state'\]\['b_'\]\[1\] == -1.0, must be > 0"):
        NIGLinearTS.from_state(bad)
    bad = json.loads(json.dumps(good))
    bad["state"]["scale_"][0] = [[1.0, 2.0], [2.0, 1.0]]
    with pytest.raises(ValueError, match=r"scale_'\]\[0\] must be a symmetric positive definite"):
        NIGLinearTS.from_state(bad)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"a0 == -1.0, must be"):
        NIGLinearTS(2, 2, a0=-1.0)
    with pytest.raises(ValueError, match=r"b0 == 0.0, must be"):
        NIGLinearTS(2, 2, b0=0.0)
    with pytest.raises(ValueError, match=r"prior_var == -2.0"):
        NIGLinearTS(2, 2, prior_var=-2.0)
    with pytest.raises(TypeError, match=r"a0 == 'x'"):
        NIGLinearTS(2, 2, a0="x")
    policy = NIGLinearTS(2, 2)
    with pytest.raises(ValueError, match=r"x has shape \(3,\)"):
        policy.select([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"arm == 2"):
        policy.update([1.0, 0.0], 2, 1.0)
    with pytest.raises(ValueError, match=r"reward == nan"):
        policy.update([1.0, 0.0], 0, float("nan"))
    with pytest.raises(ValueError, match=r"level == 1.5"):
        policy.reward_interval([1.0, 0.0], level=1.5)


def test_intervals_are_student_t_and_cover_the_truth():
    # 200 problems with a known truth: the 90% interval at a fixed x covers it about 90% of
    # the time (the model is right, so the Bayesian interval is calibrated on average over
    # the prior).
    rng = np.random.default_rng(13)
    x = np.array([0.5, 1.0])
    hits = 0
    for _ in range(400):
        s2 = 1.0 / rng.gamma(3.0, 1.0 / 0.6)  # sigma2 ~ IG(3, 0.6)
        w = rng.normal(size=2) * np.sqrt(s2 * 2.0)  # w | sigma2 ~ N(0, 2 sigma2 I)
        X = np.column_stack([rng.normal(size=15), np.ones(15)])
        r = X @ w + rng.normal(size=15) * np.sqrt(s2)
        policy = NIGLinearTS(1, 2, prior_var=2.0, a0=3.0, b0=0.6).update_many(
            X, np.zeros(15, int), r
        )
        low, high = policy.reward_interval(x, level=0.9)
        hits += low[0] <= x @ w <= high[0]
    assert abs(hits / 400 - 0.9) < 3.5 * np.sqrt(0.09 / 400)


def test_exploration_narrows_the_draws_and_their_propensities_never_the_beliefs():
    X, arms, rewards = _stream(80, 3, 3, seed=14)
    wide = NIGLinearTS(3, 3, exploration=1.0).update_many(X, arms, rewards)
    narrow = NIGLinearTS(3, 3, exploration=0.4).update_many(X, arms, rewards)
    x = np.array([0.5, -0.5, 1.0])
    for name in ("mean_", "scale_", "a_", "b_"):  # the same beliefs
        np.testing.assert_array_equal(getattr(narrow, name), getattr(wide, name))
    np.testing.assert_array_equal(narrow.reward_interval(x), wide.reward_interval(x))
    centre, scale, dof = wide.score_params(x)
    state = {k: v[None] for k, v in narrow._state().items()}
    draws = narrow.scores(state, np.broadcast_to(x, (100_000, 3)), np.random.default_rng(4))
    for k in range(3):
        assert (
            stats.kstest(draws[:, k], stats.t(dof[k], centre[k], 0.4 * scale[k]).cdf).pvalue > 1e-3
        )
    np.testing.assert_allclose(
        narrow.propensities(x), student_t_max_propensities(centre, 0.4 * scale, dof)
    )
    with pytest.raises(ValueError, match=r"exploration == 0.0, must be"):
        NIGLinearTS(2, 2, exploration=0.0)
