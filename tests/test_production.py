"""Production concerns: several objectives, budgets, stopping, cold start, segments (notebook 09)."""

import json

import numpy as np
import pytest
from scipy import integrate, stats

from bandit_lab import (
    UCB1,
    BernoulliBandit,
    BetaBernoulliTS,
    BetaPosterior,
    CreditCardEnv,
    PerSegment,
    Policy,
    cumulative_regret,
    simulate,
    simulate_contextual,
)
from bandit_lab import scores as S
from bandit_lab.production import (
    BudgetedTS,
    BudgetExhausted,
    MultiObjectiveTS,
    PerArmPriorTS,
    PosteriorStoppingRule,
    add_arm,
    beta_prior,
    budgeted_thompson_scores,
    normal_gamma_update,
)
from bandit_lab.production_sim import (
    FunnelEnv,
    simulate_budget,
    simulate_funnel,
    stopping_times,
    with_segments,
)


def se_of_mean(x):
    x = np.asarray(x, dtype=float)
    return x.std(ddof=1) / np.sqrt(x.size)


# ---------------------------------------------------------------------------------------
# The source article's versions, re-created to be shown wrong
# ---------------------------------------------------------------------------------------
class SourceScalarTS:
    """One Beta per arm; reward 1 for a purchase, 0.1 for a click; any reward > 0 a success."""

    def __init__(self, n_arms):
        self.n_arms = n_arms

    def initial_state(self, shape=()):
        return {"alpha": np.ones(shape + (self.n_arms,)), "beta": np.ones(shape + (self.n_arms,))}

    def scores(self, state, rng):
        return rng.beta(state["alpha"], state["beta"])

    def update_state(self, state, arms, clicked, purchased, revenue):
        reward = np.where(purchased, 1.0, np.where(clicked, 0.1, 0.0))
        S.beta_update(state["alpha"], state["beta"], arms, (reward > 0).astype(float))


class SourceObjectiveBetas:
    """One Beta per objective; the revenue Beta is sent the revenue, and only on a purchase."""

    def __init__(self, n_arms):
        self.n_arms = n_arms

    def initial_state(self, shape=()):
        return {k: np.ones(shape + (self.n_arms,)) for k in ("ca", "cb", "ra", "rb")}

    def update_state(self, state, arms, clicked, purchased, revenue):
        S.beta_update(state["ca"], state["cb"], arms, (np.asarray(clicked) > 0).astype(float))
        bought = np.flatnonzero(purchased)
        S.beta_update(
            state["ra"],
            state["rb"],
            np.asarray(arms)[bought],
            (np.asarray(revenue)[bought] > 0).astype(float),
            bought,
        )


class CostBlindTS(BudgetedTS):
    """The source's budget bandit: Thompson sampling among affordable arms, cost ignored."""

    def scores(self, state, rng):
        draws = S.thompson_scores(state["alpha_"], state["beta_"], rng)
        return np.where(self.affordable_in(state), draws, -np.inf)


def source_stopping_rule(alpha, beta, min_samples=100):
    """The source's early stopping: every arm pulled min_samples times and the leader's 95%
    interval above every other arm's (its confidence_level argument is never read)."""
    pulls = alpha + beta - 2.0
    low, high = stats.beta.ppf(0.025, alpha, beta), stats.beta.ppf(0.975, alpha, beta)
    best = (alpha / (alpha + beta)).argmax(axis=-1)
    low_best = np.take_along_axis(low, best[:, None], 1)
    others = np.arange(alpha.shape[1]) != best[:, None]
    separated = np.all(~others | (low_best > high), axis=1)
    return (pulls.min(axis=-1) >= min_samples) & separated, best


# ---------------------------------------------------------------------------------------
# Multiple objectives
# ---------------------------------------------------------------------------------------
def normal_gamma_batch(x, mu0, kappa0, shape0, rate0):
    n, xbar = x.size, x.mean()
    ss = ((x - xbar) ** 2).sum()
    kappa = kappa0 + n
    return (
        (kappa0 * mu0 + n * xbar) / kappa,
        kappa,
        shape0 + n / 2,
        rate0 + ss / 2 + kappa0 * n * (xbar - mu0) ** 2 / (2 * kappa),
    )


def test_normal_gamma_update_equals_batch_form_in_any_order():
    rng = np.random.default_rng(0)
    x = rng.lognormal(4.0, 0.6, size=60)
    expected = normal_gamma_batch(x, 80.0, 2.0, 3.0, 500.0)
    for order in (np.arange(x.size), rng.permutation(x.size)):
        mu, kappa, shape, rate = (np.array([v]) for v in (80.0, 2.0, 3.0, 500.0))
        for i in order:
            normal_gamma_update(mu, kappa, shape, rate, 0, x[i])
        np.testing.assert_allclose([mu[0], kappa[0], shape[0], rate[0]], expected, rtol=1e-10)


