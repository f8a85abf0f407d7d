"""Off-policy estimators checked statistically on problems whose answer is known.

Every check is seeded and its tolerance comes from the theory: a mean over R simulated logs
lies within 4 standard errors of the truth when the estimator is unbiased (a false alarm
about 1 time in 16,000), a coverage rate within 4 binomial standard errors of the stated
level, and so on.
"""

import warnings

import numpy as np
import pytest
from scipy.special import expit, softmax

from bandit_lab.offpolicy import (
    LoggedFeedback,
    direct_method,
    doubly_robust,
    fit_reward_model,
    ips,
    replay,
    sample_actions,
    snips,
)


class Problem:
    """A finite population of contexts whose expected rewards (a logistic model, which the
    ridge reward model cannot fit exactly) are known; logs draw contexts uniformly from it,
    so a target's true value is exactly the population mean of sum_a pi(a|x) mu(x, a)."""

    def __init__(self, seed=0, n_pop=5000, d=3, K=4, logger_tau=0.5, target_tau=0.2):
        rng = np.random.default_rng(seed)
        self.X = np.column_stack([rng.normal(size=(n_pop, d)), np.ones(n_pop)])
        theta = rng.normal(size=(K, d + 1))
        self.mu = expit(self.X @ theta.T)
        self.K = K
        noise = rng.normal(size=(n_pop, K))
        self.logger = softmax((0.5 * noise + self.mu) / logger_tau, axis=1)
        self.target = softmax(self.mu / target_tau, axis=1)
        self.truth = self.value(self.target)

    def value(self, pi):
        return float((pi * self.mu).sum(axis=1).mean())

    def logs(self, n, R, rng, logger=None):
        """R logs of n rounds: (LoggedFeedback, population rows) pairs."""
        logger = self.logger if logger is None else logger
        idx = rng.integers(len(self.X), size=(R, n))
        p = logger[idx]
        a = sample_actions(p, rng)
        mean = np.take_along_axis(self.mu[idx], a[..., None], 2)[..., 0]
        r = (rng.random((R, n)) < mean).astype(float)
        prop = np.take_along_axis(p, a[..., None], 2)[..., 0]
        return [
            (LoggedFeedback(a[i], r[i], prop[i], contexts=self.X[idx[i]], n_arms=self.K), idx[i])
            for i in range(R)
        ]


def within(values, truth, n_se=4.0):
    values = np.asarray(values)
    se = values.std(ddof=1) / np.sqrt(values.size)
    return abs(values.mean() - truth) <= n_se * se, values.mean() - truth, se


@pytest.fixture(scope="module")
def repeated():
    """400 logs of 1,000 rounds from a logger that explores unevenly (weights up to ~120),
    and every estimator's value on each, for a target that is close to greedy."""
    P = Problem()
    rng = np.random.default_rng(1)
    out = {name: [] for name in ("IPS", "SNIPS", "DM", "DR", "DR bad model", "DR true model")}
    covers = {name: [] for name in out}
    for log, idx in P.logs(1000, 400, rng):
        pi = P.target[idx]
        q = fit_reward_model(log)
        bad = np.full((log.n_rounds, P.K), 0.5)  # a constant, badly wrong model
        ests = {
            "IPS": ips(log, pi),
            "SNIPS": snips(log, pi),
            "DM": direct_method(log, pi, q),
            "DR": doubly_robust(log, pi, q),
            "DR bad model": doubly_robust(log, pi, bad),
            "DR true model": doubly_robust(log, pi, P.mu[idx]),
        }
        for name, est in ests.items():
            out[name].append(est.value)
            covers[name].append(est.covers(P.truth))
    return P, {k: np.array(v) for k, v in out.items()}, covers


@pytest.mark.parametrize("name", ["IPS", "DR", "DR bad model", "DR true model"])
def test_ips_and_dr_are_unbiased_with_correct_propensities(repeated, name):
    P, values, _ = repeated
    ok, bias, se = within(values[name], P.truth)
    assert ok, f"{name}: mean error {bias:+.5f} over 400 logs, standard error {se:.5f}"


def test_snips_bias_is_small_and_shrinks_with_n(repeated):
    P, values, _ = repeated
    # SNIPS's bias is O(1/n): at n = 1000 it is within the noise of 400 repeats
    ok, bias, se = within(values["SNIPS"], P.truth)
    assert ok, (bias, se)


def test_direct_method_with_a_misspecified_model_is_biased(repeated):
    # the check above can fail: a linear model of a logistic truth misses by far more than
    # its standard error (so "within 4 standard errors" is not a test that always passes)
    P, values, _ = repeated
    ok, bias, se = within(values["DM"], P.truth)
    assert not ok and abs(bias) > 8 * se


