"""bandit_lab.offpolicy: the log, its builders and checks, the estimators' formulas, policies
as action probabilities, reward models, learning and the supervised-to-bandit protocol."""

import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from bandit_lab import BetaBernoulliTS, CreditCardEnv, EpsilonGreedy, LinearTS, LinUCB, Softmax
from bandit_lab.contextual import LogisticTS
from bandit_lab.offpolicy import (
    GreedyPolicy,
    LoggedFeedback,
    PerArmRegression,
    UniformPolicy,
    action_probabilities,
    classifier_policy,
    collect_log,
    credit_card_segments,
    direct_method,
    doubly_robust,
    effective_sample_size,
    epsilon_greedy_probabilities,
    evaluate,
    fit_dm_policy,
    fit_ipw_policy,
    fit_reward_model,
    ips,
    label_value,
    load_classification,
    online_value,
    replay,
    replay_learning,
    segment_policy,
    snips,
    supervised_to_bandit,
    true_value,
)
from bandit_lab.propensities import monte_carlo_propensities, thompson_propensities


def small_log(n=6, **kw):
    rng = np.random.default_rng(0)
    args = dict(contexts=rng.normal(size=(n, 2)), n_arms=3)
    args.update(kw)
    return LoggedFeedback(np.arange(n) % 3, rng.random(n), np.full(n, 1 / 3), **args)


# ------------------------------------------------------------------------------------
# The log and its checks
# ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        (
            {"propensities": [0.5, 0.0, 0.5]},
            ValueError,
            r"^propensities\[1\] == 0\.0, must be in \(0, 1\]",
        ),
        (
            {"propensities": [0.5, -0.2, 0.5]},
            ValueError,
            r"^propensities\[1\] == -0\.2, must be in \(0, 1\]",
        ),
        ({"propensities": [0.5, 1.5, 0.5]}, ValueError, r"^propensities\[1\] == 1\.5"),
        ({"propensities": [0.5, np.nan, 0.5]}, ValueError, r"^propensities\[1\] == nan"),
        (
            {"actions": [0, 3, 1]},
            ValueError,
            r"^actions\[1\] == 3, must be an arm index in \[0, 2\] \(n_arms == 3\)\.",
        ),
        ({"actions": [0, -1, 1]}, ValueError, r"^actions\[1\] == -1, must be an arm index"),
        (
            {"actions": [0, 1.5, 1]},
            ValueError,
            r"^actions\[1\] == 1\.5, must be an integer arm index\.",
        ),
        (
            {"actions": ["a", "b", "c"]},
            TypeError,
            r"^actions has dtype <U1, must hold integer arm indices\.",
        ),
        (
            {"actions": [0, 1]},
            ValueError,
            r"^actions, rewards and propensities have lengths 2, 3 and 3, must all have one entry per logged round\.",
        ),
        ({"rewards": [1.0, 0.0]}, ValueError, r"lengths 3, 2 and 3"),
        (
            {"rewards": [1.0, np.nan, 0.0]},
            ValueError,
            r"^rewards\[1\] == nan, must be a finite number",
        ),
        ({"rewards": [1.0, np.inf, 0.0]}, ValueError, r"^rewards\[1\] == inf"),
        (
            {"contexts": np.ones((2, 2))},
            ValueError,
            r"^contexts has shape \(2, 2\), must be \(3, n_features\)",
        ),
        (
            {"contexts": [[1.0], [np.nan], [0.0]]},
            ValueError,
            r"^contexts\[1, 0\] == nan, must be a finite number\.",
        ),
        ({"times": [1, 2]}, ValueError, r"^times has shape \(2,\), must be \(3,\)"),
        ({"n_arms": 0}, ValueError, r"^n_arms == 0, must be >= 1\."),
        (
            {"arm_names": ["a", "b"]},
            ValueError,
            r"^arm_names has 2 names, must have one per arm \(n_arms == 3\)\.",
        ),
        (
            {"logging_probabilities": [[0.5, 0.5, 0.0]] * 3},
            ValueError,
            r"^logging_probabilities\[1, 1\] == 0\.5 but propensities\[1\] == 0\.25",
        ),
        (
            {"logging_probabilities": [[0.5, 0.6, 0.0]] * 3},
            ValueError,
            r"^logging_probabilities\[0\] sums to 1\.1",
        ),
    ],
)
def test_bad_logs_get_one_sentence_naming_the_problem(kwargs, error, pattern):
    args = dict(actions=[0, 1, 2], rewards=[1.0, 0.0, 1.0], propensities=[0.5, 0.25, 0.5], n_arms=3)
    args.update(kwargs)
    with pytest.raises(error, match=pattern) as info:
        LoggedFeedback(args.pop("actions"), args.pop("rewards"), args.pop("propensities"), **args)
    message = str(info.value)
    assert message.endswith(".") and message.count(". ") == 0, message  # one sentence


def test_the_log_is_read_only_and_copies_its_inputs():
    actions = np.array([0, 1, 1])
    log = LoggedFeedback(actions, [1.0, 0.0, 1.0], [0.5, 0.5, 0.5])
    actions[0] = 1
    assert log.actions[0] == 0 and log.n_arms == 2
    with pytest.raises(ValueError):
        log.rewards[0] = 5.0
    with pytest.raises(AttributeError, match="read-only"):
        log.rewards = np.zeros(3)