def random_funnel(seed, n, k=3):
    rng = np.random.default_rng(seed)
    arms = rng.integers(0, k, n)
    clicked = rng.random(n) < 0.4
    purchased = clicked & (rng.random(n) < 0.3)
    revenue = np.where(purchased, rng.lognormal(4.0, 0.5, n), np.nan)
    return arms, clicked, purchased, revenue


def test_multi_objective_posteriors_equal_their_batch_forms_in_any_order():
    arms, clicked, purchased, revenue = random_funnel(1, 300)
    rev = [None if np.isnan(r) else float(r) for r in revenue]
    order = np.random.default_rng(2).permutation(arms.size)
    one = MultiObjectiveTS(
        3,
        click_prior=(2.0, 3.0),
        purchase_prior=(1.0, 4.0),
        revenue_mean0=60.0,
        revenue_sd0=30.0,
        revenue_strength0=2.0,
    )
    one.update_many(arms, clicked, purchased, rev)
    two = MultiObjectiveTS(
        3,
        click_prior=(2.0, 3.0),
        purchase_prior=(1.0, 4.0),
        revenue_mean0=60.0,
        revenue_sd0=30.0,
        revenue_strength0=2.0,
    )
    for i in order:
        two.update(
            int(arms[i]), clicked=bool(clicked[i]), purchased=bool(purchased[i]), revenue=rev[i]
        )
    for k in range(3):
        mine = arms == k
        np.testing.assert_allclose(one.click_alpha_[k], 2.0 + clicked[mine].sum())
        np.testing.assert_allclose(one.click_beta_[k], 3.0 + (~clicked[mine]).sum())
        # purchase rates are counted among clicks only
        np.testing.assert_allclose(one.purchase_alpha_[k], 1.0 + purchased[mine].sum())
        np.testing.assert_allclose(
            one.purchase_beta_[k], 4.0 + (clicked[mine] & ~purchased[mine]).sum()
        )
        # revenue learns from purchases only, on its own scale
        expected = normal_gamma_batch(revenue[mine & purchased], 60.0, 2.0, 2.0, 900.0)
        got = [
            one.revenue_mu_[k],
            one.revenue_kappa_[k],
            one.revenue_shape_[k],
            one.revenue_rate_[k],
        ]
        np.testing.assert_allclose(got, expected, rtol=1e-9)
    for name in MultiObjectiveTS._state_names:
        np.testing.assert_allclose(getattr(two, name), getattr(one, name), rtol=1e-9)


def test_multi_objective_vectorised_state_equals_one_object_per_run():
    config = MultiObjectiveTS(3)
    n_runs, T = 5, 80
    data = [random_funnel(10 + t, n_runs) for t in range(T)]
    state = config.initial_state((n_runs,))
    for arms, clicked, purchased, revenue in data:
        config.update_state(state, arms, clicked, purchased, np.nan_to_num(revenue))
    for r in range(n_runs):
        one = MultiObjectiveTS(3)
        for arms, clicked, purchased, revenue in data:
            one.update(
                int(arms[r]),
                clicked=bool(clicked[r]),
                purchased=bool(purchased[r]),
                revenue=float(revenue[r]) if purchased[r] else None,
            )
        for name in config._state_names:
            np.testing.assert_allclose(state[name][r], getattr(one, name), rtol=1e-12)


def test_multi_objective_score_is_a_draw_of_the_weighted_value():
    w = {"click": 2.0, "purchase": 3.0, "revenue": 0.5}
    mo = MultiObjectiveTS(2, weights=w, rng=0)
    # lots of evidence: every posterior is concentrated
    state = mo.initial_state((20_000,))
    state["click_alpha_"][:] = [2_000, 5_000]
    state["click_beta_"][:] = [8_000, 5_000]
    state["purchase_alpha_"][:] = [500, 100]
    state["purchase_beta_"][:] = [1_500, 4_900]
    for name, value in (
        ("revenue_mu_", [80.0, 300.0]),
        ("revenue_kappa_", 500.0),
        ("revenue_shape_", 250.0),
        ("revenue_rate_", 250.0 * 400.0),
    ):
        state[name][:] = value
    draws = mo.scores(state, np.random.default_rng(1))
    c = np.array([0.2, 0.5])
    p = np.array([0.25, 0.02])
    m = np.array([80.0, 300.0])
    value = c * (w["click"] + p * (w["purchase"] + w["revenue"] * m))
    se = draws.std(axis=0, ddof=1) / np.sqrt(draws.shape[0])
    assert np.all(np.abs(draws.mean(axis=0) - value) < 4 * se + 1e-3 * value)
    for name in mo._state_names:
        setattr(mo, name, state[name][0].copy())
    np.testing.assert_allclose(mo.expected_value(), value, rtol=1e-3)


