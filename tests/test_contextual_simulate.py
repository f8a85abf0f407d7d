"""simulate_contextual: many runs at once, the same customers for every policy, exact beliefs."""

import re
from types import SimpleNamespace

import numpy as np
import pytest

from bandit_lab import (
    BernoulliBandit,
    BetaBernoulliTS,
    CreditCardEnv,
    GaussianLinearPosterior,
    LinearTS,
    LinUCB,
    LogisticTS,
    Oracle,
    PerSegment,
    UniformRandom,
    run_contextual,
    simulate_contextual,
)
from bandit_lab.contextual_simulate import learning_curve, paired_gain, summarize
from bandit_lab.credit_card import CustomerBatch
from bandit_lab.environments import Environment, Step


@pytest.fixture(scope="module")
def env():
    return CreditCardEnv(n_customers=3_000, n_history=1_000, rng=0)


@pytest.fixture(scope="module")
def comparison(env):
    policies = {
        "random": UniformRandom(),
        "one offer": BetaBernoulliTS(5),
        "segments": PerSegment(BetaBernoulliTS(5), 4),
        "linear": LinearTS(5, 11, prior_var=2.0, noise_var=0.05),
        "oracle": Oracle(),
    }
    return simulate_contextual(policies, env, n_steps=1500, n_runs=40, rng=1)


def test_every_policy_faces_the_same_customers(comparison):
    hs = list(comparison.values())
    assert all(h.arms.shape == (40, 1500) and h.n_arms == 5 for h in hs)
    assert all(h.mean_rewards is hs[0].mean_rewards and h.segments is hs[0].segments for h in hs)


def test_the_oracle_is_the_ceiling_and_random_the_floor(comparison):
    oracle, rand = comparison["oracle"], comparison["random"]
    assert np.all(oracle.regret() == 0) and np.all(oracle.optimal_share() == 1)
    # random: the average of all offers' rates, up to the noise of the draws
    conv = rand.conversion_rate()
    target = rand.mean_rewards.mean(axis=(1, 2))
    assert abs((conv - target).mean()) < 4 * (conv - target).std(ddof=1) / np.sqrt(40)
    assert np.all(np.diff(rand.regret(), axis=1) >= 0)


def test_linear_ts_beats_one_offer_for_everyone_by_a_clear_margin(comparison):
    # Paired per-run differences (same customers, same outcomes), second half of the runs.
    gain = comparison["linear"].conversion_rate(start=750, expected=True) - comparison[
        "one offer"
    ].conversion_rate(start=750, expected=True)
    se = gain.std(ddof=1) / np.sqrt(gain.size)
    assert gain.mean() - 4 * se > 0.015, (gain.mean(), se)
    share = comparison["linear"].optimal_share(start=750) - comparison["one offer"].optimal_share(
        start=750
    )
    assert share.mean() - 4 * share.std(ddof=1) / np.sqrt(share.size) > 0.15


def test_same_seed_same_result_and_adding_a_policy_changes_no_other(env):
    a = simulate_contextual({"lin": LinearTS(5, 11)}, env, n_steps=60, n_runs=5, rng=7)
    b = simulate_contextual(
        {"lin": LinearTS(5, 11), "ts": BetaBernoulliTS(5)}, env, n_steps=60, n_runs=5, rng=7
    )
    np.testing.assert_array_equal(a["lin"].arms, b["lin"].arms)
    np.testing.assert_array_equal(a["lin"].rewards, b["lin"].rewards)


class _RecordingEnv(Environment):
    """A tiny environment that remembers the contexts it served (for checking beliefs)."""

    n_arms, n_features, n_segments = 3, 4, 2

    def step(self, t, n_runs, rng):
        batch = self.serve(n_runs, rng)
        return Step(t, batch.expected, self.outcomes(batch, rng), batch.contexts, batch.segments)

    def __init__(self):
        self.served = []

    def serve(self, n, rng):
        X = rng.normal(size=(n, 4))
        X[:, -1] = 1.0
        self.served.append(X)
        expected = np.clip(0.3 + 0.1 * X[:, :3], 0.0, 1.0)
        return CustomerBatch(np.arange(n), X, expected, (X[:, 0] > 0).astype(int))

    def outcomes(self, batch, rng):
        return (rng.random(batch.expected.shape) < batch.expected).astype(float)


def test_vectorised_beliefs_equal_the_closed_form_in_every_run():
    env = _RecordingEnv()
    res = simulate_contextual(
        {
            "lin": LinearTS(3, 4, prior_var=1.5, noise_var=0.2),
            "seg": PerSegment(BetaBernoulliTS(3), 2),
        },
        env,
        n_steps=200,
        n_runs=6,
        rng=3,
    )
    X = np.stack(env.served, axis=1)  # (runs, steps, features)
    lin = res["lin"]
    for r in range(6):
        for k in range(3):
            mine = lin.arms[r] == k
            post = GaussianLinearPosterior.from_data(
                X[r, mine], lin.rewards[r, mine].astype(float), prior_var=1.5, noise_var=0.2
            )
            np.testing.assert_allclose(
                lin.final_state["mean_"][r, k], post.mean, rtol=1e-9, atol=1e-12
            )
            np.testing.assert_allclose(
                lin.final_state["cov_"][r, k], post.cov, rtol=1e-9, atol=1e-14
            )
    seg = res["seg"]
    for r in range(6):
        for s in range(2):
            for k in range(3):
                mine = (seg.segments[r] == s) & (seg.arms[r] == k)
                wins = seg.rewards[r, mine].sum()
                assert seg.final_state["alpha_"][r, s, k] == pytest.approx(1 + wins)
                assert seg.final_state["beta_"][r, s, k] == pytest.approx(1 + mine.sum() - wins)