def test_subset_split_and_frame_round_trip():
    log = small_log(10, times=np.arange(10) * 2.0, arm_names=["a", "b", "c"])
    first, rest = log.split(0.3)
    assert (first.n_rounds, rest.n_rounds) == (3, 7)
    np.testing.assert_array_equal(rest.contexts, log.contexts[3:])
    mask = log.actions == 1
    assert log[mask].n_rounds == mask.sum()
    frame = log.to_frame()
    assert list(frame.columns) == ["time", "action", "arm", "reward", "propensity", "x0", "x1"]
    back = LoggedFeedback.from_frame(frame, context="x", time="time", arm_names=["a", "b", "c"])
    for name in ("actions", "rewards", "propensities", "contexts", "times"):
        np.testing.assert_array_equal(getattr(back, name), getattr(log, name))
    with pytest.raises(ValueError, match=r"^fraction == 1\.5, must be a number in \(0, 1\)\.$"):
        log.split(1.5)


@pytest.mark.parametrize(
    "drop, role", [("propensity", "propensity"), ("reward", "reward"), ("action", "action")]
)
def test_a_frame_missing_a_column_names_it(drop, role):
    frame = small_log().to_frame().drop(columns=drop)
    with pytest.raises(
        ValueError,
        match=rf"^frame has no column '{drop}' \(it has .*\), name the "
        rf"column holding it with {role}=\.\.\.",
    ):
        LoggedFeedback.from_frame(frame, context="x")
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        LoggedFeedback.from_frame({"action": [0]})


def test_a_frame_with_other_column_names_and_missing_context_columns():
    frame = pd.DataFrame(
        {
            "offer": [0, 1, 1],
            "converted": [1, 0, 1],
            "p": [0.5, 0.5, 0.5],
            "age": [30.0, 40.0, 50.0],
            "income": [1.0, 2.0, 3.0],
        }
    )
    log = LoggedFeedback.from_frame(
        frame, action="offer", reward="converted", propensity="p", context=["age", "income"]
    )
    assert log.contexts.tolist() == [[30.0, 1.0], [40.0, 2.0], [50.0, 3.0]]
    with pytest.raises(ValueError, match=r"^frame has no column 'tenure'"):
        LoggedFeedback.from_frame(
            frame, action="offer", reward="converted", propensity="p", context=["age", "tenure"]
        )
    with pytest.raises(ValueError, match=r"^context == 'z': frame has no columns z0, z1"):
        LoggedFeedback.from_frame(
            frame, action="offer", reward="converted", propensity="p", context="z"
        )


def test_from_history_with_recorded_propensities_and_contexts():
    rng = np.random.default_rng(0)
    runs, steps, d = 3, 4, 2
    history = SimpleNamespace(
        arms=rng.integers(5, size=(runs, steps)),
        rewards=rng.random((runs, steps)).astype(np.float32),
        propensities=rng.uniform(0.1, 1.0, size=(runs, steps)),
        contexts=rng.normal(size=(runs, steps, d)),
        n_arms=5,
    )
    log = LoggedFeedback.from_history(history)
    assert log.n_rounds == runs * steps and log.n_arms == 5 and log.contexts.shape == (12, 2)
    np.testing.assert_array_equal(log.actions, history.arms.ravel())
    np.testing.assert_array_equal(log.propensities, history.propensities.ravel())
    np.testing.assert_array_equal(log.contexts, history.contexts.reshape(-1, d))
    assert log.times.tolist() == [0, 1, 2, 3] * 3
    one = LoggedFeedback.from_history(history, runs=1)
    np.testing.assert_array_equal(one.actions, history.arms[1])
    plain = SimpleNamespace(arms=history.arms, rewards=history.rewards)
    with pytest.raises(ValueError, match="record_propensities=True"):
        LoggedFeedback.from_history(plain)
    with pytest.raises(ValueError, match=r"^runs == 7, must be run indices in \[0, 2\]\.$"):
        LoggedFeedback.from_history(history, runs=7)
    with pytest.raises(TypeError, match="must be a simulation history"):
        LoggedFeedback.from_history(object())


def service_frame():
    return pd.DataFrame(
        {
            "decision_id": ["d1", "d2", "d3", "d4"],
            "bandit": ["offers"] * 4,
            "time": [3.0, 1.0, 2.0, 4.0],
            "arm": ["travel", "cashback", "travel", "premium"],
            "arm_index": [1, 0, 1, 2],
            "propensity": [0.6, 0.2, 0.5, 0.2],
            "eligible": ["", "", "", ""],
            "reward": [1.0, 0.0, np.nan, 1.0],
            "reward_time": [5.0, 2.0, np.nan, 6.0],
            "x0": [0.1, 0.2, 0.3, 0.4],
            "x1": [1.0, 1.0, 1.0, 1.0],
        }
    )