def test_dr_variance_is_below_ips_variance_when_the_model_is_good(repeated):
    _, values, _ = repeated
    var_ips = values["IPS"].var(ddof=1)
    # the exact model leaves only the reward noise to reweight; a fitted ridge model most of
    # the way there. With 400 repeats a variance ratio below 0.75 is far outside chance
    # (the F(399, 399) 0.1% quantile is about 0.73 of the truth; these are ~0.3).
    assert values["DR true model"].var(ddof=1) < 0.5 * var_ips
    assert values["DR"].var(ddof=1) < 0.5 * var_ips
    # and a bad model helps less than a good one
    assert values["DR bad model"].var(ddof=1) > values["DR true model"].var(ddof=1)


def test_replay_is_unbiased_for_a_uniform_logger():
    P = Problem(seed=3)
    rng = np.random.default_rng(4)
    greedy = P.mu.argmax(axis=1)  # a deterministic target
    truth = float(P.mu[np.arange(len(P.X)), greedy].mean())
    uniform = np.full_like(P.logger, 1.0 / P.K)
    values = [replay(log, greedy[idx]).value for log, idx in P.logs(1000, 400, rng, logger=uniform)]
    ok, bias, se = within(values, truth)
    assert ok, (bias, se)


def test_replay_warns_and_is_biased_with_a_non_uniform_logger():
    P = Problem(seed=3)
    rng = np.random.default_rng(5)
    greedy = P.mu.argmax(axis=1)
    truth = float(P.mu[np.arange(len(P.X)), greedy].mean())
    # a logger that makes the target's (greedy) choice mostly where it pays little: replay's
    # matched rounds over-represent those contexts
    best = P.mu.max(axis=1)
    q = np.where(best < np.median(best), 0.85, 0.1)[:, None]
    skewed = np.where(np.eye(P.K)[greedy] == 1, q, (1 - q) / (P.K - 1))
    values = []
    with pytest.warns(UserWarning, match="replay assumes a uniformly random logger"):
        for log, idx in P.logs(1000, 200, rng, logger=skewed):
            values.append(replay(log, greedy[idx]).value)
    ok, bias, se = within(values, truth)
    assert not ok, (bias, se)
    # while IPS on the same kind of log is fine
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ips_values = [
            ips(log, np.eye(P.K)[greedy[idx]]).value
            for log, idx in P.logs(1000, 200, rng, logger=skewed)
        ]
    assert within(ips_values, truth)[0]


@pytest.mark.slow
def test_confidence_intervals_cover_at_their_level():
    # a logger that explores evenly enough (weights up to ~6) for the normal approximation
    P = Problem(seed=7, logger_tau=2.0, target_tau=0.5)
    rng = np.random.default_rng(8)
    R = 1000
    hits = {"IPS": 0, "SNIPS": 0, "DR": 0, "replay (uniform logger)": 0}
    greedy = P.mu.argmax(axis=1)
    greedy_truth = float(P.mu[np.arange(len(P.X)), greedy].mean())
    uniform = np.full_like(P.logger, 1.0 / P.K)
    for (log, idx), (ulog, uidx) in zip(P.logs(2000, R, rng), P.logs(2000, R, rng, logger=uniform)):
        pi = P.target[idx]
        q = fit_reward_model(log)
        hits["IPS"] += ips(log, pi).covers(P.truth)
        hits["SNIPS"] += snips(log, pi).covers(P.truth)
        hits["DR"] += doubly_robust(log, pi, q).covers(P.truth)
        hits["replay (uniform logger)"] += replay(ulog, greedy[uidx]).covers(greedy_truth)
    tol = 4 * np.sqrt(0.95 * 0.05 / R)  # 0.028
    for name, k in hits.items():
        assert abs(k / R - 0.95) <= tol, f"{name}: 95% intervals covered {k / R:.3f} of {R} times"


@pytest.mark.slow
def test_intervals_at_other_levels():
    P = Problem(seed=9, logger_tau=2.0, target_tau=0.5)
    rng = np.random.default_rng(10)
    R = 800
    for level in (0.5, 0.8):
        k = sum(
            ips(log, P.target[idx], level=level).covers(P.truth)
            for log, idx in P.logs(1500, R, rng)
        )
        assert abs(k / R - level) <= 4 * np.sqrt(level * (1 - level) / R), (level, k / R)


def test_ips_explodes_when_the_logger_rarely_explores():
    # the same target, loggers that explore less and less: the spread of IPS over repeated
    # logs grows roughly like sqrt(max weight), and the effective sample size collapses
    P = Problem(seed=11)
    greedy_logger = np.eye(P.K)[P.mu.argmin(axis=1)]  # a logger that favours the worst arm
    rng = np.random.default_rng(12)
    spreads, ess = [], []
    for eps in (1.0, 0.2, 0.02):
        logger = eps / P.K + (1 - eps) * greedy_logger
        vals, e = [], []
        for log, idx in P.logs(500, 200, rng, logger=logger):
            est = ips(log, P.target[idx])
            vals.append(est.value)
            e.append(est.ess)
        spreads.append(np.std(vals))
        ess.append(np.mean(e))
    assert spreads[0] < spreads[1] < spreads[2] and spreads[2] > 4 * spreads[0]
    assert ess[0] > 3 * ess[1] > 3 * ess[2]