def test_source_revenue_beta_believes_a_two_percent_arm_is_worth_096():
    # 1200 impressions, 24 purchases (2%), each worth about $50, sent only on purchase
    n, buyers = 1200, np.arange(1200) % 50 == 0
    arms = np.zeros(n, dtype=int)
    revenue = np.where(buyers, 50.0, 0.0)
    source = SourceObjectiveBetas(1)
    st = source.initial_state((1,))  # one run
    for i in range(n):
        source.update_state(
            st, arms[i : i + 1], buyers[i : i + 1], buyers[i : i + 1], revenue[i : i + 1]
        )
    mean = st["ra"][0, 0] / (st["ra"][0, 0] + st["rb"][0, 0])
    assert buyers.sum() == 24 and round(mean, 2) == 0.96  # 25 / 26
    mo = MultiObjectiveTS(1).update_many(arms, buyers, buyers, np.where(buyers, 50.0, np.nan))
    assert abs(mo.revenue_mu_[0] - 50.0) < 2.0  # dollars, not a rate
    assert abs(mo.expected_value()[0] - 1.0) < 0.05  # 2% of $50 per impression


def test_source_update_counts_a_click_worth_01_as_a_full_purchase():
    source = SourceScalarTS(2)
    st = source.initial_state()
    source.update_state(st, 0, True, False, 0.0)  # a click: reward 0.1
    source.update_state(st, 1, True, True, 50.0)  # a purchase: reward 1
    assert st["alpha"].tolist() == [2.0, 2.0]
    ts = BetaBernoulliTS(2).update(0, 0.1).update(1, 1.0)
    assert ts.alpha_.tolist() == [1.1, 2.0] and ts.beta_.tolist() == [1.9, 1.0]


def test_multi_objective_picks_highest_value_where_the_source_picks_highest_click_rate():
    # arm 0 is clicked most, arm 2 is worth most per impression
    env = FunnelEnv([0.20, 0.10, 0.05], [0.10, 0.30, 0.50], [20.0, 50.0, 100.0])
    assert env.best_arm == 2 and int(np.argmax(env.click_rates)) == 0
    res = simulate_funnel(
        {"source": SourceScalarTS(3), "value": MultiObjectiveTS(3, revenue_mean0=50.0)},
        env,
        n_steps=1500,
        n_runs=200,
        rng=3,
    )
    late_value = res["value"].arms[:, 500:]
    late_source = res["source"].arms[:, 500:]
    share_best = (late_value == 2).mean(axis=1)
    share_click = (late_source == 0).mean(axis=1)
    assert share_best.mean() - 0.5 > 4 * se_of_mean(share_best)
    assert share_click.mean() - 0.5 > 4 * se_of_mean(share_click)
    gain = res["value"].revenue_per_impression() - res["source"].revenue_per_impression()
    assert gain.mean() > 4 * se_of_mean(gain)


@pytest.mark.parametrize(
    "weights, error, match",
    [
        ({"click": -1.0}, ValueError, r"weights\['click'\] == -1.0, must be >= 0"),
        ({"clicks": 1.0}, ValueError, r"weights has the key\(s\) \['clicks'\]"),
        ({"click": 0.0, "revenue": 0.0}, ValueError, "at least one objective a weight > 0"),
        ({"revenue": float("nan")}, ValueError, "must be a finite number"),
        ({"revenue": "1"}, TypeError, "must be a real number"),
        ([1.0, 2.0], TypeError, "weights is of type list"),
    ],
)
def test_multi_objective_rejects_bad_weights(weights, error, match):
    with pytest.raises(error, match=match):
        MultiObjectiveTS(3, weights=weights)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(clicked=False, purchased=True, revenue=10.0), ValueError, "must follow a click"),
        (dict(clicked=True, purchased=True), ValueError, "revenue == None for a purchase"),
        (dict(clicked=True, revenue=10.0), ValueError, "revenue is recorded only for a purchase"),
        (
            dict(clicked=True, purchased=True, revenue=-5.0),
            ValueError,
            "revenue == -5.0, must be >= 0",
        ),
        (dict(clicked="yes"), TypeError, "clicked == 'yes' is of type str"),
        (dict(clicked=2), TypeError, "must be True or False"),
    ],
)
def test_multi_objective_rejects_impossible_outcomes(kwargs, error, match):
    mo = MultiObjectiveTS(2)
    with pytest.raises(error, match=match):
        mo.update(0, **kwargs)
    assert mo.click_alpha_.tolist() == [1.0, 1.0]  # nothing half-applied