def test_restricted_decisions_in_a_service_log_are_evaluated_restricted():
    # the service restricted half of its decisions to arms a and b (uniform among the
    # eligible arms): "always c" cannot be shown there, so the log evaluates it restricted to
    # a and b (uniform on them, since it gives them nothing): 0.5 * 0.3 + 0.5 * 0.8 = 0.55,
    # not the 0.8 it would earn unrestricted, nor the ~0.37 of ignoring the restriction
    rng = np.random.default_rng(4)
    n, rates, names = 20_000, np.array([0.2, 0.4, 0.8]), ["a", "b", "c"]
    restricted = rng.random(n) < 0.5
    arms = np.where(restricted, rng.integers(0, 2, n), rng.integers(0, 3, n))
    frame = pd.DataFrame(
        {
            "decision_id": [f"d{i}" for i in range(n)],
            "time": np.arange(n, dtype=float),
            "arm": [names[a] for a in arms],
            "arm_index": arms,
            "propensity": np.where(restricted, 1 / 2, 1 / 3),
            "reward": (rng.random(n) < rates[arms]).astype(float),
            "eligible": np.where(restricted, '["a", "b"]', ""),
        }
    )
    log = LoggedFeedback.from_service_log(frame)
    assert log.eligible.tolist()[:3] == [[True, True, restricted[i] == 0] for i in range(3)]
    assert log.subset(slice(0, 10)).eligible.shape == (10, 3)
    always_c = np.tile([0.0, 0.0, 1.0], (n, 1))
    with pytest.warns(UserWarning, match=r"50\.\d% of its probability .* not eligible"):
        est = ips(log, always_c)
    assert abs(est.value - 0.55) < 4 * est.se, est
    with pytest.raises(ValueError, match=r"eligible\[\d+, 2\] is False but round \d+ chose arm 2"):
        LoggedFeedback(
            [2, 0],
            [1.0, 0.0],
            [0.5, 0.5],
            n_arms=3,
            eligible=np.array([[True, True, False], [True, True, True]]),
        )


def test_from_service_log_reads_the_export(tmp_path):
    path = tmp_path / "log.csv"
    service_frame().to_csv(path, index=False)
    with pytest.raises(
        ValueError,
        match=r"^1 decisions in the log have no reward yet, pass "
        r"missing_rewards='drop'",
    ):
        LoggedFeedback.from_service_log(path)
    log = LoggedFeedback.from_service_log(path, missing_rewards="drop")
    assert log.times.tolist() == [1.0, 3.0, 4.0]  # in time order
    assert log.actions.tolist() == [0, 1, 2] and log.arm_names == ("cashback", "travel", "premium")
    assert log.contexts.tolist() == [[0.2, 1.0], [0.1, 1.0], [0.4, 1.0]]
    zero = LoggedFeedback.from_service_log(path, missing_rewards="zero")
    assert zero.rewards.tolist() == [0.0, 0.0, 1.0, 1.0]
    # several bandits: choose one
    both = pd.concat([service_frame(), service_frame().assign(bandit="other")])
    with pytest.raises(ValueError, match=r"holds 2 bandits .* pass bandit=\.\.\."):
        LoggedFeedback.from_service_log(both, missing_rewards="drop")
    assert (
        LoggedFeedback.from_service_log(both, bandit="other", missing_rewards="drop").n_rounds == 3
    )
    with pytest.raises(ValueError, match=r"^the service log has no column 'propensity'"):
        LoggedFeedback.from_service_log(service_frame().drop(columns="propensity"))
    with pytest.raises(FileNotFoundError):
        LoggedFeedback.from_service_log(tmp_path / "nothing.csv")
    off = service_frame().assign(propensity=[0.6, np.nan, 0.5, 0.2])
    with pytest.raises(ValueError, match=r"^1 decisions in the log have no propensity"):
        LoggedFeedback.from_service_log(off, missing_rewards="drop")


def test_from_service_log_with_json_contexts_and_no_context():
    frame = service_frame().dropna().drop(columns=["x0", "x1"])
    assert LoggedFeedback.from_service_log(frame).contexts is None
    frame["context"] = [json.dumps([0.5, 1.0])] * len(frame)
    assert LoggedFeedback.from_service_log(frame).contexts.shape == (3, 2)


def test_collect_log_records_the_loggers_probabilities():
    env = CreditCardEnv(n_customers=2_000, n_history=500, rng=0)
    rule = segment_policy([3, 2, 1, 0], epsilon=0.2)
    log, truth = collect_log(env, rule, n_rounds=3000, rng=1, return_truth=True)
    probs = rule.action_probabilities(log.contexts)
    np.testing.assert_allclose(log.logging_probabilities, probs)
    np.testing.assert_allclose(log.propensities, probs[np.arange(3000), log.actions])
    assert set(np.unique(log.propensities).round(6)) == {0.04, 0.84}
    # the logger's choices follow its probabilities: the greedy offer 84% of the time
    share = (log.propensities > 0.5).mean()
    assert abs(share - 0.84) < 4 * np.sqrt(0.84 * 0.16 / 3000)
    assert truth.shape == (3000, 5) and log.arm_names == env.offer_names
    again = collect_log(env, rule, n_rounds=3000, rng=1)
    np.testing.assert_array_equal(again.actions, log.actions)


def test_credit_card_segments_match_the_rule_on_raw_customers():
    from bandit_lab.credit_card import assign_segments

    env = CreditCardEnv(n_customers=3_000, n_history=500, rng=2)
    np.testing.assert_array_equal(
        credit_card_segments(env.contexts), assign_segments(env.customers)
    )


# ------------------------------------------------------------------------------------
# Estimators: the formulas, by hand
# ------------------------------------------------------------------------------------
def hand_log():
    # 5 rounds, 3 arms
    return LoggedFeedback(
        [0, 1, 2, 0, 1], [1.0, 0.0, 1.0, 0.5, 1.0], [0.5, 0.25, 0.25, 0.5, 0.25], n_arms=3
    )


PI = np.array([[0.8, 0.1, 0.1], [0.2, 0.6, 0.2], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.1, 0.1, 0.8]])
Q = np.array([[0.7, 0.2, 0.5]] * 5)


