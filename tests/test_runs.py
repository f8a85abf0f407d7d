"""The one run loop, the history and environment protocols, and where the blocks of runs go.

Results must not depend on the executor nor on how many workers it has: the blocks carry
their own streams. The cluster tests start real worker processes (marked slow).
"""

import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from bandit_lab import (
    SOURCE_RATES,
    UCB1,
    BernoulliBandit,
    BetaBernoulliTS,
    BudgetedTS,
    CreditCardEnv,
    EpsilonGreedy,
    FunnelEnv,
    History,
    LinearTS,
    MultiObjectiveTS,
    Oracle,
    PerSegment,
    arm_shares,
    cumulative_regret,
    explore_then_commit,
    geometric_delay,
    learning_curve,
    simulate,
    simulate_budget,
    simulate_contextual,
    simulate_funnel,
    summarize,
)


def _same(a, b):
    """Two dicts of histories hold the same arrays."""
    assert a.keys() == b.keys()
    for name in a:
        for field in ("arms", "rewards", "mean_rewards", "propensities", "segments"):
            x, y = getattr(a[name], field), getattr(b[name], field)
            assert (x is None) == (y is None), field
            if x is not None:
                np.testing.assert_array_equal(x, y, err_msg=f"{name}.{field}")


def _policies():
    return {"TS": BetaBernoulliTS(5), "UCB1": UCB1(5), "eps": EpsilonGreedy(5, epsilon=0.1)}


ENV = BernoulliBandit(SOURCE_RATES)


def test_blocks_give_the_same_result_on_any_executor():
    local = simulate(
        _policies(),
        ENV,
        n_steps=60,
        n_runs=25,
        rng=3,
        block_runs=7,
        delay=geometric_delay(3.0),
        update_every=2,
    )
    with ThreadPoolExecutor(3) as pool:
        threads = simulate(
            _policies(),
            ENV,
            n_steps=60,
            n_runs=25,
            rng=3,
            block_runs=7,
            delay=geometric_delay(3.0),
            update_every=2,
            executor=pool,
        )
    _same(local, threads)
    assert local["TS"].n_runs == 25


def test_one_block_keeps_the_streams_of_an_unsplit_simulation():
    whole = simulate(_policies(), ENV, n_steps=40, n_runs=30, rng=5)
    also_whole = simulate(_policies(), ENV, n_steps=40, n_runs=30, rng=5, block_runs=30)
    split = simulate(_policies(), ENV, n_steps=40, n_runs=30, rng=5, block_runs=10)
    _same(whole, also_whole)
    # blocks have streams of their own: a different (equally valid) sample
    assert not np.array_equal(whole["TS"].arms, split["TS"].arms)


def test_every_simulator_takes_the_executor_option():
    env = CreditCardEnv(n_customers=500, n_history=200, rng=0)
    pols = {"lin": LinearTS(5, 11), "seg": PerSegment(BetaBernoulliTS(5), 4), "oracle": Oracle()}
    with ThreadPoolExecutor(2) as pool:
        for run in (
            lambda ex: simulate_contextual(
                pols,
                env,
                n_steps=20,
                n_runs=9,
                rng=1,
                block_runs=4,
                executor=ex,
                record_propensities=True,
            ),
            lambda ex: simulate_funnel(
                {"mo": MultiObjectiveTS(3)},
                FunnelEnv([0.1, 0.05, 0.08], [0.2, 0.5, 0.3], [50, 80, 60]),
                n_steps=20,
                n_runs=9,
                rng=2,
                block_runs=4,
                executor=ex,
            ),
            lambda ex: simulate_budget(
                {"b": BudgetedTS(2, costs=[1.0, 2.0], budget=15.0)},
                BernoulliBandit([0.05, 0.08]),
                n_runs=9,
                rng=3,
                block_runs=4,
                executor=ex,
            ),
            lambda ex: {
                "etc": explore_then_commit(
                    ENV, n_test=10, n_steps=30, n_runs=9, rng=4, block_runs=4, executor=ex
                )
            },
        ):
            _same(run(None), run(pool))


def test_histories_pickle_without_repeating_the_truth():
    h = simulate(BetaBernoulliTS(5), ENV, n_steps=2000, n_runs=500, rng=0)
    assert h.mean_rewards.shape == (500, 2000, 5)
    assert len(pickle.dumps(h)) < 2 * (h.arms.nbytes + h.rewards.nbytes) + 200_000
    back = pickle.loads(pickle.dumps(h))
    np.testing.assert_array_equal(back.mean_rewards, h.mean_rewards)


