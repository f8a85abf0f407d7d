"""Propensities: the exact integrals against Monte Carlo, a finer quadrature and closed forms."""
import numpy as np
import pytest
from scipy import special

from bandit_lab.propensities import (epsilon_greedy_propensities, gaussian_max_propensities,
                                     monte_carlo_propensities, softmax_propensities,
                                     thompson_propensities)
from bandit_lab.scores import epsilon_greedy_scores, softmax_scores, thompson_scores


def _fine(monkeypatch, fn, *args):
    """The same integral with 64 Gauss-Legendre nodes per piece, and twice the cuts."""
    import bandit_lab._quadrature as Q
    import bandit_lab.propensities as P

    nodes, weights = np.polynomial.legendre.leggauss(64)
    with monkeypatch.context() as m:
        m.setattr(Q, "NODES", nodes)
        m.setattr(Q, "WEIGHTS", weights)
        m.setattr(Q, "CUMULATIVE", Q.cumulative_matrix(nodes))
        m.setattr(P, "_TAILS", np.geomspace(1e-14, 0.5, 12))
        m.setattr(P, "_LEVELS", np.concatenate([P._TAILS, 1 - P._TAILS[-2::-1]]))
        return fn(*args)


CASES = [
    ([1.0, 1.0], [1.0, 1.0]),
    ([3.0, 1.0], [1.0, 1.0]),
    ([31.0, 46.0, 29.0, 16.0, 61.0], [971.0, 956.0, 973.0, 986.0, 941.0]),
    ([1.0, 1001.0, 5.0], [1.0, 1001.0, 5.0]),              # very unequal counts, same mean
    ([500.5, 501.0], [500.5, 500.0]),                      # a near tie
    ([0.5, 2.0, 0.5], [0.5, 7.0, 3.0]),                    # priors below 1: densities unbounded
    ([20001.0, 2.0, 1.0], [80001.0, 7.0, 1.0]),            # one very narrow beside wide ones
]


@pytest.mark.parametrize("a,b", CASES)
def test_thompson_propensities_converged(a, b, monkeypatch):
    a, b = np.array(a), np.array(b)
    p = thompson_propensities(a, b)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(p, _fine(monkeypatch, thompson_propensities, a, b), atol=1e-9)


# Computed with mpmath at 20 digits (mp.quad of f_k * prod F_j over [0, 1], split at
# 1e-30, 1e-10, 1e-4, 0.01, 0.1, 0.5, 0.9, 0.99, 1 - 1e-4), for posteriors whose densities
# have poles at 0 or 1, where plain quadrature in x loses digits.
@pytest.mark.parametrize("a,b,expected", [
    ([0.3, 0.3], [0.3, 5.0], [0.82578330512639089, 0.17421669487360911]),
    ([0.5, 2.0, 0.5], [0.5, 7.0, 3.0], [0.65961429458932253, 0.23069158853440434, 0.10969411687627505]),
])
def test_thompson_propensities_match_high_precision_values(a, b, expected):
    np.testing.assert_allclose(thompson_propensities(a, b), expected, atol=1e-10)


def test_thompson_propensities_closed_forms():
    # P(X > Y) for X ~ Beta(a, 1), Y ~ U(0, 1) is a / (a + 1)
    for a in (0.5, 2.0, 9.0):
        assert thompson_propensities([a, 1.0], [1.0, 1.0])[0] == pytest.approx(a / (a + 1), abs=1e-10)
    # identical arms share equally
    np.testing.assert_allclose(thompson_propensities([4.0] * 6, [9.0] * 6), np.full(6, 1 / 6), atol=1e-10)
    assert thompson_propensities([2.0], [3.0]).tolist() == [1.0]


def test_thompson_propensities_agree_with_a_million_draws_on_random_posteriors():
    rng = np.random.default_rng(12)
    for _ in range(6):
        K = int(rng.integers(2, 7))
        n = rng.integers(0, 3000, size=K) * (rng.random(K) < 0.8)   # some arms barely pulled
        rate = rng.uniform(0.01, 0.3, size=K)
        a = 1.0 + rng.binomial(n, rate)
        b = 1.0 + n - (a - 1.0)
        p = thompson_propensities(a, b)
        mc, se = monte_carlo_propensities(lambda m, g: thompson_scores(
            np.broadcast_to(a, (m, K)), np.broadcast_to(b, (m, K)), g), K,
                                          n_draws=1_000_000, rng=rng)
        assert np.all(np.abs(p - mc) <= np.maximum(5 * se, 2e-5)), (a, b, p, mc)
        assert np.abs(p - mc).max() < 1e-3
        assert p.sum() == pytest.approx(1.0, abs=1e-12)