def test_estimators_equal_their_formulas():
    log = hand_log()
    w = np.array([0.8 / 0.5, 0.6 / 0.25, 1.0 / 0.25, 1.0 / 0.5, 0.1 / 0.25])
    r = log.rewards
    assert ips(log, PI).value == pytest.approx(np.mean(w * r), abs=1e-15)
    assert snips(log, PI).value == pytest.approx(np.sum(w * r) / np.sum(w), abs=1e-15)
    dm = (PI * Q).sum(axis=1)
    assert direct_method(log, PI, Q).value == pytest.approx(dm.mean(), abs=1e-15)
    qa = Q[np.arange(5), log.actions]
    assert doubly_robust(log, PI, Q).value == pytest.approx(np.mean(dm + w * (r - qa)), abs=1e-15)
    est = ips(log, PI)
    assert est.ess == pytest.approx(w.sum() ** 2 / (w**2).sum())
    assert est.se == pytest.approx(np.std(w * r, ddof=1) / np.sqrt(5))
    assert est.high - est.value == pytest.approx(1.959963984540054 * est.se)
    assert ips(log, PI, max_weight=2.0).value == pytest.approx(np.mean(np.minimum(w, 2) * r))
    np.testing.assert_allclose(ips(log, PI).terms, w * r)


def test_snips_is_shift_equivariant_and_ips_is_not():
    log = hand_log()
    shifted = LoggedFeedback(log.actions, log.rewards + 10, log.propensities, n_arms=3)
    assert snips(shifted, PI).value == pytest.approx(snips(log, PI).value + 10)
    assert ips(shifted, PI).value != pytest.approx(ips(log, PI).value + 10)


def test_dr_equals_ips_with_a_zero_model_and_dm_with_a_perfect_one():
    log = hand_log()
    zero = np.zeros((5, 3))
    assert doubly_robust(log, PI, zero).value == pytest.approx(ips(log, PI).value)
    q = np.zeros((5, 3))
    q[np.arange(5), log.actions] = log.rewards  # predicts every logged reward exactly
    assert doubly_robust(log, PI, q).value == pytest.approx(direct_method(log, PI, q).value)


def test_the_on_policy_case_is_the_sample_mean():
    log = small_log(30)
    own = np.full((30, 3), 1 / 3)
    for est in (ips(log, own), snips(log, own), doubly_robust(log, own, np.zeros((30, 3)))):
        assert est.value == pytest.approx(log.rewards.mean()) and est.ess == pytest.approx(30)


def test_replay_keeps_matched_rounds():
    log = hand_log()
    est = replay(
        LoggedFeedback(log.actions, log.rewards, np.full(5, 1 / 3), n_arms=3),
        np.array([0, 0, 2, 1, 1]),
    )
    assert est.value == pytest.approx(np.mean([1.0, 1.0, 1.0])) and est.ess == 3
    nomatch = replay(LoggedFeedback([0], [1.0], [1 / 3], n_arms=3), np.array([1]))
    assert np.isnan(nomatch.value) and nomatch.ess == 0


def test_snips_when_the_target_never_agrees_with_the_logger():
    log = LoggedFeedback([0, 0], [1.0, 0.0], [0.5, 0.5], n_arms=2)
    est = snips(log, np.array([[0.0, 1.0], [0.0, 1.0]]))
    assert np.isnan(est.value) and est.ess == 0.0


@pytest.mark.parametrize(
    "call, pattern",
    [
        (
            lambda log: ips(log, np.full((5, 3), 0.5)),
            r"target\[0\] sums to 1\.5, every row must sum to 1",
        ),
        (
            lambda log: ips(log, np.full((4, 3), 1 / 3)),
            r"target has shape \(4, 3\), must be \(5, 3\)",
        ),
        (
            lambda log: ips(log, -np.ones((5, 3)) / 3),
            r"target\[0, 0\] == -0\.33+\d*, must be a probability >= 0",
        ),
        (lambda log: ips(log, PI, level=1.0), r"level == 1\.0, must be in \(0, 1\)"),
        (
            lambda log: ips(log, PI, max_weight=0),
            r"max_weight == 0\.0, must be a finite number > 0",
        ),
        (
            lambda log: direct_method(log, PI, np.zeros((5, 2))),
            r"reward_model has shape \(5, 2\), must be \(5, 3\)",
        ),
        (
            lambda log: doubly_robust(log, PI, np.full((5, 3), np.nan)),
            r"reward_model\[0, 0\] == nan, must be a finite number",
        ),
        (lambda log: ips("log", PI), r"log is of type str, must be a LoggedFeedback"),
        (lambda log: evaluate(log, PI, methods=["IPS", "magic"]), r"methods contains 'magic'"),
    ],
)
def test_bad_estimator_input_is_named(call, pattern):
    with pytest.raises((ValueError, TypeError), match=pattern):
        call(hand_log())


def test_evaluate_table_with_truth():
    log = hand_log()
    table = evaluate(log, PI, reward_model=Q, truth=0.6)
    assert list(table.index) == ["IPS", "SNIPS", "DM", "DR"]
    assert table.loc["IPS", "value"] == pytest.approx(ips(log, PI).value)
    assert table.loc["DR", "error"] == pytest.approx(doubly_robust(log, PI, Q).value - 0.6)
    assert set(table.columns) >= {"value", "se", "low", "high", "ess", "error", "covers"}
    with_replay = evaluate(
        LoggedFeedback([0, 1], [1.0, 0.0], [0.5, 0.5]),
        np.array([[1.0, 0.0], [1.0, 0.0]]),
        methods=["replay", "IPS"],
    )
    assert with_replay.loc["replay", "value"] == 1.0


def test_estimate_string_and_effective_sample_size():
    est = ips(hand_log(), PI)
    assert re.match(
        r"IPS: \d\.\d{4} \[-?\d\.\d{4}, \d\.\d{4}\] \(95% CI, n = 5, effective sample size \d\)",
        str(est),
    )
    assert effective_sample_size([0.0, 0.0]) == 0.0


