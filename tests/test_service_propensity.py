"""The logged propensity: exactly the probability with which the service's draw picks the
arm, checked against an independent integral (scipy.integrate.quad) and against Monte Carlo
to 1e-3, for Beta and linear bandits, with and without eligible subsets."""
import warnings

import numpy as np
import pytest
from scipy import integrate, stats

from bandit_lab.service.app import create_app
from bandit_lab.service.models import BetaSpec, LinearSpec
from bandit_lab.service.stores import open_store
from service_fixtures import sqlite_url  # noqa: F401  (fixture)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.service


def quad_beta(a, b, k):
    """P(draw k is the largest) by adaptive quadrature, nothing shared with the service."""
    others = [j for j in range(len(a)) if j != k]

    def f(x):
        return stats.beta.pdf(x, a[k], b[k]) * np.prod([stats.beta.cdf(x, a[j], b[j])
                                                        for j in others])
    return integrate.quad(f, 0, 1, limit=200, epsabs=1e-12)[0]


VECTORS = np.array([[3.0, 40.0], [5.0, 60.0], [2.0, 41.0], [12.0, 150.0]])


def test_beta_propensities_match_quadrature_and_monte_carlo():
    spec = BetaSpec(("a", "b", "c", "d"))
    exact = spec.propensities(VECTORS)
    assert exact.sum() == pytest.approx(1.0, abs=1e-12)
    for k in range(4):
        assert exact[k] == pytest.approx(quad_beta(VECTORS[:, 0], VECTORS[:, 1], k), abs=1e-8)
    mc, se = spec.propensities_monte_carlo(VECTORS, n_draws=1_000_000, rng=1)
    assert np.all(se <= 5e-4)
    np.testing.assert_allclose(exact, mc, atol=1e-3)
    # restricted to arms b and d: probabilities over those two only
    mask = np.array([False, True, False, True])
    sub = spec.propensities(VECTORS, mask=mask)
    assert sub[0] == sub[2] == 0.0 and sub.sum() == pytest.approx(1.0)
    assert sub[1] == pytest.approx(quad_beta(VECTORS[[1, 3], 0], VECTORS[[1, 3], 1], 0),
                                   abs=1e-8)


def test_linear_propensities_are_exact_for_independent_normal_scores():
    spec = LinearSpec(("a", "b", "c"), n_features=2, prior_var=1.0, noise_var=0.5)
    rng = np.random.default_rng(3)
    vectors = spec.prior()
    for _ in range(20):  # some data, so the arms differ
        k = rng.integers(3)
        x = rng.normal(size=2)
        vectors[k] += spec.increment(x, float(rng.random() < 0.4))
    x = np.array([0.7, -1.2])
    exact = spec.propensities(vectors, x)
    mc, se = spec.propensities_monte_carlo(vectors, x, n_draws=1_000_000, rng=2)
    np.testing.assert_allclose(exact, mc, atol=1e-3)
    # the service's own draw (spec.scores) agrees: 200,000 decisions
    g = np.random.default_rng(5)
    picks = np.bincount([int(np.argmax(spec.scores(vectors, x, g))) for _ in range(20_000)],
                        minlength=3) / 20_000
    np.testing.assert_allclose(picks, exact, atol=0.015)
    # a zero context: every score is 0, ties broken uniformly
    assert spec.propensities(vectors, np.zeros(2)).tolist() == [1 / 3] * 3


def test_the_service_logs_the_propensity_of_each_choice(sqlite_url):
    store = open_store(sqlite_url)
    store.create("t", BetaSpec(("a", "b", "c", "d")))
    for k, (a, b) in enumerate(VECTORS):  # put the state at VECTORS
        for r, n in ((1, int(a) - 1), (0, int(b) - 1)):
            for _ in range(n):
                store.record_reward("t", store.record_decision("t", k), r)
    app = create_app(store, "t", None, rng=0, purge_every=None)
    exact = BetaSpec(("a", "b", "c", "d")).propensities(VECTORS)
    with TestClient(app) as client:
        seen = [client.post("/decision").json() for _ in range(200)]
        sub = client.post("/decision", json={"arms": ["b", "d"]}).json()
        log = client.get(f"/bandits/t/log?since={1}&limit=10000").json()["rows"]
    for d in seen:
        assert d["propensity"] == pytest.approx(exact[d["arm_index"]], abs=1e-12)
    # chosen about as often as the propensity says
    counts = np.bincount([d["arm_index"] for d in seen], minlength=4) / 200
    assert np.all(np.abs(counts - exact) < 4 * np.sqrt(exact * (1 - exact) / 200) + 0.01)
    row = next(r for r in log if r["decision_id"] == sub["decision_id"])
    assert row["eligible"] == ["b", "d"] and row["propensity"] == pytest.approx(
        quad_beta(VECTORS[[1, 3], 0], VECTORS[[1, 3], 1], 0 if sub["arm"] == "b" else 1),
        abs=1e-8)
    store.close()


def test_propensity_modes(sqlite_url):
    store = open_store(sqlite_url)
    spec = BetaSpec(("a", "b"), alpha0=3.0, beta0=5.0)
    for mode, check in (("off", lambda p: p is None),
                        ("monte-carlo", lambda p: abs(p - 0.5) < 4e-3)):
        with TestClient(create_app(store, "t", spec, rng=1, propensity=mode,
                                   purge_every=None)) as client:
            assert check(client.post("/decision").json()["propensity"])
    with pytest.raises(ValueError, match="propensity == 'sometimes'"):
        create_app(store, "t", spec, propensity="sometimes")
    store.close()