def test_metrics_work_on_every_history():
    env = CreditCardEnv(n_customers=500, n_history=200, rng=0)
    histories = [
        simulate(BetaBernoulliTS(5), ENV, n_steps=50, n_runs=6, rng=1),
        explore_then_commit(ENV, n_test=10, n_steps=50, n_runs=6, rng=1),
        simulate_contextual({"lin": LinearTS(5, 11)}, env, n_steps=50, n_runs=6, rng=1)["lin"],
        simulate_funnel(
            {"mo": MultiObjectiveTS(2)},
            FunnelEnv([0.1, 0.05], [0.2, 0.5], [50, 80]),
            n_steps=50,
            n_runs=6,
            rng=1,
        )["mo"],
        simulate_budget(
            {"b": BudgetedTS(2, costs=[1.0, 2.0], budget=20.0)},
            BernoulliBandit([0.05, 0.08]),
            n_runs=6,
            rng=1,
        )["b"],
    ]
    for h in histories:
        assert isinstance(h, History)
        n_runs, n_steps = h.arms.shape
        assert h.mean_rewards.shape == (n_runs, n_steps, h.n_arms)
        for attr in ("rewards", "expected_rewards", "best_rewards"):
            assert getattr(h, attr).shape == (n_runs, n_steps), attr
        reg = cumulative_regret(h)
        assert reg.shape == (n_runs, n_steps) and np.array_equal(reg, h.regret())
        assert (np.diff(reg, axis=1) >= -1e-12).all()  # pseudo-regret never decreases
        shares = arm_shares(h)
        np.testing.assert_allclose(shares.sum(axis=1), 1.0)
        assert learning_curve(h, block=10).shape[0] == n_steps // 10
        assert list(summarize({"x": h}).index) == ["x"]


def test_metrics_refuse_what_is_not_a_history():
    with pytest.raises(
        TypeError, match="history is of type dict and has no 'arms', must be a History"
    ):
        cumulative_regret({"arms": [[0]]})


def test_recorded_propensities_are_those_of_the_state_at_decision_time():
    h = simulate(
        {"TS": BetaBernoulliTS(3), "eps": EpsilonGreedy(3, epsilon=0.3)},
        BernoulliBandit([0.2, 0.5, 0.6]),
        n_steps=30,
        n_runs=4,
        rng=2,
        record_propensities=True,
    )
    assert h["TS"].propensities.shape == (4, 30)
    np.testing.assert_allclose(h["TS"].propensities[:, 0], 1 / 3)  # a fresh uniform prior
    eps = h["eps"].propensities
    assert np.all((eps > 0) & (eps <= 1))
    # replay run 0 of epsilon-greedy with an object: same probabilities step by step
    policy = EpsilonGreedy(3, epsilon=0.3)
    for t in range(30):
        assert policy.propensities()[h["eps"].arms[0, t]] == pytest.approx(eps[0, t])
        policy.update(int(h["eps"].arms[0, t]), float(h["eps"].rewards[0, t]))
    assert (
        simulate(UCB1(3), BernoulliBandit([0.2, 0.5, 0.6]), n_steps=5, n_runs=2, rng=0).propensities
        is None
    )


def test_recorded_contexts_are_the_customers_served():
    env = CreditCardEnv(n_customers=500, n_history=200, rng=0)
    res = simulate_contextual(
        {"lin": LinearTS(5, 11), "one": BetaBernoulliTS(5)},
        env,
        n_steps=20,
        n_runs=3,
        rng=1,
        record_contexts=True,
        record_propensities=True,
    )
    X = res["lin"].contexts
    assert X.shape == (3, 20, 11) and res["one"].contexts is X
    assert set(map(tuple, X.reshape(-1, 11).round(12))) <= set(map(tuple, env.contexts.round(12)))
    p = res["lin"].propensities
    assert p.shape == (3, 20) and np.all((p > 0) & (p <= 1))
    assert (
        simulate_contextual({"lin": LinearTS(5, 11)}, env, n_steps=5, n_runs=2, rng=1)[
            "lin"
        ].contexts
        is None
    )


def test_a_policy_with_its_own_rng_is_refused_by_every_simulator():
    with pytest.raises(ValueError, match=r"policies\['TS'\] has its own rng == 0, must be None"):
        simulate({"TS": BetaBernoulliTS(5, rng=0)}, ENV, n_steps=5, rng=1)
    env = CreditCardEnv(n_customers=500, n_history=200, rng=0)
    with pytest.raises(ValueError, match="has its own rng"):
        simulate_contextual({"lin": LinearTS(5, 11, rng=3)}, env, n_steps=5, rng=1)


def test_a_policy_of_another_family_is_sent_to_its_simulator():
    with pytest.raises(TypeError, match="a 'budget' policy: simulate runs 'index' policies"):
        simulate({"b": BudgetedTS(5, costs=1.0, budget=10.0)}, ENV, n_steps=5)