# ------------------------------------------------------------------------------------
# Policies as action probabilities
# ------------------------------------------------------------------------------------
def trained_linear(cls, **kw):
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.normal(size=(200, 2)), np.ones(200)])
    arms = rng.integers(4, size=200)
    rewards = (rng.random(200) < 0.2 + 0.1 * arms).astype(float)
    return cls(4, 3, rng=0, **kw).update_many(X, arms, rewards), X[:5]


@pytest.mark.parametrize("cls", [LinearTS, LogisticTS])
def test_linear_thompson_probabilities_are_exact(cls):
    policy, X = trained_linear(cls)
    probs = action_probabilities(policy, X)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    state = {k: v[None] for k, v in policy._state().items()}
    for i in range(2):

        def draw(n, rng, x=X[i]):
            return policy.scores(state, np.broadcast_to(x, (n, 3)), rng)

        mc, se = monte_carlo_propensities(draw, 4, n_draws=1_000_000, rng=i)
        # the exact value agrees with a million draws to their sampling error (<= 5e-4)
        assert np.all(np.abs(probs[i] - mc) <= np.maximum(4 * se, 1e-6)), (probs[i], mc, se)
        assert np.abs(probs[i] - mc).max() < 2e-3


def test_linucb_and_fixed_policies_are_deterministic_argmax():
    policy, X = trained_linear(LinUCB, alpha=0.5)
    probs = action_probabilities(policy, X)
    assert set(np.unique(probs)) <= {0.0, 1.0}
    assert [policy.select(x) for x in X] == probs.argmax(axis=1).tolist()


def test_non_contextual_policies():
    ts = BetaBernoulliTS(3, rng=0).update_many([0, 0, 1, 2], [1.0, 1.0, 0.0, 1.0])
    probs = action_probabilities(ts, np.zeros((4, 2)))
    assert probs.shape == (4, 3)
    np.testing.assert_allclose(probs[0], thompson_propensities(ts.alpha_, ts.beta_))
    eg = EpsilonGreedy(3, epsilon=0.3).update_many([0, 1, 2], [0.0, 1.0, 0.0])
    np.testing.assert_allclose(action_probabilities(eg)[0], [0.1, 0.8, 0.1])
    sm = Softmax(2, tau=1.0).update_many([0, 1], [0.0, 1.0])
    np.testing.assert_allclose(action_probabilities(sm)[0], [1 / (1 + np.e), np.e / (1 + np.e)])


def test_arrays_functions_and_objects_as_policies():
    X = np.zeros((3, 2))
    np.testing.assert_array_equal(
        action_probabilities(np.array([0, 2, 1]), X, n_arms=3), np.eye(3)[[0, 2, 1]]
    )
    probs = action_probabilities(lambda C: np.full((len(C), 2), 0.5), X)
    assert probs.tolist() == [[0.5, 0.5]] * 3
    assert action_probabilities(UniformPolicy(4), X).shape == (3, 4)
    with pytest.raises(ValueError, match="n_arms must be given"):
        action_probabilities(np.array([0, 1, 1]), X)
    with pytest.raises(TypeError, match="must be an"):
        action_probabilities("greedy", X)
    with pytest.raises(ValueError, match=r"policy has 4 arms, but n_arms == 3"):
        action_probabilities(UniformPolicy(4), X, n_arms=3)


def test_greedy_and_epsilon_greedy_probabilities():
    p = epsilon_greedy_probabilities([[1.0, 3.0, 3.0]], 0.3)
    np.testing.assert_allclose(p, [[0.1, 0.45, 0.45]])
    policy = GreedyPolicy(lambda C: C, 2, epsilon=0.5)
    assert policy.with_epsilon(0.0).action_probabilities(np.array([[0.0, 1.0]])).tolist() == [
        [0.0, 1.0]
    ]
    with pytest.raises(ValueError, match=r"scorer returned shape \(1, 3\), must be \(1, 2\)"):
        GreedyPolicy(lambda C: np.zeros((1, 3)), 2).action_probabilities(np.zeros((1, 1)))
    with pytest.raises(ValueError, match=r"offer_by_segment == \[0, 7\]"):
        segment_policy([0, 7])


# ------------------------------------------------------------------------------------
# Reward models
# ------------------------------------------------------------------------------------
def test_built_in_ridge_equals_scikit_learn_ridge():
    from sklearn.linear_model import Ridge

    log = small_log(60)
    mine = PerArmRegression(3, ridge=2.0).fit(log.contexts, log.actions, log.rewards)
    theirs = PerArmRegression(3, Ridge(alpha=2.0)).fit(log.contexts, log.actions, log.rewards)
    np.testing.assert_allclose(mine.predict(log.contexts), theirs.predict(log.contexts), atol=1e-10)


