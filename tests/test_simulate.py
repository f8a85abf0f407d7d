"""The vectorised simulator, environments, metrics and rng handling."""

import numpy as np
import pytest

from bandit_lab import (
    UCB1,
    BernoulliBandit,
    BetaBernoulliTS,
    EpsilonGreedy,
    History,
    arm_shares,
    cumulative_regret,
    lai_robbins_constant,
    simulate,
)
from bandit_lab._rng import resolve_rng


def test_shapes_and_history_fields():
    res = simulate(
        {"TS": BetaBernoulliTS(5), "UCB1": UCB1(5)},
        BernoulliBandit([0.030, 0.045, 0.028, 0.015, 0.060]),
        n_steps=120,
        n_runs=7,
        rng=42,
    )
    h = res["TS"]
    assert h.arms.shape == h.rewards.shape == (7, 120)
    assert h.mean_rewards.shape == (7, 120, 5)  # the one history protocol: runs, steps, arms
    assert h.best_rewards.shape == h.expected_rewards.shape == (7, 120)
    assert set(np.unique(h.rewards)) <= {0.0, 1.0}
    assert h.arm_counts().sum(axis=1).tolist() == [120] * 7
    np.testing.assert_allclose(
        h.expected_rewards, np.array([0.030, 0.045, 0.028, 0.015, 0.060])[h.arms]
    )
    np.testing.assert_allclose(h.best_rewards, 0.060)
    assert cumulative_regret(h).shape == (7, 120)


def test_same_seed_same_history_different_seed_differs():
    env = BernoulliBandit([0.2, 0.4, 0.5])
    a = simulate(BetaBernoulliTS(3), env, n_steps=200, n_runs=20, rng=5)
    b = simulate(BetaBernoulliTS(3), env, n_steps=200, n_runs=20, rng=5)
    c = simulate(BetaBernoulliTS(3), env, n_steps=200, n_runs=20, rng=6)
    np.testing.assert_array_equal(a.arms, b.arms)
    np.testing.assert_array_equal(a.rewards, b.rewards)
    assert not np.array_equal(a.arms, c.arms)


def test_every_policy_faces_the_same_outcomes():
    env = BernoulliBandit([0.3, 0.5, 0.4, 0.45])
    res = simulate(
        {"TS": BetaBernoulliTS(4), "eps": EpsilonGreedy(4, epsilon=0.3), "UCB1": UCB1(4)},
        env,
        n_steps=300,
        n_runs=50,
        rng=9,
    )
    names = list(res)
    compared = 0
    for i, x in enumerate(names):
        for y in names[i + 1 :]:
            same = res[x].arms == res[y].arms
            compared += same.sum()
            np.testing.assert_array_equal(res[x].rewards[same], res[y].rewards[same])
    assert compared > 1000


def test_adding_a_policy_changes_none_of_the_others():
    env = BernoulliBandit([0.3, 0.5])
    alone = simulate({"TS": BetaBernoulliTS(2)}, env, n_steps=100, n_runs=10, rng=1)
    pair = simulate({"TS": BetaBernoulliTS(2), "UCB1": UCB1(2)}, env, n_steps=100, n_runs=10, rng=1)
    np.testing.assert_array_equal(alone["TS"].arms, pair["TS"].arms)


def test_simulate_leaves_the_policy_objects_untouched():
    ts = BetaBernoulliTS(2, alpha0=2.0)
    before = ts.get_state()
    simulate(ts, BernoulliBandit([0.1, 0.9]), n_steps=50, n_runs=3, rng=0)
    assert ts.get_state() == before


def test_priors_are_used_by_the_simulator():
    # A confident wrong prior (arm 0 looks great) must slow TS down compared with a flat one.
    env = BernoulliBandit([0.2, 0.6])
    res = simulate(
        {"flat": BetaBernoulliTS(2), "wrong": BetaBernoulliTS(2, alpha0=1.0, beta0=1.0)},
        env,
        n_steps=10,
        n_runs=5,
        rng=0,
    )
    assert res["flat"].arms.shape == (5, 10)
    strong = BetaBernoulliTS(2, alpha0=50.0, beta0=1.0)
    h = simulate(strong, env, n_steps=60, n_runs=200, rng=3)
    flat = simulate(BetaBernoulliTS(2), env, n_steps=60, n_runs=200, rng=3)
    assert cumulative_regret(h)[:, -1].mean() > cumulative_regret(flat)[:, -1].mean() + 2