def test_multi_objective_rejects_bad_priors_and_arms():
    with pytest.raises(ValueError, match=r"click_prior\[0\] == 0.0, must be a finite number > 0"):
        MultiObjectiveTS(2, click_prior=(0.0, 1.0))
    with pytest.raises(TypeError, match="must be a pair"):
        MultiObjectiveTS(2, purchase_prior=1.0)
    with pytest.raises(ValueError, match="revenue_sd0 == -1.0"):
        MultiObjectiveTS(2, revenue_sd0=-1.0)
    with pytest.raises(ValueError, match=r"arm == 2, must be an arm index in \[0, 1\]"):
        MultiObjectiveTS(2).update(2, clicked=True)


def test_multi_objective_state_round_trips_through_json():
    arms, clicked, purchased, revenue = random_funnel(4, 50)
    mo = MultiObjectiveTS(3, weights={"click": 0.5, "revenue": 0.3}, revenue_mean0=70.0, rng=0)
    mo.update_many(arms, clicked, purchased, revenue)
    text = mo.to_json()
    back = MultiObjectiveTS.from_state(json.loads(text), rng=7)
    assert back.get_params() == mo.get_params() and back.to_json() == text
    again = MultiObjectiveTS.from_state(text, rng=7)
    assert [back.select() for _ in range(20)] == [again.select() for _ in range(20)]
    bad = json.loads(text)
    bad["policy"] = "BudgetedTS"
    with pytest.raises(
        ValueError, match="state\\['policy'\\] == 'BudgetedTS', must be 'MultiObjectiveTS'"
    ):
        MultiObjectiveTS.from_state(bad)
    bad = json.loads(text)
    bad["state"]["revenue_mu_"] = [1.0, 2.0]
    with pytest.raises(ValueError, match=r"has shape \(2,\), must be \(3,\)"):
        MultiObjectiveTS.from_state(bad)


# ---------------------------------------------------------------------------------------
# Budgets
# ---------------------------------------------------------------------------------------
def test_budgeted_ts_ends_cleanly_and_never_overspends():
    bt = BudgetedTS(3, costs=[0.7, 1.3, 2.9], budget=25.0, rng=0)
    env = BernoulliBandit([0.1, 0.3, 0.5], rng=1)
    paid = 0.0
    while not bt.exhausted:
        arm = bt.select()
        paid += bt.costs[arm]
        bt.update(arm, env.pull(arm))
    assert bt.spent_ == pytest.approx(paid) and bt.spent_ <= 25.0 + 1e-9
    assert bt.remaining < 0.7 and not bt.affordable().any()
    assert bt.pulls_.sum() == (bt.alpha_ + bt.beta_ - 2.0).sum()
    with pytest.raises(BudgetExhausted, match="no arm is affordable"):
        bt.select()
    bt.update(1, 1.0)  # a late reward for an offer already paid for is still learned
    assert bt.spent_ == pytest.approx(paid)


def test_budgeted_scores_are_rate_per_cost_among_affordable_arms():
    alpha = np.array([5_000.0, 9_000.0, 10_000.0])  # rates 0.5, 0.9, 0.01 (all well known)
    beta = np.array([5_000.0, 1_000.0, 990_000.0])
    costs = np.array([1.0, 3.0, 0.01])
    s = budgeted_thompson_scores(alpha, beta, costs, 10.0, np.random.default_rng(0))
    np.testing.assert_allclose(s, [0.5, 0.3, 1.0], rtol=0.05)
    s = budgeted_thompson_scores(
        alpha, beta, costs, np.array([[2.0], [0.5]])[:, 0], np.random.default_rng(0)
    )
    assert np.isneginf(s[:, 1]).all() and np.isneginf(s[1, 0]) and np.isfinite(s[0, 0])


def test_budgeted_vectorised_state_equals_one_object_per_run():
    config = BudgetedTS(3, costs=[1.0, 2.0, 0.5], budget=100.0)
    rng = np.random.default_rng(5)
    n_runs, T = 4, 30
    arms = rng.integers(0, 3, (T, n_runs))
    rewards = np.round(rng.random((T, n_runs)))
    state = config.initial_state((n_runs,))
    for t in range(T):
        config.charge_state(state, arms[t])
        config.update_state(state, arms[t], rewards[t])
    for r in range(n_runs):
        np.testing.assert_allclose(state["spent_"][r], config.costs[arms[:, r]].sum())
        np.testing.assert_allclose(
            state["alpha_"][r], 1 + np.bincount(arms[:, r], rewards[:, r], 3)
        )
        np.testing.assert_allclose(state["pulls_"][r], np.bincount(arms[:, r], minlength=3))