def test_reward_models_without_contexts_and_with_a_classifier():
    from sklearn.linear_model import LogisticRegression

    log = LoggedFeedback([0, 0, 1, 1, 1], [1.0, 0.0, 1.0, 1.0, 0.0], [0.5] * 5, n_arms=3)
    q = fit_reward_model(log, n_folds=1)
    np.testing.assert_allclose(q[0], [0.5, 2 / 3, 0.6])  # arm 2 never tried: the overall mean
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    a = rng.integers(2, size=300)
    r = (rng.random(300) < np.where(a == 1, 0.8, 0.2)).astype(float)
    clf = fit_reward_model(
        LoggedFeedback(a, r, np.full(300, 0.5), contexts=X), LogisticRegression()
    )
    assert 0 <= clf.min() and clf.max() <= 1 and clf[:, 1].mean() > clf[:, 0].mean() + 0.4
    log = LoggedFeedback(a, r, np.full(300, 0.5), contexts=X)
    cross = fit_reward_model(log, n_folds=5, rng=0)
    assert cross.shape == (300, 2)
    # cross-fitting: round i is predicted by models fitted on the other folds only
    folds = np.arange(300) % 2
    half = PerArmRegression(2).fit(X[folds == 1], a[folds == 1], r[folds == 1])
    np.testing.assert_allclose(fit_reward_model(log)[folds == 0], half.predict(X[folds == 0]))
    with pytest.raises(RuntimeError, match="not fitted yet"):
        PerArmRegression(2).predict(X)


# ------------------------------------------------------------------------------------
# Learning, and the truth of a simulation
# ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bank():
    env = CreditCardEnv(n_customers=5_000, n_history=1_000, rng=0)
    log = collect_log(env, segment_policy([3, 2, 4, 0], epsilon=0.3), n_rounds=8000, rng=1)
    return env, log


def test_true_value_is_what_the_policy_earns_on_fresh_traffic(bank):
    env, _ = bank
    rule = segment_policy([3, 2, 1, 0], epsilon=0.1)
    truth = true_value(rule, env)
    live = online_value(rule, env, n_rounds=20_000, rng=5)
    assert abs(live.value - truth) <= 4 * live.se
    assert truth == pytest.approx(
        float((rule.action_probabilities(env.contexts) * env.expected).sum(axis=1).mean())
    )


def test_learned_policies_beat_the_logger_and_their_estimates_cover_the_truth(bank):
    env, log = bank
    test = collect_log(env, segment_policy([3, 2, 4, 0], epsilon=0.3), n_rounds=8000, rng=2)
    logger_value = true_value(segment_policy([3, 2, 4, 0], epsilon=0.3), env)
    for policy in (fit_ipw_policy(log), fit_dm_policy(log)):
        truth = true_value(policy, env)
        assert truth > logger_value + 0.01, (policy, truth, logger_value)
        table = evaluate(test, policy, truth=truth)
        assert table.loc[["IPS", "SNIPS", "DR"], "covers"].all(), table
    with pytest.raises(ValueError, match="must be >= 0 for weighted classification"):
        fit_ipw_policy(LoggedFeedback([0, 1], [-1.0, 1.0], [0.5, 0.5], contexts=[[0.0], [1.0]]))
    with pytest.raises(ValueError, match="has no contexts"):
        fit_ipw_policy(LoggedFeedback([0, 1], [1.0, 1.0], [0.5, 0.5]))


def test_replay_learning_follows_li_et_al():
    env = CreditCardEnv(n_customers=2_000, n_history=500, rng=0)
    log = collect_log(env, UniformPolicy(5), n_rounds=2000, rng=3)
    policy = LinearTS(5, 11, prior_var=2.0, noise_var=0.1)
    est = replay_learning(policy, log, rng=4)
    assert policy.n_obs_.sum() == 0  # the policy given is not changed
    # about one round in five matches the uniform logger's choice
    assert abs(est.ess - 400) < 4 * np.sqrt(2000 * 0.2 * 0.8)
    assert est.terms.size == est.ess and est.value == pytest.approx(est.terms.mean())
    with pytest.raises(TypeError, match="must be a ContextualPolicy"):
        replay_learning(BetaBernoulliTS(5), log)


# ------------------------------------------------------------------------------------
# Real data: the supervised-to-bandit protocol
# ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, shape, k", [("digits", (1797, 64), 10), ("wine", (178, 13), 3)])
def test_datasets_ship_with_scikit_learn(name, shape, k):
    X, y, n_classes = load_classification(name)
    assert (
        X.shape == shape
        and n_classes == k
        and y.max() == k - 1
        and np.allclose(X.mean(axis=0), 0, atol=1e-9)
    )
    with pytest.raises(ValueError, match="must be one of"):
        load_classification("mnist")


def test_digits_estimates_bracket_the_true_accuracy():
    from sklearn.linear_model import LogisticRegression

    X, y, k = load_classification("digits")
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    weak, train, test = order[:100], order[100:900], order[900:]
    logger = classifier_policy(
        LogisticRegression(max_iter=300).fit(X[weak], y[weak]), k, epsilon=0.3
    )
    target = classifier_policy(LogisticRegression(max_iter=300).fit(X[train], y[train]), k)
    Xt = np.tile(X[test], (4, 1))  # every test digit logged 4 times
    yt = np.tile(y[test], 4)
    log = supervised_to_bandit(Xt, yt, logger.action_probabilities(Xt), rng=1)
    pi = target.action_probabilities(Xt)
    truth = label_value(pi, yt)
    assert 0.9 < truth < 1.0
    table = evaluate(log, pi, truth=truth)
    assert table.loc[["IPS", "SNIPS", "DR"], "covers"].all(), table