def test_list_of_policies_and_progress_bar(capsys):
    res = simulate(
        [BetaBernoulliTS(2), BetaBernoulliTS(2)],
        BernoulliBandit([0.1, 0.2]),
        n_steps=30,
        n_runs=2,
        rng=0,
        progress=True,
    )
    assert len(res) == 2


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(n_steps=0), ValueError, "n_steps == 0, must be >= 1"),
        (dict(n_steps=10, n_runs=0), ValueError, "n_runs == 0, must be >= 1"),
        (dict(n_steps=10.0), TypeError, "n_steps == 10.0 is of type float"),
        (dict(n_steps=10, rng=-3), ValueError, "rng == -3"),
    ],
)
def test_bad_simulation_sizes(kwargs, err, match):
    with pytest.raises(err, match=match):
        simulate(BetaBernoulliTS(2), BernoulliBandit([0.1, 0.2]), **kwargs)


def test_bad_policies_and_environments():
    env = BernoulliBandit([0.1, 0.2])
    with pytest.raises(
        ValueError, match=r"policies\['x'\] has n_arms == 3, must match env.n_arms == 2"
    ):
        simulate({"x": UCB1(3)}, env, n_steps=5)
    with pytest.raises(TypeError, match=r"policies\['x'\] is of type str"):
        simulate({"x": "UCB1"}, env, n_steps=5)
    with pytest.raises(ValueError, match="policies is empty"):
        simulate({}, env, n_steps=5)
    with pytest.raises(TypeError, match="env is of type list"):
        simulate(UCB1(2), [0.1, 0.2], n_steps=5)


@pytest.mark.parametrize(
    "rates, match",
    [
        ([0.1, 1.2], r"rates\[1\] == 1.2, must be in \[0, 1\]"),
        ([0.1, np.nan], r"rates\[1\] == nan"),
        ([], r"rates has shape \(0,\)"),
        ([[0.1, 0.2]], r"rates has shape \(1, 2\)"),
    ],
)
def test_bad_rates(rates, match):
    with pytest.raises(ValueError, match=match):
        BernoulliBandit(rates)


def test_environment_pull_is_reproducible_and_has_the_right_rate():
    a = BernoulliBandit([0.3, 0.7], rng=4)
    b = BernoulliBandit([0.3, 0.7], rng=4)
    pa = [a.pull(1) for _ in range(4000)]
    assert pa == [b.pull(1) for _ in range(4000)]
    assert abs(np.mean(pa) - 0.7) < 5 * np.sqrt(0.21 / 4000)
    with pytest.raises(ValueError, match=r"arm == 2, must be an arm index in \[0, 1\]"):
        a.pull(2)


def test_cumulative_regret_by_hand():
    means = np.tile([0.1, 0.5, 0.3], (4, 1))
    h = History(
        arms=np.array([[1, 0, 2, 1], [0, 0, 0, 0]]),
        rewards=np.zeros((2, 4), np.float32),
        mean_rewards=means,
    )
    np.testing.assert_allclose(cumulative_regret(h), [[0.0, 0.4, 0.6, 0.6], [0.4, 0.8, 1.2, 1.6]])
    np.testing.assert_allclose(arm_shares(h), [[0.25, 0.5, 0.25], [1.0, 0.0, 0.0]])


def test_lai_robbins_constant_by_hand():
    def kl(p, q):
        return p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))

    mu = [0.1, 0.2, 0.9]
    expect = (0.8 / kl(0.1, 0.9)) + (0.7 / kl(0.2, 0.9))
    assert lai_robbins_constant(mu) == pytest.approx(expect, rel=1e-12)
    assert lai_robbins_constant([0.5, 0.5]) == 0.0
    assert lai_robbins_constant([0.0, 0.5]) == pytest.approx(0.5 / np.log(2))
    with pytest.raises(ValueError, match=r"means\[1\] == 1.5"):
        lai_robbins_constant([0.1, 1.5])


def test_rng_resolution():
    g = np.random.default_rng(1)
    assert resolve_rng(g) is g
    assert resolve_rng(3).random() == np.random.default_rng(3).random()
    with pytest.raises(TypeError, match="rng == True"):
        resolve_rng(True)
    with pytest.raises(TypeError, match="rng == 1.5"):
        resolve_rng(1.5)