def test_thompson_propensities_leading_axes_are_independent_bandits():
    a = np.array([[1.0, 1.0], [3.0, 1.0]])
    b = np.ones((2, 2))
    p = thompson_propensities(a, b)
    np.testing.assert_allclose(p, [[0.5, 0.5], [0.75, 0.25]], atol=1e-10)


@pytest.mark.parametrize("bad", [[0.0, 1.0], [-1.0, 1.0], [np.nan, 1.0], [np.inf, 1.0]])
def test_thompson_propensities_refuse_bad_parameters_by_name(bad):
    with pytest.raises(ValueError, match="alpha"):
        thompson_propensities(bad, [1.0, 1.0])


def test_thompson_propensities_refuse_shape_mismatch():
    with pytest.raises(ValueError, match="same"):
        thompson_propensities([1.0, 1.0], [1.0, 1.0, 1.0])


def test_gaussian_max_propensities_two_arms_closed_form():
    # P(X1 > X2) = Phi((m1 - m2) / sqrt(s1^2 + s2^2))
    for m1, m2, s1, s2 in [(0.1, 0.0, 1.0, 2.0), (3.0, -1.0, 0.5, 0.01), (0.0, 1e-3, 1e-4, 1e-4)]:
        p = gaussian_max_propensities([m1, m2], [s1, s2])
        assert p[0] == pytest.approx(special.ndtr((m1 - m2) / np.hypot(s1, s2)), abs=1e-9)


def test_gaussian_max_propensities_agree_with_draws():
    rng = np.random.default_rng(3)
    m = np.array([0.02, 0.05, 0.03, 0.049, -0.2])
    s = np.array([0.01, 0.02, 0.1, 0.001, 0.5])
    p = gaussian_max_propensities(m, s)
    mc, se = monte_carlo_propensities(lambda n, g: g.normal(m, s, size=(n, 5)), 5,
                                      n_draws=1_000_000, rng=rng)
    assert np.all(np.abs(p - mc) <= np.maximum(5 * se, 2e-5))


def test_epsilon_greedy_and_softmax_match_their_score_functions():
    rng = np.random.default_rng(5)
    counts = np.array([10.0, 12.0, 9.0, 10.0])
    sums = np.array([3.0, 6.0, 4.5, 5.0])     # means .3 .5 .5 .5: a three-way tie
    p = epsilon_greedy_propensities(counts, sums, 0.2)
    np.testing.assert_allclose(p, [0.05, 0.05 + 0.8 / 3, 0.05 + 0.8 / 3, 0.05 + 0.8 / 3])
    mc, se = monte_carlo_propensities(lambda n, g: epsilon_greedy_scores(
        np.broadcast_to(counts, (n, 4)), np.broadcast_to(sums, (n, 4)), 0.2, g), 4,
        n_draws=400_000, rng=rng)
    assert np.all(np.abs(p - mc) <= 5 * se + 1e-12)
    q = softmax_propensities(counts, sums, 0.25)
    mc, se = monte_carlo_propensities(lambda n, g: softmax_scores(
        np.broadcast_to(counts, (n, 4)), np.broadcast_to(sums, (n, 4)), 0.25, g), 4,
        n_draws=400_000, rng=rng)
    assert np.all(np.abs(q - mc) <= 5 * se + 1e-12)


def test_untried_arms_are_chosen_first_uniformly():
    p = epsilon_greedy_propensities([0, 3, 0], [0.0, 3.0, 0.0], 0.1)
    np.testing.assert_allclose(p, [0.5, 0.0, 0.5])
    q = softmax_propensities([0, 3, 1], [0.0, 3.0, 1.0], 0.1)
    np.testing.assert_allclose(q, [1.0, 0.0, 0.0])


def test_monte_carlo_refuses_wrong_shapes():
    with pytest.raises(ValueError, match="draw_scores"):
        monte_carlo_propensities(lambda n, g: np.zeros((n, 2)), 3, n_draws=10, rng=0)


@pytest.mark.parametrize("tau, err, pattern", [
    ("a", TypeError, r"^tau == 'a' is of type str, must be a real number\.$"),
    (None, TypeError, r"^tau == None is of type NoneType, must be a real number\.$"),
    (0, ValueError, r"^tau == 0\.0, must be a finite number > 0\.$"),
])
def test_softmax_propensities_name_a_bad_temperature(tau, err, pattern):
    with pytest.raises(err, match=pattern):
        softmax_propensities([1.0, 1.0], [0.0, 1.0], tau)