def test_gaussian_propensities_for_many_rows_equal_the_one_row_integral():
    # gaussian_max_propensities computes many contexts at once (the blocks of rows of
    # _gaussian_rows); each row equals the one-row quadrature to rounding, near-ties,
    # very unequal spreads and blocks of rows included
    import bandit_lab.propensities as P

    rng = np.random.default_rng(5)
    m = rng.normal(size=(700, 5)) * 0.05
    s = rng.uniform(0.001, 0.1, size=(700, 5))
    m[:100, 1] = m[:100, 0] + 1e-9  # near ties
    s[100:200, 2] = 1e-6  # a point mass beside wide ones
    m[200:300] = 0.0
    s[200:300] = 1.0  # exact ties: 1/5 each
    old = P._BLOCK_NODES
    try:
        P._BLOCK_NODES = 50_000  # several blocks
        many = P.gaussian_max_propensities(m, s)
    finally:
        P._BLOCK_NODES = old
    one = np.array([P._gaussian_one(m[i], s[i]) for i in range(700)])
    np.testing.assert_allclose(many, one, atol=1e-12)
    np.testing.assert_allclose(many.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(many[200:300], 0.2, atol=1e-12)


# ------------------------------------------------------------------------------------
# The decision service's exported log, end to end
# ------------------------------------------------------------------------------------
def test_the_services_export_is_a_log_ips_can_trust(tmp_path):
    # A linear Thompson sampler served over HTTP logs each decision with its exact
    # propensity; `bandit-lab export-log` writes the CSV; from_service_log reads it; IPS of a
    # fixed target is within its interval of the truth
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from bandit_lab.cli import main
    from bandit_lab.service.app import create_app
    from bandit_lab.service.models import LinearSpec
    from bandit_lab.service.stores import open_store

    url = f"sqlite:///{tmp_path / 'service.sqlite3'}"
    store = open_store(url)
    spec = LinearSpec(("a", "b", "c"), n_features=2, noise_var=0.25)
    rng = np.random.default_rng(0)
    weights = np.array([[0.3, 0.2], [0.5, -0.3], [0.2, 0.1]])  # arm k pays x . weights[k]
    sent = []
    app = create_app(store, "offers", spec, rng=1, purge_every=None, access_log=False)
    with TestClient(app) as client:
        for i in range(400):
            x = np.array([1.0, rng.uniform(-1, 1)])
            d = client.post("/decision", json={"context": x.tolist()}).json()
            reward = float(rng.random() < weights[d["arm_index"]] @ x)
            if i % 50 != 7:  # a few rewards never arrive
                client.post("/reward", json={"decision_id": d["decision_id"], "reward": reward})
            sent.append((d["arm_index"], d["propensity"], x))
    store.close()
    path = tmp_path / "log.csv"
    assert main(["export-log", str(path), "--store", url, "--bandit", "offers"]) == 0
    with pytest.raises(ValueError, match="8 decisions in the log have no reward yet"):
        LoggedFeedback.from_service_log(path)
    log = LoggedFeedback.from_service_log(path, missing_rewards="drop")
    kept = [s for i, s in enumerate(sent) if i % 50 != 7]
    assert log.n_rounds == 392 and log.arm_names == ("a", "b", "c")
    np.testing.assert_array_equal(log.actions, [a for a, _, _ in kept])
    np.testing.assert_allclose(log.propensities, [p for _, p, _ in kept], rtol=1e-12)
    np.testing.assert_allclose(log.contexts, [x for _, _, x in kept], rtol=1e-12)
    # "always b": its true value is the mean of 0.5 - 0.3 u over u ~ U(-1, 1), 0.5
    est = ips(log, np.tile([0.0, 1.0, 0.0], (log.n_rounds, 1)))
    assert est.low <= 0.5 <= est.high, est


def test_a_fixed_policy_selects_from_a_stream_never_reseeded():
    policy = GreedyPolicy(lambda C: C, 2, epsilon=1.0)  # every choice a coin toss
    X = np.zeros((200, 2))
    gen = np.random.default_rng(0)
    first, second = policy.select(X, gen), policy.select(X, gen)
    assert not np.array_equal(first, second)  # the stream moves on
    np.testing.assert_array_equal(first, policy.select(X, np.random.default_rng(0)))
    with pytest.raises(TypeError, match=r"^rng == 0 is an integer seed, but GreedyPolicy\.select"):
        policy.select(X, 0)


def test_snips_claims_no_precision_it_cannot_estimate():
    # One round, or one round with a nonzero weight: the delta method's spread is that of
    # a single residual, identically 0, so the interval would claim certainty. Like IPS
    # with one round and replay with one match, the standard error is unknown (NaN).
    one = LoggedFeedback([0], [1.0], [0.5], n_arms=2)
    est = snips(one, np.array([[1.0, 0.0]]))
    assert est.value == 1.0 and np.isnan(est.se) and np.isnan(est.low) and np.isnan(est.high)
    assert np.isnan(ips(one, np.array([[1.0, 0.0]])).se)
    log = LoggedFeedback([0, 1, 1, 1], [1.0, 0.0, 1.0, 0.0], [0.5] * 4, n_arms=2)
    single = snips(log, np.array([[1.0, 0.0]] * 4))  # only round 0 has weight
    assert single.value == 1.0 and single.ess == 1.0 and np.isnan(single.se)
    # two weighted rounds that agree: the spread is estimated, and it is 0
    agree = LoggedFeedback([0, 0, 1], [1.0, 1.0, 0.0], [0.5] * 3, n_arms=2)
    assert snips(agree, np.array([[1.0, 0.0]] * 3)).se == 0.0


def test_a_batch_of_logs_gives_what_the_estimators_give_on_each_log():
    # LogBatch.estimates is the estimators' formulas vectorised over logs: every field of
    # every method equals the function's on each log alone, including logs on which the
    # target agrees with the logger once at most (SNIPS's spread unknown) or never
    from bandit_lab.offpolicy import simulate_logs

    rng = np.random.default_rng(0)
    K, N = 3, 40
    population = SimpleNamespace(
        contexts=rng.normal(size=(N, 2)), expected=rng.uniform(0.1, 0.9, size=(N, K))
    )
    logger = np.tile([0.96, 0.02, 0.02], (N, 1))  # arm 1 logged rarely
    batch = simulate_logs(population, logger, n_rounds=30, n_logs=40, rng=1)
    targets = {"stochastic": rng.dirichlet(np.ones(K), size=N), "always arm 1": np.eye(K)[[1] * N]}
    weighted = (batch.actions == 1).sum(axis=1)
    assert (weighted == 1).any() and (weighted == 0).any() and (weighted >= 2).any()
    q = batch.reward_models()
    for pi_all in targets.values():
        got = batch.estimates(pi_all, reward_model=q)
        for i in range(batch.n_logs):
            log, pi = batch.log(i), pi_all[batch.rows[i]]
            for m, est in (
                ("IPS", ips(log, pi)),
                ("SNIPS", snips(log, pi)),
                ("DM", direct_method(log, pi, q[i])),
                ("DR", doubly_robust(log, pi, q[i])),
            ):
                for field in ("value", "se", "low", "high", "ess"):
                    np.testing.assert_allclose(
                        got[m][field][i],
                        getattr(est, field),
                        rtol=1e-12,
                        atol=1e-15,
                        err_msg=f"{m} {field} log {i}",
                    )


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        (
            {"actions": [[0, 1, 1]]},
            ValueError,
            r"^actions has shape \(1, 3\), must be 1-D with one entry per logged round\.$",
        ),
        (
            {"actions": 1},
            TypeError,
            r"^actions == 1 is a single value, must be a 1-D array with one entry per "
            r"logged round\.$",
        ),
        # without n_arms the largest action says how many arms there are: a negative one
        # is refused for what it is, not against a range it made up
        (
            {"actions": [0, -1, 1], "n_arms": None},
            ValueError,
            r"^actions\[1\] == -1, must be an arm index >= 0\.$",
        ),
        (
            {"arm_names": 3},
            TypeError,
            r"^arm_names == 3 is of type int, must be a sequence of names, one per arm\.$",
        ),
        (
            {"arm_names": "abc"},
            TypeError,
            r"^arm_names == 'abc' is of type str, must be a sequence of names",
        ),
    ],
)
def test_more_bad_logs_get_one_sentence_naming_the_problem(kwargs, error, pattern):
    args = dict(actions=[0, 1, 2], rewards=[1.0, 0.0, 1.0], propensities=[0.5, 0.25, 0.5], n_arms=3)
    args.update(kwargs)
    with pytest.raises(error, match=pattern):
        LoggedFeedback(args.pop("actions"), args.pop("rewards"), args.pop("propensities"), **args)


