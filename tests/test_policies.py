"""Policies: input checks, state, randomness, and statistics with known answers."""

import json

import numpy as np
import pytest
from scipy import stats

from bandit_lab import (
    KLUCB,
    UCB1,
    BernoulliBandit,
    BetaBernoulliTS,
    EpsilonGreedy,
    Policy,
    SlidingWindowTS,
    Softmax,
    cumulative_regret,
    run_policy,
    simulate,
)
from bandit_lab._special import bernoulli_kl
from bandit_lab.scores import klucb_scores, ucb1_scores

ALL = [
    lambda **kw: BetaBernoulliTS(3, **kw),
    lambda **kw: EpsilonGreedy(3, epsilon=0.2, **kw),
    lambda **kw: UCB1(3, **kw),
    lambda **kw: Softmax(3, tau=0.1, **kw),
    lambda **kw: KLUCB(3, **kw),
]


def play(policy, rewards_by_arm, n=60):
    arms = []
    for t in range(n):
        a = policy.select()
        policy.update(a, rewards_by_arm[a][t % len(rewards_by_arm[a])])
        arms.append(a)
    return arms


@pytest.mark.parametrize("make", ALL)
def test_same_rng_same_choices_different_rng_differs(make):
    rewards = [[0, 1, 0, 0], [1, 1, 0, 1], [0, 0, 0, 1]]
    a = play(make(rng=7), rewards)
    b = play(make(rng=7), rewards)
    assert a == b
    runs = {tuple(play(make(rng=s), rewards)) for s in range(6)}
    assert len(runs) > 1  # every policy breaks ties at random at least


@pytest.mark.parametrize("make", ALL)
def test_state_round_trips_through_json(make):
    p = make(rng=1)
    play(p, [[0, 1], [1, 1, 0], [0.5]], n=25)
    text = json.dumps(p.get_state())
    q = Policy.from_state(json.loads(text), rng=1)
    assert type(q) is type(p) and q.get_params() == p.get_params()
    for name in p._state_names:
        np.testing.assert_array_equal(getattr(q, name), getattr(p, name))
    assert type(p).from_state(p.to_json()).get_state() == p.get_state()