def test_all_policy_kinds_run_and_logistic_and_linucb_learn(env):
    res = simulate_contextual(
        {"logit": LogisticTS(5, 11), "ucb": LinUCB(5, 11, alpha=0.5), "random": UniformRandom()},
        env,
        n_steps=800,
        n_runs=20,
        rng=2,
    )
    for name in ("logit", "ucb"):
        gain = res[name].conversion_rate(start=400, expected=True) - res["random"].conversion_rate(
            start=400, expected=True
        )
        assert gain.mean() - 4 * gain.std(ddof=1) / np.sqrt(20) > 0.01, name


def test_run_contextual_is_the_textbook_loop_on_the_object(env):
    policy = LinearTS(5, 11, rng=4)
    h = run_contextual(policy, env, n_steps=300, rng=5)
    assert h.arms.shape == (1, 300) and policy.n_obs_.sum() == 300
    np.testing.assert_array_equal(h.final_state["mean_"][0], policy.mean_)
    assert np.all(h.mean_rewards[0].max(axis=1) >= h.expected_rewards[0])


def test_summaries_give_means_with_intervals(comparison):
    table = summarize(comparison)
    assert list(table.index) == list(comparison)
    assert (table["conversion_low"] <= table["conversion"]).all()
    assert (table["conversion"] <= table["conversion_high"]).all()
    assert (
        table.loc["oracle", "best_offer_share"] == 1.0
        and table.loc["oracle", "regret_per_10000"] == 0.0
    )
    mean, low, high = paired_gain(comparison, "oracle", "random", expected=True)
    want = 1e4 * (
        comparison["oracle"].expected_rewards.mean() - comparison["random"].expected_rewards.mean()
    )
    assert low < mean < high and mean == pytest.approx(want, rel=1e-9)
    curve = learning_curve(comparison["linear"], block=100)
    assert curve.shape == (15, 4) and curve["step"].iloc[-1] == 1500
    assert curve["mean"].iloc[-1] > curve["mean"].iloc[0]  # it learns
    best = learning_curve(comparison["oracle"], block=500, metric="best_offer")
    assert (best["mean"] == 1.0).all()


def test_bad_requests_are_refused(env, comparison):
    with pytest.raises(
        ValueError,
        match=re.escape("policies['x'] has n_features == 3, must match env.n_features == 11."),
    ):
        simulate_contextual({"x": LinearTS(5, 3)}, env, n_steps=5)
    with pytest.raises(
        ValueError, match=re.escape("policies['x'] has n_arms == 4, must match env.n_arms == 5.")
    ):
        simulate_contextual({"x": BetaBernoulliTS(4)}, env, n_steps=5)
    with pytest.raises(
        TypeError, match="policies\\['x'\\] is of type str, must be a ContextualPolicy"
    ):
        simulate_contextual({"x": "greedy"}, env, n_steps=5)
    with pytest.raises(ValueError, match="n_segments == 2, must be at least env.n_segments == 4"):
        simulate_contextual({"x": PerSegment(BetaBernoulliTS(5), 2)}, env, n_steps=5)
    with pytest.raises(
        TypeError, match=r"^env is of type object, must be an Environment with contexts"
    ):
        simulate_contextual({"x": Oracle()}, object(), n_steps=5)
    # the environment protocol, not the attributes an object happens to have, decides
    duck = SimpleNamespace(n_arms=5, n_features=11, n_segments=4, step=env.step)
    with pytest.raises(TypeError, match=r"^env is of type SimpleNamespace, must be an Environment"):
        simulate_contextual({"x": Oracle()}, duck, n_steps=5)
    with pytest.raises(
        TypeError,
        match=r"^env is of type BernoulliBandit, must be an Environment with contexts \(n_features >= 1\)",
    ):
        simulate_contextual({"x": Oracle()}, BernoulliBandit([0.1, 0.2]), n_steps=5)
    no_segments = _RecordingEnv()
    no_segments.n_segments = 0
    with pytest.raises(
        ValueError, match=r"^policies\['x'\] is a PerSegment, but env has no segments"
    ):
        simulate_contextual({"x": PerSegment(BetaBernoulliTS(3), 2)}, no_segments, n_steps=5)
    with pytest.raises(ValueError, match=re.escape("n_runs == 0, must be >= 1.")):
        simulate_contextual({"x": Oracle()}, env, n_steps=5, n_runs=0)
    with pytest.raises(
        ValueError, match="metric == 'clicks', must be 'conversion' or 'best_offer'"
    ):
        learning_curve(comparison["linear"], metric="clicks")
    with pytest.raises(ValueError, match="'nobody' is not among the results"):
        paired_gain(comparison, "nobody", "random")
    with pytest.raises(
        TypeError, match="policy is of type BetaBernoulliTS, must be a ContextualPolicy"
    ):
        run_contextual(BetaBernoulliTS(5), env, n_steps=5)