def test_cost_aware_budget_ts_earns_more_conversions_per_budget_than_cost_blind():
    rates = np.array([0.05, 0.10, 0.08])
    costs = np.array([1.0, 4.0, 1.0])  # per unit of money: 0.05, 0.025, 0.08
    env = BernoulliBandit(rates)
    res = simulate_budget(
        {
            "aware": BudgetedTS(3, costs=costs, budget=300.0),
            "blind": CostBlindTS(3, costs=costs, budget=300.0),
        },
        env,
        n_runs=200,
        rng=2,
    )
    for h in res.values():
        assert np.all(h.spent <= 300.0 + 1e-6) and np.all(h.spent > 300.0 - costs.min() - 1e-6)
        spent = np.where(h.arms >= 0, costs[np.maximum(h.arms, 0)], 0.0).sum(axis=1)
        np.testing.assert_allclose(spent, h.spent, rtol=1e-9)
        assert h.expected_conversions.mean() <= h.upper_bound
    gain = res["aware"].expected_conversions - res["blind"].expected_conversions
    assert gain.mean() > 4 * se_of_mean(gain)
    realised = res["aware"].conversions - res["blind"].conversions
    assert realised.mean() > 4 * se_of_mean(realised)


def test_budgeted_state_round_trips_and_keeps_what_was_spent():
    bt = BudgetedTS(2, costs=[1.0, 2.5], budget=10.0, rng=0)
    for _ in range(3):
        bt.update(bt.select(), 1.0)
    back = BudgetedTS.from_state(bt.to_json(), rng=1)
    assert back.spent_ == bt.spent_ and back.to_json() == bt.to_json()
    bad = bt.get_state()
    bad["state"]["spent_"] = 11.0
    with pytest.raises(ValueError, match=r"spent_'\] == 11.0, must be in \[0, budget == 10.0\]"):
        BudgetedTS.from_state(bad)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            dict(costs=[1.0, 0.0], budget=5.0),
            ValueError,
            r"costs\[1\] == 0.0, must be a finite number > 0",
        ),
        (
            dict(costs=[1.0, 2.0, 3.0], budget=5.0),
            ValueError,
            r"costs has shape \(3,\), must be a number or",
        ),
        (dict(costs=1.0, budget=0.0), ValueError, "budget == 0.0, must be a finite number > 0"),
        (dict(costs="cheap", budget=1.0), TypeError, "costs == 'cheap'"),
    ],
)
def test_budgeted_ts_rejects_bad_costs_and_budgets(kwargs, error, match):
    with pytest.raises(error, match=match):
        BudgetedTS(2, **kwargs)


# ---------------------------------------------------------------------------------------
# Stopping
# ---------------------------------------------------------------------------------------
def exact_prob_best(alpha, beta):
    out = []
    for k in range(len(alpha)):

        def f(x, k=k):
            others = [stats.beta.cdf(x, alpha[j], beta[j]) for j in range(len(alpha)) if j != k]
            return stats.beta.pdf(x, alpha[k], beta[k]) * np.prod(others)

        out.append(integrate.quad(f, 0, 1, limit=200, points=[alpha[k] / (alpha[k] + beta[k])])[0])
    return np.array(out)


def exact_expected_loss(alpha, beta):
    e_max = integrate.quad(
        lambda x: 1 - np.prod([stats.beta.cdf(x, a, b) for a, b in zip(alpha, beta)]),
        0,
        1,
        limit=200,
        points=list(alpha / (alpha + beta)),
    )[0]
    return e_max - alpha / (alpha + beta)


def test_stopping_rule_estimates_match_exact_integrals():
    alpha = np.array([31.0, 46.0, 61.0])
    beta = np.array([971.0, 956.0, 941.0])
    n = 40_000
    check = PosteriorStoppingRule(level=0.99, n_samples=n, rng=0).check(alpha, beta)
    p = exact_prob_best(alpha, beta)
    assert np.all(np.abs(check.prob_best - p) < 4 * np.sqrt(p * (1 - p) / n) + 1e-9)
    loss = exact_expected_loss(alpha, beta)
    assert np.all(np.abs(check.expected_loss - loss) < 4 * 0.015 / np.sqrt(n) + 1e-5)
    # the same draws as BetaPosterior.prob_best, one experiment at a time
    same = BetaPosterior(alpha, beta).prob_best(5_000, rng=3)
    np.testing.assert_array_equal(
        PosteriorStoppingRule(level=0.9, n_samples=5_000, rng=3).check(alpha, beta).prob_best, same
    )


