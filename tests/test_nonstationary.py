"""Forgetful Thompson sampling, changing environments, delayed and batched feedback."""

import numpy as np
import pytest

from bandit_lab import (
    BernoulliBandit,
    BetaBernoulliTS,
    DiscountedTS,
    Policy,
    ScheduledBernoulliBandit,
    SlidingWindowTS,
    cumulative_regret,
    geometric_delay,
    simulate,
)


def random_feedback(seed, n, k=3):
    rng = np.random.default_rng(seed)
    arms = rng.integers(0, k, n)
    rewards = rng.random(n)
    rewards = np.where(rng.random(n) < 0.5, np.round(rewards), rewards)
    return arms, rewards


@pytest.mark.parametrize("window", [1, 7, 50])
def test_sliding_window_counts_exactly_the_last_window(window):
    arms, rewards = random_feedback(1, 120)
    sw = SlidingWindowTS(3, window=window, alpha0=2.0, beta0=0.5)
    for i, (a, r) in enumerate(zip(arms, rewards)):
        sw.update(int(a), float(r))
        lo = max(0, i + 1 - window)
        last_a, last_r = arms[lo : i + 1], rewards[lo : i + 1]
        np.testing.assert_allclose(
            sw.successes_, np.bincount(last_a, last_r, minlength=3), atol=1e-9
        )
        np.testing.assert_allclose(
            sw.failures_, np.bincount(last_a, 1 - last_r, minlength=3), atol=1e-9
        )
    post = sw.posterior()
    np.testing.assert_allclose(post.alpha, 2.0 + sw.successes_, atol=1e-9)


def test_discounted_matches_its_closed_form():
    arms, rewards = random_feedback(2, 80)
    g = 0.9
    d = DiscountedTS(3, gamma=g).update_many(arms, rewards)
    w = g ** np.arange(79, -1, -1)  # the last observation has weight 1
    np.testing.assert_allclose(
        d.successes_, np.bincount(arms, w * rewards, minlength=3), rtol=1e-12
    )
    np.testing.assert_allclose(
        d.failures_, np.bincount(arms, w * (1 - rewards), minlength=3), rtol=1e-12
    )
    plain = DiscountedTS(3, gamma=1.0).update_many(arms, rewards)
    np.testing.assert_allclose(plain.successes_, np.bincount(arms, rewards, minlength=3))


@pytest.mark.parametrize(
    "make", [lambda: SlidingWindowTS(3, window=9), lambda: DiscountedTS(3, gamma=0.8)]
)
def test_vectorised_state_equals_one_object_per_run(make):
    config = make()
    n_runs, T = 6, 40
    rng = np.random.default_rng(3)
    arms = rng.integers(0, 3, (T, n_runs))
    rewards = np.round(rng.random((T, n_runs)))
    state = config.initial_state((n_runs,))
    for t in range(T):
        config.update_state(state, arms[t], rewards[t])
    for r in range(n_runs):
        one = make().update_many(arms[:, r], rewards[:, r])
        for name in one._state_names:
            np.testing.assert_allclose(state[name][r], getattr(one, name))


