"""The off-policy explorer of notebook 11, driven by setting its controls (no kernel)."""
import re

import numpy as np
import pytest

from bandit_lab import CreditCardEnv
from bandit_lab.offpolicy import (direct_method, doubly_robust, ips, segment_policy,
                                  simulate_logs, snips)
from bandit_lab.widgets import ope_explorer
from bandit_lab.widgets.offpolicy import METHODS, REWARD_MODELS


@pytest.fixture(scope="module")
def env():
    return CreditCardEnv(n_customers=3_000, n_history=500, rng=0)


def small(env, **kwargs):
    args = dict(epsilons=(0.02, 0.2, 1.0), epsilon=0.2, n_rounds=600, n_logs=30, rng=0)
    args.update(kwargs)
    candidates = {"travel rule": segment_policy([3, 2, 1, 0]),
                  "uniform": np.full((len(env.contexts), 5), 0.2)}
    return ope_explorer(env, candidates, **args)


def test_controls_and_first_drawing(env):
    w = small(env)
    assert set(w.controls) == {"epsilon", "policy", "model"}
    assert not w.controls["epsilon"].continuous_update
    assert w.figure.image.value[:4] == b"\x89PNG"
    assert list(w.table.index) == list(METHODS)
    text = re.sub(r"<[^>]+>", " ", w.summary.value)
    assert "travel rule" in text and "random offer 20% of the time" in text
    assert "30 logs of 600 customers" in text and "ridge per offer" in text
    assert f"{w.table.loc['IPS', 'rmse']:.4f}" in text


def test_numbers_equal_the_estimators_on_each_log(env):
    w = small(env)
    study = w.state
    batch = simulate_logs(env, segment_policy([3, 2, 4, 0], epsilon=0.2), n_rounds=600,
                          n_logs=30, rng=study.seed)
    pi_all = study.probabilities["travel rule"]
    for i in (0, 17):
        log, pi = batch.log(i), pi_all[batch.rows[i]]
        got = study.results[0.2, "ridge per offer", "travel rule"]
        for m, est in (("IPS", ips(log, pi)), ("SNIPS", snips(log, pi)),
                       ("DM", direct_method(log, pi)), ("DR", doubly_robust(log, pi))):
            assert got[m]["value"][i] == pytest.approx(est.value, abs=1e-12), m
            assert got[m]["low"][i] == pytest.approx(est.low, abs=1e-12), m
    truth = float((pi_all * env.expected).sum(axis=1).mean())
    assert study.truth["travel rule"] == pytest.approx(truth)


def test_controls_change_the_picture_and_the_numbers(env):
    w = small(env)
    image = w.figure.image.value
    before = w.table.copy()
    w.controls["epsilon"].value = 0.02
    assert w.figure.image.value != image
    # exploring 2% instead of 20%: IPS's spread grows (with 600 customers the log often
    # holds no traveller shown the travel card at all, and then the effective sample size
    # looks fine: it cannot see what is missing)
    assert w.table.loc["IPS", "sd"] > 1.5 * before.loc["IPS", "sd"]
    assert w.table.loc["IPS", "rmse"] > 1.5 * before.loc["IPS", "rmse"]
    w.controls["model"].value = "offer averages"
    # IPS and SNIPS do not use the model; DM does
    assert w.table.loc["IPS", "sd"] == w.state.table(0.02, REWARD_MODELS[0], "travel rule").loc["IPS", "sd"]
    assert w.table.loc["DM", "bias"] != w.state.table(0.02, REWARD_MODELS[0], "travel rule").loc["DM", "bias"]
    w.controls["policy"].value = "uniform"
    assert "uniform" in w.summary.value
    # a uniform target on a uniform logger (epsilon 1): every weight is 1, IPS is the mean
    w.controls["epsilon"].value = 1.0
    assert w.table.loc["IPS", "median_ess"] == pytest.approx(600)
    assert len(w.timings) == 5


def test_offer_averages_flatter_a_personalised_policy_on_uniform_logs(env):
    w = small(env, epsilon=1.0)
    w.controls["model"].value = "offer averages"
    table = w.table
    # the context-blind model rates personalisation as worthless: DM far below the truth,
    # while DR, corrected by the propensities, is not
    assert table.loc["DM", "bias"] < -5 * table.loc["DM", "sd"] / np.sqrt(30)
    assert abs(table.loc["DR", "bias"]) < 4 * table.loc["DR", "sd"] / np.sqrt(30)


def test_a_control_change_only_redraws(env, monkeypatch):
    """Every log is simulated and estimated when the widget is built; a control change reads
    the stored results (its speed is measured in benchmarks/bench_widgets.py, not here)."""
    import bandit_lab.offpolicy.study as study
    import bandit_lab.widgets.offpolicy as module

    w = small(env)

    def no_simulation(*args, **kwargs):
        raise AssertionError("a control change simulated or estimated logs again")

    monkeypatch.setattr(module, "simulate_logs", no_simulation)
    monkeypatch.setattr(study.LogBatch, "estimates", no_simulation)
    monkeypatch.setattr(study.LogBatch, "reward_models", no_simulation)
    for eps in (0.02, 1.0, 0.2):
        w.controls["epsilon"].value = eps
    w.controls["model"].value = "offer averages"
    before = w.table.copy()
    w.controls["policy"].value = "uniform"
    assert not w.table.equals(before)  # the redraw shows the other policy's stored numbers
    assert w.figure.image.value[:4] == b"\x89PNG"


@pytest.mark.parametrize("kwargs, error", [
    ({"epsilon": 0.3}, ValueError),
    ({"epsilons": (0.1, 0.1)}, ValueError),
    ({"epsilons": (0.0, 0.5)}, ValueError),
    ({"n_logs": 1}, ValueError),
])
def test_bad_input_is_rejected(env, kwargs, error):
    with pytest.raises(error):
        small(env, **kwargs)
    with pytest.raises(ValueError, match="candidates is empty"):
        ope_explorer(env, {})