def test_stopping_rule_treats_each_run_separately():
    alpha = np.array([[31.0, 46.0, 61.0], [61.0, 46.0, 31.0], [500.0, 10.0, 10.0]])
    beta = np.array([[971.0, 956.0, 941.0], [941.0, 956.0, 971.0], [500.0, 990.0, 990.0]])
    check = PosteriorStoppingRule(level=0.95, n_samples=20_000, rng=1).check(alpha, beta)
    assert check.best_arm.tolist() == [2, 0, 0] and check.stop.tolist() == [False, False, True]
    np.testing.assert_allclose(check.prob_best.sum(axis=1), 1.0)
    by_loss = PosteriorStoppingRule(loss_threshold=1e-4, n_samples=20_000, rng=1).check(alpha, beta)
    assert by_loss.stop.tolist() == [False, False, True] and by_loss.best_arm.tolist() == [2, 0, 0]


def test_stopping_times_hand_the_rule_the_batch_posteriors():
    h = simulate(BetaBernoulliTS(3), BernoulliBandit([0.2, 0.4, 0.6]), n_steps=95, n_runs=4, rng=0)
    seen = []

    def rule(alpha, beta):
        seen.append((alpha.copy(), beta.copy()))
        return alpha.sum(axis=1) + beta.sum(axis=1) - 6 >= 60, alpha.argmax(axis=1)

    res = stopping_times(h, rule, check_every=20)
    assert res.stop_step.tolist() == [60] * 4 and len(seen) == 3
    alpha, beta = seen[-1]
    for r in range(4):
        a, rw = h.arms[r, :60], h.rewards[r, :60]
        np.testing.assert_allclose(alpha[r], 1 + np.bincount(a, rw, 3))
        np.testing.assert_allclose(beta[r], 1 + np.bincount(a, 1 - rw, 3))


def test_posterior_stopping_fires_in_almost_every_run_where_the_source_rule_does_not():
    # arm 2 is clearly bad: Thompson sampling starves it, so the source's rule waits for
    # its 100 pulls and a narrow interval that never come
    rates = [0.05, 0.10, 0.01]
    h = simulate(BetaBernoulliTS(3), BernoulliBandit(rates), n_steps=3000, n_runs=200, rng=9)
    ours = stopping_times(
        h, PosteriorStoppingRule(level=0.95, n_samples=1000, rng=1), check_every=250
    )
    source = stopping_times(h, source_stopping_rule, check_every=250)
    n = 200
    assert ours.stop_rate >= 0.95
    diff = ours.stopped.astype(float) - source.stopped
    assert diff.mean() > 4 * se_of_mean(diff)
    assert source.stop_rate < 0.5
    # when it stops it is rarely wrong: at most the 5% the level allows, plus noise
    assert ours.wrong_rate(1) < 0.05 + 4 * np.sqrt(0.05 * 0.95 / n)
    by_loss = stopping_times(
        h, PosteriorStoppingRule(loss_threshold=0.002, n_samples=1000, rng=2), check_every=250
    )
    assert by_loss.stop_rate >= 0.95


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(), ValueError, "must give exactly one of them"),
        (dict(level=0.9, loss_threshold=0.01), ValueError, "must give exactly one of them"),
        (dict(level=1.0), ValueError, r"level == 1.0, must be in \(0, 1\)"),
        (dict(loss_threshold=-0.1), ValueError, "loss_threshold == -0.1"),
        (dict(level=0.9, n_samples=10), ValueError, "n_samples == 10, must be >= 100"),
    ],
)
def test_stopping_rule_rejects_bad_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        PosteriorStoppingRule(**kwargs)


def test_stopping_inputs_are_checked():
    rule = PosteriorStoppingRule(level=0.9)
    with pytest.raises(ValueError, match="must hold one entry per arm"):
        rule.check(2.0, 3.0)
    with pytest.raises(ValueError, match="alpha == -1.0, must be a finite number > 0"):
        rule.check([1.0, -1.0], [1.0, 1.0])
    h = simulate(BetaBernoulliTS(2), BernoulliBandit([0.2, 0.4]), n_steps=10, rng=0)
    with pytest.raises(TypeError, match="rule is of type int, must be callable"):
        stopping_times(h, 3, check_every=5)
    with pytest.raises(ValueError, match="check_every == 0, must be >= 1"):
        stopping_times(h, rule, check_every=0)