def test_a_frame_with_non_numeric_context_columns_names_them():
    frame = small_log().to_frame().assign(x1=["a", "b", "c", "d", "e", "f"])
    with pytest.raises(
        TypeError, match=r"^frame's context column 'x1' holds 'a', must hold numbers\.$"
    ):
        LoggedFeedback.from_frame(frame, context="x")
    with pytest.raises(TypeError, match=r"^frame's context column 'x1' holds 'a'"):
        LoggedFeedback.from_service_log(
            frame.rename(columns={"action": "arm_index"}), context=["x0", "x1"]
        )


def test_a_clipping_weight_that_is_not_a_number_is_named():
    with pytest.raises(
        TypeError, match=r"^max_weight == 'big' is of type str, must be a real number"
    ):
        ips(hand_log(), PI, max_weight="big")


def test_a_service_export_in_which_an_arm_was_never_chosen_keeps_every_arm():
    # the export lists decisions, not the bandit's arms: an arm no decision chose (the last
    # one, here) would vanish from the log unless the arms are named
    frame = service_frame().dropna()
    assert LoggedFeedback.from_service_log(frame).n_arms == 3
    four = LoggedFeedback.from_service_log(frame, n_arms=4)
    assert four.n_arms == 4 and four.arm_names is None
    named = ("cashback", "travel", "premium", "business")
    log = LoggedFeedback.from_service_log(frame, arm_names=named)
    assert log.n_arms == 4 and log.arm_names == named
    assert ips(log, np.tile([0.0, 0.0, 0.0, 1.0], (log.n_rounds, 1))).value == 0.0
    with pytest.raises(
        ValueError,
        match=r"^arm_names\[1\] == 'premium' but the log calls arm 1 'travel', must name "
        r"the arms in the service's order\.$",
    ):
        LoggedFeedback.from_service_log(frame, arm_names=("cashback", "premium", "travel"))


def test_replay_learning_uses_the_policys_own_stream_or_refuses_two():
    # a policy's own rng is never silently ignored: with no rng argument its seed draws the
    # choices (the same replay twice, the policy untouched); given both, which one is meant?
    env = CreditCardEnv(n_customers=1_000, n_history=300, rng=0)
    log = collect_log(env, UniformPolicy(5), n_rounds=600, rng=3)
    seeded = LinearTS(5, 11, prior_var=2.0, noise_var=0.1, rng=9)
    first, second = replay_learning(seeded, log), replay_learning(seeded, log)
    np.testing.assert_array_equal(first.terms, second.terms)
    same = replay_learning(LinearTS(5, 11, prior_var=2.0, noise_var=0.1), log, rng=9)
    np.testing.assert_array_equal(first.terms, same.terms)
    with pytest.raises(
        ValueError, match=r"^policy has its own rng == 9 and rng == 4 is given, must be one"
    ):
        replay_learning(seeded, log, rng=4)