def test_state_round_trips():
    sw = SlidingWindowTS(3, window=4).update_many([0, 1, 2, 0, 1], [1, 0, 1, 1, 0])
    back = Policy.from_state(sw.to_json())
    assert back.get_state() == sw.get_state()
    assert (
        DiscountedTS.from_state(DiscountedTS(2, gamma=0.5).update(1, 1.0).get_state()).successes_[1]
        == 1.0
    )


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: SlidingWindowTS(2, window=0), r"window == 0, must be >= 1"),
        (lambda: SlidingWindowTS(2, window=2.5), r"window == 2.5 is of type float"),
        (lambda: DiscountedTS(2, gamma=0.0), r"gamma == 0.0, must be in \(0, 1\]"),
        (lambda: DiscountedTS(2, gamma=1.5), r"gamma == 1.5"),
        (lambda: SlidingWindowTS(2, alpha0=0), r"alpha0 == 0.0"),
        (lambda: ScheduledBernoulliBandit([[0.1, 1.2]]), r"schedule\[0, 1\] == 1.2"),
        (
            lambda: ScheduledBernoulliBandit.piecewise([[0.1], [0.2]], change_points=[], n_steps=5),
            "one change point fewer",
        ),
        (
            lambda: ScheduledBernoulliBandit.piecewise(
                [[0.1], [0.2]], change_points=[9], n_steps=5
            ),
            r"change_points == \[9\]",
        ),
    ],
)
def test_bad_inputs(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


@pytest.mark.slow  # tens of seconds: left out of the fast lane
def test_forgetting_recovers_after_a_change_faster_than_plain_ts():
    # The source's Exercise 1 world: arm 0 best for the first half, arm 1 after.
    T, R = 4000, 100
    env = ScheduledBernoulliBandit.piecewise(
        [[0.6, 0.4, 0.3], [0.3, 0.6, 0.3]], change_points=[T // 2], n_steps=T
    )
    res = simulate(
        {
            "TS": BetaBernoulliTS(3),
            "SW": SlidingWindowTS(3, window=400),
            "D": DiscountedTS(3, gamma=0.99),
        },
        env,
        n_steps=T,
        n_runs=R,
        rng=5,
    )
    after = {
        k: (cumulative_regret(h)[:, -1] - cumulative_regret(h)[:, T // 2 - 1])
        for k, h in res.items()
    }
    for k in ("SW", "D"):
        diff = after["TS"] - after[k]
        assert diff.mean() > 4 * diff.std(ddof=1) / np.sqrt(R), k
    # ... and in a world that does not change, forgetting costs something
    still = simulate(
        {"TS": BetaBernoulliTS(3), "SW": SlidingWindowTS(3, window=400)},
        BernoulliBandit([0.6, 0.4, 0.3]),
        n_steps=T,
        n_runs=R,
        rng=6,
    )
    diff = cumulative_regret(still["SW"])[:, -1] - cumulative_regret(still["TS"])[:, -1]
    assert diff.mean() > 4 * diff.std(ddof=1) / np.sqrt(R)


class Spy(Policy):
    """Records when rewards reach it: the step (counted by select calls) and how many."""

    _state_names = ("counts_",)

    def initial_state(self, shape=()):
        self.log = []
        self.step = -1
        return {"counts_": np.zeros(tuple(shape) + (self.n_arms,))}

    def scores(self, state, rng):
        self.step += 1
        return rng.random(state["counts_"].shape)

    def update_state(self, state, arms, rewards, runs=None):
        runs_ = np.arange(len(arms)) if runs is None else np.asarray(runs)
        assert np.unique(runs_).size == runs_.size, "a run updated twice in one call"
        self.log.append((self.step, runs_.size))
        state["counts_"][runs_, arms] += 1


@pytest.mark.parametrize("delay, every", [(0, 1), (3, 1), (0, 5), (4, 5), (7, 3)])
def test_fixed_delays_and_batches_arrive_exactly_when_due(delay, every):
    spy = Spy(2)
    n_runs, T = 4, 30
    simulate(
        spy,
        BernoulliBandit([0.5, 0.5]),
        n_steps=T,
        n_runs=n_runs,
        rng=0,
        delay=delay,
        update_every=every,
    )
    received = {}
    for step, n in spy.log:
        received[step] = received.get(step, 0) + n
    for t in range(T):
        got = sum(n for s, n in received.items() if s <= t)
        # decisions 0..t-delay have arrived; they are applied at the end of each batch
        last_update = (t + 1) // every * every - 1
        expect = n_runs * max(0, last_update - delay + 1)
        assert got == expect, (t, got, expect)


def test_random_delays_deliver_every_reward_due_within_the_horizon_once():
    spy = Spy(3)
    n_runs, T = 50, 200
    delays = geometric_delay(10.0)
    simulate(spy, BernoulliBandit([0.2, 0.5, 0.7]), n_steps=T, n_runs=n_runs, rng=1, delay=delays)
    total = sum(n for _, n in spy.log)
    rng = np.random.default_rng(1).spawn(2)[0].spawn(1)[0]  # the simulator's delay stream
    d = np.stack([delays(rng, n_runs) for _ in range(T)])
    arrived = (np.arange(T)[:, None] + d) <= T - 1
    assert total == arrived.sum()


def test_no_feedback_means_no_learning():
    # With every reward delayed past the horizon TS never updates: it picks uniformly, and
    # its expected regret per step is the mean gap.
    rates = np.array([0.2, 0.5, 0.8])
    T, R = 300, 300
    h = simulate(BetaBernoulliTS(3), BernoulliBandit(rates), n_steps=T, n_runs=R, rng=2, delay=T)
    final = cumulative_regret(h)[:, -1]
    assert abs(final.mean() - T * np.mean(0.8 - rates)) < 4 * final.std(ddof=1) / np.sqrt(R)


def test_bad_delay_arguments():
    env = BernoulliBandit([0.5, 0.5])
    with pytest.raises(ValueError, match="delay == -1, must be >= 0"):
        simulate(BetaBernoulliTS(2), env, n_steps=5, delay=-1)
    with pytest.raises(TypeError, match="delay == 1.5 is of type float"):
        simulate(BetaBernoulliTS(2), env, n_steps=5, delay=1.5)
    with pytest.raises(ValueError, match="update_every == 0, must be >= 1"):
        simulate(BetaBernoulliTS(2), env, n_steps=5, update_every=0)
    with pytest.raises(ValueError, match="delay function returned"):
        simulate(BetaBernoulliTS(2), env, n_steps=5, n_runs=3, delay=lambda rng, n: np.full(n, -2))
    with pytest.raises(ValueError, match=r"mean == 0.0, must be a finite number > 0"):
        geometric_delay(0.0)


def test_scheduled_bandit_has_no_single_best_arm():
    env = ScheduledBernoulliBandit.piecewise(
        [[0.6, 0.4], [0.3, 0.7]], change_points=[10], n_steps=20
    )
    assert env.best_arm_at(9) == 0 and env.best_arm_at(10) == 1 and env.best_arm_at(500) == 1
    with pytest.raises(AttributeError, match="best_arm_at"):
        _ = env.best_arm
    with pytest.raises(TypeError, match="n_steps == 2.5 is of type float"):
        ScheduledBernoulliBandit.seasonal([0.5], amplitude=0.1, period=10, n_steps=2.5)


def test_long_random_delays_deliver_in_decision_order_per_run():
    # A policy whose state is the sequence of rewards it saw per run: with delays, a run's
    # rewards that arrive together must come oldest first.
    class Recorder(Spy):
        def update_state(self, state, arms, rewards, runs=None):
            super().update_state(state, arms, rewards, runs)
            runs_ = np.arange(len(arms)) if runs is None else np.asarray(runs)
            self.seen.extend(zip(runs_.tolist(), [self.step] * len(runs_)))

    rec = Recorder(2)
    rec.seen = []
    simulate(
        rec,
        BernoulliBandit([0.5, 0.5]),
        n_steps=300,
        n_runs=20,
        rng=3,
        delay=geometric_delay(40.0),
        update_every=7,
    )
    total = sum(n for _, n in rec.log)
    assert total == len(rec.seen) > 3000