def test_per_call_streams_never_reseed():
    env = CreditCardEnv(n_customers=500, n_history=200, rng=0)
    gen = np.random.default_rng(0)
    first, second = env.serve(3, gen), env.serve(3, gen)
    assert not np.array_equal(first.index, second.index)
    with pytest.raises(
        TypeError, match=r"rng == 0 is an integer seed, but CreditCardEnv.serve\(\)"
    ):
        env.serve(3, 0)
    with pytest.raises(TypeError, match="is called again and again"):
        ENV.step(0, 3, 7)
    bitgen = np.random.PCG64(4)
    a = ENV.step(0, 5, bitgen).outcome
    assert not np.array_equal(a, ENV.step(0, 5, bitgen).outcome)  # the same stream, moving on
    assert np.array_equal(a, ENV.step(0, 5, np.random.default_rng(4)).outcome)


def _cluster_available():
    return pytest.importorskip("distributed")


@pytest.mark.slow
def test_a_simulation_on_a_dask_cluster_equals_the_local_one():
    distributed = _cluster_available()
    local = simulate(
        _policies(), ENV, n_steps=100, n_runs=60, rng=11, block_runs=20, delay=geometric_delay(2.0)
    )
    ctx_env = CreditCardEnv(n_customers=800, n_history=300, rng=0)
    ctx = {"lin": LinearTS(5, 11), "seg": PerSegment(BetaBernoulliTS(5), 4)}
    ctx_local = simulate_contextual(ctx, ctx_env, n_steps=30, n_runs=10, rng=2, block_runs=4)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster) as client:
            _same(
                local,
                simulate(
                    _policies(),
                    ENV,
                    n_steps=100,
                    n_runs=60,
                    rng=11,
                    block_runs=20,
                    delay=geometric_delay(2.0),
                    executor=client,
                ),
            )
            _same(
                ctx_local,
                simulate_contextual(
                    ctx, ctx_env, n_steps=30, n_runs=10, rng=2, block_runs=4, executor=client
                ),
            )
        # a scheduler address: a client is connected for the call
        _same(
            local,
            simulate(
                _policies(),
                ENV,
                n_steps=100,
                n_runs=60,
                rng=11,
                block_runs=20,
                delay=geometric_delay(2.0),
                executor=cluster.scheduler_address,
            ),
        )


@pytest.mark.slow
def test_local_processes_give_the_same_result_whatever_their_number():
    local = simulate(_policies(), ENV, n_steps=50, n_runs=30, rng=9, block_runs=10)
    _same(
        local, simulate(_policies(), ENV, n_steps=50, n_runs=30, rng=9, block_runs=10, executor=2)
    )
    _same(
        local, simulate(_policies(), ENV, n_steps=50, n_runs=30, rng=9, block_runs=10, executor=1)
    )


class _PicklingExecutor(ThreadPoolExecutor):
    """Like a pool of worker processes, each piece travels as a pickled copy (so nothing a
    piece does to its streams comes back), without starting processes."""

    def submit(self, fn, /, *args, **kwargs):
        copied = pickle.loads(pickle.dumps((args, kwargs)))
        return super().submit(fn, *copied[0], **copied[1])


def test_a_generator_shared_by_successive_simulations_moves_on_alike_on_any_executor():
    # The streams of every block are spawned in the calling process: a Generator passed to
    # two simulations gives the second one fresh streams whether the blocks ran here or on
    # workers (which get copies, so spawning there would leave the Generator where it was
    # and replay the first simulation's draws in the second).
    def pair(executor, block_runs):
        gen = np.random.default_rng(0)
        return [
            simulate(
                BetaBernoulliTS(5),
                ENV,
                n_steps=30,
                n_runs=8,
                rng=gen,
                block_runs=block_runs,
                executor=executor,
            ).arms
            for _ in range(2)
        ]

    for block_runs in (None, 3):
        here = pair(None, block_runs)
        assert not np.array_equal(here[0], here[1])
        with _PicklingExecutor(2) as pool:
            there = pair(pool, block_runs)
        for a, b in zip(here, there):
            np.testing.assert_array_equal(a, b)


def test_recording_propensities_a_policy_does_not_know_is_refused_by_name():
    for simulator, policy, env in (
        (
            simulate_budget,
            BudgetedTS(2, costs=[1.0, 2.0], budget=10.0),
            BernoulliBandit([0.1, 0.5]),
        ),
        (
            simulate_funnel,
            MultiObjectiveTS(2),
            FunnelEnv([0.1, 0.05], [0.2, 0.5], [50, 80]),
        ),
    ):
        kwargs = {} if simulator is simulate_budget else {"n_steps": 5}
        with pytest.raises(
            ValueError,
            match=rf"^record_propensities is True, but policies\['p'\] is a "
            rf"{type(policy).__name__}, whose choice probabilities are not known",
        ):
            simulator({"p": policy}, env, n_runs=2, rng=0, record_propensities=True, **kwargs)