def test_ips_is_unbiased_on_the_simulators_recorded_logs_of_a_learning_logger():
    # epsilon-greedy learns as it logs: each round's propensity is the one it had then,
    # and IPS stays unbiased (every round is unbiased given the past)
    from bandit_lab import BernoulliBandit, EpsilonGreedy, simulate

    rates = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    res = simulate(
        {"eg": EpsilonGreedy(5, epsilon=0.3)},
        BernoulliBandit(rates, rng=0),
        n_steps=200,
        n_runs=400,
        rng=1,
        record_propensities=True,
    )
    history = res["eg"]
    for target, truth in (
        (np.eye(5)[[4]], 0.5),
        (np.full((1, 5), 0.2), rates.mean()),
        (np.eye(5)[[0]], 0.1),
    ):
        values = []
        for run in range(400):
            log = LoggedFeedback.from_history(history, runs=run)
            values.append(ips(log, np.repeat(target, log.n_rounds, axis=0)).value)
        ok, bias, se = within(values, truth)
        assert ok, (target, bias, se)


@pytest.mark.slow
def test_dr_is_unbiased_on_linear_thompson_samplings_recorded_logs():
    from bandit_lab import CreditCardEnv, LinearTS, simulate_contextual
    from bandit_lab.offpolicy import segment_policy, true_value

    env = CreditCardEnv(n_customers=5_000, n_history=1_000, rng=0)
    res = simulate_contextual(
        {"ts": LinearTS(5, 11, prior_var=2.0, noise_var=0.1)},
        env,
        n_steps=200,
        n_runs=100,
        rng=2,
        record_propensities=True,
        record_contexts=True,
    )
    rule = segment_policy([3, 2, 1, 0], epsilon=0.1)
    truth = true_value(rule, env)
    ips_values, dr_values = [], []
    for run in range(100):
        log = LoggedFeedback.from_history(res["ts"], runs=run)
        pi = rule.action_probabilities(log.contexts)
        ips_values.append(ips(log, pi).value)
        dr_values.append(doubly_robust(log, pi).value)
    for name, values in (("IPS", ips_values), ("DR", dr_values)):
        ok, bias, se = within(values, truth)
        assert ok, (name, bias, se)


@pytest.mark.slow
def test_replaying_a_learning_policy_matches_running_it_live():
    # Li et al. (2011): with a uniform logger, the matched rounds are the policy's own run
    from bandit_lab import CreditCardEnv, LinearTS, simulate_contextual
    from bandit_lab.offpolicy import UniformPolicy, collect_log, replay_learning

    env = CreditCardEnv(n_customers=5_000, n_history=1_000, rng=0)
    replayed, matched = [], []
    for seed in range(10):
        log = collect_log(env, UniformPolicy(5), n_rounds=5_000, rng=100 + seed)
        est = replay_learning(LinearTS(5, 11, prior_var=2.0, noise_var=0.1), log, rng=200 + seed)
        replayed.append(est.terms[:800].mean())  # the first 800 matched rounds
        matched.append(est.ess)
    assert min(matched) >= 800
    live = simulate_contextual(
        {"ts": LinearTS(5, 11, prior_var=2.0, noise_var=0.1)}, env, n_steps=800, n_runs=40, rng=3
    )["ts"].rewards.mean(axis=1)
    diff = np.mean(replayed) - live.mean()
    se = np.sqrt(np.var(replayed, ddof=1) / len(replayed) + live.var(ddof=1) / live.size)
    assert abs(diff) <= 4 * se, (diff, se)


@pytest.mark.slow
def test_cross_fitting_keeps_dr_unbiased_where_an_in_sample_model_memorises_the_log():
    from types import SimpleNamespace

    from sklearn.linear_model import LogisticRegression

    from bandit_lab.offpolicy import (
        classifier_policy,
        label_value,
        load_classification,
        simulate_logs,
    )

    X, y, k = load_classification("digits")
    order = np.random.default_rng(0).permutation(len(y))
    weak, train, test = order[:60], order[60:898], order[898:]
    logger = classifier_policy(
        LogisticRegression(max_iter=1000).fit(X[weak], y[weak]), k, epsilon=0.3
    )
    target = classifier_policy(LogisticRegression(max_iter=1000).fit(X[train], y[train]), k)
    pi = target.action_probabilities(X[test])
    truth = label_value(pi, y[test])
    logs = simulate_logs(
        SimpleNamespace(contexts=X[test], expected=np.eye(k)[y[test]]),
        logger,
        n_rounds=1000,
        n_logs=80,
        rng=17,
    )
    crossed = logs.estimates(pi)["DR"]["value"]
    in_sample = logs.estimates(pi, reward_model=logs.reward_models(n_folds=1))["DR"]["value"]
    assert within(crossed, truth)[0]
    ok, bias, se = within(in_sample, truth)
    assert not ok and bias < -8 * se, (bias, se)