# ---------------------------------------------------------------------------------------
# Cold start
# ---------------------------------------------------------------------------------------
def test_beta_prior_from_a_rate_and_a_strength():
    assert beta_prior(0.03, 200) == (6.0, 194.0)
    a, b = beta_prior([0.03, 0.5], 10)
    np.testing.assert_allclose(a, [0.3, 5.0])
    np.testing.assert_allclose(b, [9.7, 5.0])
    post = BetaPosterior(*beta_prior(0.2, 50))
    assert float(post.mean) == pytest.approx(0.2) and float(
        post.alpha + post.beta
    ) == pytest.approx(50)
    with pytest.raises(ValueError, match=r"mean == 1.0, must be in \(0, 1\)"):
        beta_prior(1.0, 10)
    with pytest.raises(ValueError, match="strength == 0.0, must be a finite number > 0"):
        beta_prior(0.1, [5, 0])
    with pytest.raises(TypeError, match="mean == 'high'"):
        beta_prior("high", 10)
    with pytest.raises(ValueError, match=r"shapes \(2,\) and \(3,\), must match"):
        beta_prior([0.1, 0.2], [1, 2, 3])


def test_per_arm_priors_give_the_batch_posterior_in_any_order():
    rng = np.random.default_rng(0)
    arms = rng.integers(0, 3, 200)
    rewards = np.round(rng.random(200), 1)
    a0, b0 = [1.0, 6.0, 0.5], [1.0, 194.0, 4.5]
    one = PerArmPriorTS(3, alpha0=a0, beta0=b0).update_many(arms, rewards)
    two = PerArmPriorTS(3, alpha0=a0, beta0=b0)
    for i in rng.permutation(200):
        two.update(int(arms[i]), float(rewards[i]))
    expected_alpha = np.array(a0) + np.bincount(arms, rewards, 3)
    np.testing.assert_allclose(one.alpha_, expected_alpha)
    np.testing.assert_allclose(two.alpha_, expected_alpha)
    np.testing.assert_allclose(two.beta_, np.array(b0) + np.bincount(arms, 1 - rewards, 3))
    back = Policy.from_state(one.to_json())
    assert isinstance(back, PerArmPriorTS) and back.to_json() == one.to_json()
    np.testing.assert_allclose(one.reset().alpha_, a0)
    with pytest.raises(ValueError, match=r"alpha0\[1\] == -2.0, must be a finite number > 0"):
        PerArmPriorTS(3, alpha0=[1.0, -2.0, 1.0])
    with pytest.raises(ValueError, match=r"beta0 has shape \(2,\)"):
        PerArmPriorTS(3, beta0=[1.0, 2.0])


def test_add_arm_keeps_the_old_posteriors_and_gives_the_new_arm_its_prior():
    old = BetaBernoulliTS(2, alpha0=2.0, beta0=3.0, rng=0).update_many([0, 0, 1], [1.0, 0.0, 1.0])
    before = old.to_json()
    new = add_arm(old, alpha0=6.0, beta0=194.0)
    assert old.to_json() == before  # the running bandit is untouched
    assert new.alpha_.tolist() == [3.0, 3.0, 6.0] and new.beta_.tolist() == [4.0, 3.0, 194.0]
    assert new.alpha0.tolist() == [2.0, 2.0, 6.0]
    newer = add_arm(new, alpha0=1.0, beta0=1.0)
    assert newer.n_arms == 4 and newer.alpha_.tolist() == [3.0, 3.0, 6.0, 1.0]
    new.update(2, 1.0)
    assert new.alpha_[2] == 7.0 and newer.alpha_[2] == 6.0
    with pytest.raises(TypeError, match="policy is of type UCB1, must be a BetaBernoulliTS"):
        add_arm(UCB1(2))
    with pytest.raises(ValueError, match="beta0 == 0.0"):
        add_arm(old, beta0=0.0)


def test_a_strong_optimistic_prior_costs_more_than_a_weak_one_when_the_new_arm_is_bad():
    old_rates = np.array([0.03, 0.05])
    pulls = np.array([1000, 2000])
    a_old = 1 + old_rates * pulls
    b_old = 1 + (1 - old_rates) * pulls
    env = BernoulliBandit([0.03, 0.05, 0.01])  # the new arm is the worst
    policies = {
        name: PerArmPriorTS(3, alpha0=np.append(a_old, a), beta0=np.append(b_old, b))
        for name, (a, b) in {"weak": beta_prior(0.10, 10), "strong": beta_prior(0.10, 1000)}.items()
    }
    res = simulate(policies, env, n_steps=2000, n_runs=200, rng=6)
    weak, strong = (cumulative_regret(res[k])[:, -1] for k in ("weak", "strong"))
    diff = strong - weak
    assert diff.mean() > 4 * se_of_mean(diff)
    # the strong prior needs about as many real observations as its strength to unlearn
    assert np.median((res["strong"].arms == 2).sum(axis=1)) > 500
    assert np.median((res["weak"].arms == 2).sum(axis=1)) < 200