def test_a_saved_policy_of_any_module_comes_back_in_a_fresh_process():
    # bandit_lab imports some modules only when first used; from_state must not depend on
    # whether the process has used them yet (a service restarting from saved JSON has not).
    import subprocess
    import sys

    from bandit_lab.production import PerArmPriorTS

    saved = PerArmPriorTS(2, alpha0=[1.0, 3.0]).update(1, 1.0).to_json()
    code = (
        "import sys, bandit_lab; p = bandit_lab.Policy.from_state(sys.stdin.read()); "
        "print(type(p).__name__, p.alpha_.tolist())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=saved, capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["PerArmPriorTS", "[1.0,", "4.0]"]  # prior 3 + one success


def test_from_state_refuses_garbage():
    good = BetaBernoulliTS(2).get_state()
    with pytest.raises(ValueError, match="state\\['policy'\\] == 'Nope'"):
        Policy.from_state({**good, "policy": "Nope"})
    with pytest.raises(ValueError, match="shape"):
        Policy.from_state({**good, "state": {"alpha_": [1, 2, 3], "beta_": [1, 1]}})
    with pytest.raises(ValueError, match="format"):
        Policy.from_state({**good, "format": 99})
    with pytest.raises(ValueError, match="== 'BetaBernoulliTS', must be 'UCB1'"):
        UCB1.from_state(good)  # a TS state is not a UCB1
    with pytest.raises(
        ValueError, match="== 'UCB1', must be one of \\['BetaBernoulliTS', 'PerArmPriorTS'\\]"
    ):
        BetaBernoulliTS.from_state({**good, "policy": "UCB1"})  # it or a subclass
    with pytest.raises(ValueError, match="'alpha_'\\] holds a value that is not finite"):
        Policy.from_state({**good, "state": {"alpha_": [1, float("nan")], "beta_": [1, 1]}})
    with pytest.raises(ValueError, match="lacks 'beta_'"):
        Policy.from_state({**good, "state": {"alpha_": [1, 2]}})
    windowed = SlidingWindowTS(2, window=3).get_state()
    windowed["state"]["n_seen_"] = 1.5  # a count of observations
    with pytest.raises(ValueError, match="'n_seen_'\\] holds a fraction"):
        Policy.from_state(windowed)
    with pytest.raises(ValueError, match="state is not valid JSON"):
        Policy.from_state("{not json")


@pytest.mark.parametrize("make", ALL)
@pytest.mark.parametrize(
    "arm, err",
    [(3, ValueError), (-1, ValueError), (1.0, TypeError), ("0", TypeError), (True, TypeError)],
)
def test_unknown_arm_is_refused(make, arm, err):
    with pytest.raises(err, match=r"arm == .*must be an.*arm index in \[0, 2\]"):
        make().update(arm, 1.0)


@pytest.mark.parametrize("make", ALL)
@pytest.mark.parametrize(
    "reward, err",
    [
        (1.5, ValueError),
        (-0.1, ValueError),
        (np.nan, ValueError),
        (np.inf, ValueError),
        ("1", TypeError),
        (None, TypeError),
    ],
)
def test_bad_reward_is_refused_and_state_untouched(make, reward, err):
    p = make()
    before = p.get_state()
    with pytest.raises(err, match="reward == "):
        p.update(0, reward)
    assert p.get_state() == before


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_arms=0), r"n_arms == 0, must be >= 1"),
        (dict(n_arms=2.5), r"n_arms == 2.5 is of type float, must be an integer"),
        (dict(n_arms=2, alpha0=0.0), r"alpha0 == 0.0, must be a finite number > 0"),
        (dict(n_arms=2, beta0=-1), r"beta0 == -1.0, must be a finite number > 0"),
        (dict(n_arms=2, alpha0=float("nan")), r"alpha0 == nan"),
    ],
)
def test_bad_ts_parameters(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        BetaBernoulliTS(**kwargs)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: EpsilonGreedy(2, epsilon=1.2), r"epsilon == 1.2, must be in \[0, 1\]"),
        (lambda: EpsilonGreedy(2, epsilon=-0.1), r"epsilon == -0.1"),
        (lambda: EpsilonGreedy(2, epsilon="a"), r"epsilon == 'a' is of type str"),
        (lambda: Softmax(2, tau=0), r"tau == 0.0, must be a finite number > 0"),
        (lambda: Softmax(2, tau=-1.0), r"tau == -1.0"),
        (lambda: KLUCB(2, c=-1), r"c == -1.0, must be a finite number >= 0"),
        (lambda: UCB1(2, rng="seed"), r"rng == 'seed'"),
    ],
)
def test_bad_hyperparameters(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_update_many_checks_every_pair():
    with pytest.raises(ValueError, match=r"rewards\[1\] == 2.0"):
        BetaBernoulliTS(2).update_many([0, 1], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"arms\[0\] == 5"):
        BetaBernoulliTS(2).update_many([5], [1.0])
    with pytest.raises(ValueError, match="same length"):
        BetaBernoulliTS(2).update_many([0, 1], [1.0])


@pytest.mark.parametrize("cls", [EpsilonGreedy, UCB1, Softmax, KLUCB])
def test_counting_policies_pull_every_arm_once_first(cls):
    for seed in range(5):
        p = cls(4, rng=seed)
        first = []
        for _ in range(4):
            a = p.select()
            first.append(a)
            p.update(a, 1.0)  # a success must not make it stop trying the others
        assert sorted(first) == [0, 1, 2, 3]


def test_epsilon_greedy_selection_frequencies():
    p = EpsilonGreedy(4, epsilon=0.2, rng=3)
    p.update_many([0, 1, 2, 3], [0.1, 0.9, 0.3, 0.2])
    n = 40_000
    freq = np.bincount([p.select() for _ in range(n)], minlength=4) / n
    expect = np.array([0.05, 0.85, 0.05, 0.05])
    assert np.all(np.abs(freq - expect) < 5 * np.sqrt(expect * (1 - expect) / n))


def test_softmax_selection_frequencies():
    p = Softmax(3, tau=0.2, rng=4)
    p.update_many([0, 1, 2, 2], [0.2, 0.5, 1.0, 0.0])  # means 0.2, 0.5, 0.5
    n = 40_000
    freq = np.bincount([p.select() for _ in range(n)], minlength=3) / n
    w = np.exp(np.array([0.2, 0.5, 0.5]) / 0.2)
    expect = w / w.sum()
    assert np.all(np.abs(freq - expect) < 5 * np.sqrt(expect * (1 - expect) / n))


def test_thompson_selection_frequency_is_probability_of_being_best():
    ts = BetaBernoulliTS(2, rng=5)
    ts.update_many([0] * 9 + [1] * 10, [1, 1, 0, 0, 0, 0, 0, 0, 0] + [1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    x = np.linspace(0, 1, 20001)
    p1_best = np.trapezoid(
        stats.beta.pdf(x, ts.alpha_[1], ts.beta_[1]) * stats.beta.cdf(x, ts.alpha_[0], ts.beta_[0]),
        x,
    )
    n = 40_000
    freq = np.mean([ts.select() == 1 for _ in range(n)])
    assert abs(freq - p1_best) < 5 * np.sqrt(p1_best * (1 - p1_best) / n)


def test_ties_are_broken_uniformly():
    p = UCB1(3, rng=0)  # all arms unpulled: all scores +inf
    freq = np.bincount([p.select() for _ in range(30_000)], minlength=3) / 30_000
    assert np.all(np.abs(freq - 1 / 3) < 5 * np.sqrt(2 / 9 / 30_000))


def test_ucb1_index_closed_form():
    counts = np.array([[3.0, 5.0, 0.0]])
    sums = np.array([[1.0, 4.0, 0.0]])
    s = ucb1_scores(counts, sums, counts.sum(-1))
    np.testing.assert_allclose(
        s[0, :2], [1 / 3 + np.sqrt(2 * np.log(8) / 3), 0.8 + np.sqrt(2 * np.log(8) / 5)]
    )
    assert s[0, 2] == np.inf


def test_klucb_index_solves_its_equation():
    rng = np.random.default_rng(2)
    counts = rng.integers(1, 500, size=(200, 4)).astype(float)
    sums = counts * rng.random((200, 4)) ** 2
    sums[:5] = 0.0
    sums[5:10] = counts[5:10]
    t = counts.sum(-1)
    q = klucb_scores(counts, sums, t)
    p = sums / counts
    level = np.log(t)[:, None] / counts
    assert np.all(q >= p - 1e-12) and np.all(q <= 1)
    kl = counts * bernoulli_kl(p, q)
    interior = q < 1 - 1e-9
    np.testing.assert_allclose(kl[interior], np.log(t)[:, None].repeat(4, 1)[interior], rtol=1e-6)
    # q is the *largest* such value: a little further up breaks the constraint
    assert np.all(bernoulli_kl(p, np.minimum(q + 1e-6, 1 - 1e-15))[interior] > level[interior])


def test_uniform_exploration_has_the_known_regret():
    # epsilon = 1 is a uniformly random policy: expected regret per step = mean gap
    rates = [0.2, 0.5, 0.7]
    T, R = 400, 400
    h = simulate(EpsilonGreedy(3, epsilon=1.0), BernoulliBandit(rates), n_steps=T, n_runs=R, rng=11)
    final = cumulative_regret(h)[:, -1]
    expect = T * np.mean(0.7 - np.array(rates))
    assert abs(final.mean() - expect) < 4 * final.std(ddof=1) / np.sqrt(R)


@pytest.mark.slow  # tens of seconds: left out of the fast lane
def test_vectorised_simulator_agrees_with_the_step_by_step_objects():
    rates = [0.3, 0.5, 0.6]
    T, R = 150, 200
    env = BernoulliBandit(rates)
    for make in (lambda s: BetaBernoulliTS(3, rng=s), lambda s: UCB1(3, rng=s)):
        vec = cumulative_regret(simulate(make(None), env, n_steps=T, n_runs=R, rng=1))[:, -1]
        loop = np.array(
            [
                cumulative_regret(run_policy(make(100 + r), env, n_steps=T, rng=r))[0, -1]
                for r in range(R)
            ]
        )
        se = np.sqrt(vec.var(ddof=1) / R + loop.var(ddof=1) / R)
        assert abs(vec.mean() - loop.mean()) < 4 * se


def test_thompson_beats_ucb1_and_stays_near_the_log_bound():
    # Known from the literature (Chapelle & Li 2011; Kaufmann et al. 2012): on Bernoulli
    # arms TS is asymptotically optimal and UCB1 is not; at T = 3000 the gap is large.
    from bandit_lab import lai_robbins_constant

    rates = [0.1, 0.2, 0.3]
    T, R = 3000, 200
    res = simulate(
        {"TS": BetaBernoulliTS(3), "UCB1": UCB1(3)},
        BernoulliBandit(rates),
        n_steps=T,
        n_runs=R,
        rng=3,
    )
    ts = cumulative_regret(res["TS"])[:, -1]
    ucb = cumulative_regret(res["UCB1"])[:, -1]
    se = np.sqrt(ts.var(ddof=1) / R + ucb.var(ddof=1) / R)
    assert ucb.mean() - ts.mean() > 4 * se
    # TS regret is of the order of the Lai-Robbins constant times log T (within a factor 2)
    bound = lai_robbins_constant(rates) * np.log(T)
    assert 0.3 * bound < ts.mean() < 2.0 * bound


def test_policies_learn_the_best_arm():
    rates = [0.1, 0.15, 0.6]
    env = BernoulliBandit(rates)
    pols = {
        "ts": BetaBernoulliTS(3),
        "eps": EpsilonGreedy(3, epsilon=0.05),
        "ucb": UCB1(3),
        "soft": Softmax(3, tau=0.05),
        "kl": KLUCB(3),
    }
    res = simulate(pols, env, n_steps=1500, n_runs=100, rng=4)
    for name, h in res.items():
        late = h.arms[:, -300:]
        assert (late == 2).mean() > 0.85, name


def test_argmax_one_is_argmax_random_for_one_row():
    # a policy object's select takes scores.argmax_one, the simulator argmax_random: the
    # same choice from the same stream, ties (drawn at random) included, few arms or many
    from bandit_lab.scores import argmax_one, argmax_random

    rng = np.random.default_rng(0)
    for n_arms in (1, 2, 5, 64, 65, 300):
        for _ in range(50):
            scores = rng.integers(0, 3, size=n_arms).astype(float)  # many ties
            a, b = np.random.default_rng(7), np.random.default_rng(7)
            one = argmax_one(scores, a)
            assert isinstance(one, int)
            assert one == int(argmax_random(scores, b))
            assert a.random() == b.random()  # the streams moved alike