# ---------------------------------------------------------------------------------------
# Segments
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_env():
    return CreditCardEnv(n_customers=2_000, n_history=500, rng=0)


def test_one_segment_is_exactly_the_pooled_bandit(small_env):
    one = with_segments(small_env, np.zeros(2_000, dtype=np.int64), 1)
    pooled = simulate_contextual(
        {"pooled": BetaBernoulliTS(5)}, small_env, n_steps=200, n_runs=5, rng=3
    )
    per = simulate_contextual(
        {"pooled": PerSegment(BetaBernoulliTS(5), 1)}, one, n_steps=200, n_runs=5, rng=3
    )
    np.testing.assert_array_equal(pooled["pooled"].arms, per["pooled"].arms)
    np.testing.assert_array_equal(pooled["pooled"].mean_rewards, per["pooled"].mean_rewards)
    assert small_env.n_segments == 4 and small_env.segments.max() == 3  # the original is untouched


def test_segments_that_miss_the_drivers_cap_what_a_per_segment_bandit_can_reach(small_env):
    # segments by tenure only: the best offer depends on spending, business and balance
    tenure = (small_env.customers["months_as_customer"].to_numpy() >= 48).astype(np.int64)
    coarse = with_segments(small_env, tenure, 2)
    E = small_env.expected
    ceiling = sum((tenure == s).mean() * E[tenure == s].mean(axis=0).max() for s in (0, 1))
    rule = small_env.segments
    rule_ceiling = sum((rule == s).mean() * E[rule == s].mean(axis=0).max() for s in range(4))
    assert ceiling < rule_ceiling - 0.02
    res = simulate_contextual(
        {"coarse": PerSegment(BetaBernoulliTS(5), 2)}, coarse, n_steps=1500, n_runs=100, rng=4
    )
    good = simulate_contextual(
        {"rule": PerSegment(BetaBernoulliTS(5), 4)}, small_env, n_steps=1500, n_runs=100, rng=4
    )
    np.testing.assert_array_equal(
        res["coarse"].mean_rewards, good["rule"].mean_rewards
    )  # same customers
    late = res["coarse"].conversion_rate(start=1000, expected=True)
    assert late.mean() <= ceiling + 4 * se_of_mean(late)
    gain = good["rule"].conversion_rate(start=1000, expected=True) - late
    assert gain.mean() > 4 * se_of_mean(gain)


def test_with_segments_rejects_bad_codes(small_env):
    with pytest.raises(ValueError, match=r"segments has shape \(3,\), must be \(2000,\)"):
        with_segments(small_env, np.zeros(3, dtype=int), 1)
    with pytest.raises(ValueError, match=r"segments contains 5, every code must be in \[0, 1\]"):
        with_segments(small_env, np.full(2_000, 5), 2)
    with pytest.raises(TypeError, match="must hold integer codes"):
        with_segments(small_env, np.zeros(2_000), 1)
    with pytest.raises(TypeError, match=r"^env is of type str, must be a CreditCardEnv\.$"):
        with_segments("env", np.zeros(2_000, dtype=int), 1)


def test_funnel_env_and_simulators_check_their_inputs():
    with pytest.raises(ValueError, match=r"purchase_rates has shape \(1,\), must be \(2,\)"):
        FunnelEnv([0.1, 0.2], [0.5], [10.0, 20.0])
    with pytest.raises(ValueError, match=r"revenue_means\[1\] == 0.0"):
        FunnelEnv([0.1, 0.2], [0.5, 0.5], [10.0, 0.0])
    env = FunnelEnv([0.1, 0.2], [0.5, 0.5], [10.0, 20.0])
    with pytest.raises(
        TypeError,
        match=r"^policies\['x'\] is of type object and has no initial_state, scores, "
        r"update_state, n_arms, must be a 'funnel' policy such as MultiObjectiveTS\.$",
    ):
        simulate_funnel({"x": object()}, env, n_steps=5)
    with pytest.raises(ValueError, match="n_arms == 3, must match env.n_arms == 2"):
        simulate_funnel({"x": MultiObjectiveTS(3)}, env, n_steps=5)
    with pytest.raises(TypeError, match="must be a 'budget' policy such as BudgetedTS"):
        simulate_budget({"ts": BetaBernoulliTS(2)}, BernoulliBandit([0.1, 0.2]))
    with pytest.raises(ValueError, match="n_arms == 3, must match env.n_arms == 2"):
        simulate_budget({"ts": BudgetedTS(3, costs=1.0, budget=5.0)}, BernoulliBandit([0.1, 0.2]))
