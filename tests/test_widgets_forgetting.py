"""The forgetting explorer of notebook 07, driven by setting its controls (no kernel)."""
import re

import numpy as np
import pytest

from bandit_lab import (BetaBernoulliTS, DiscountedTS, SlidingWindowTS, cumulative_regret,
                        simulate)
from bandit_lab.widgets import forgetting_explorer
from bandit_lab.widgets.forgetting import POLICY_NAMES, ForgettingComparison, change_world
from bandit_lab.widgets._layout import walk

RATES = (0.6, 0.4, 0.2)
N_STEPS, N_RUNS = 300, 40


def small(**kwargs):
    args = dict(window=30, windows=(10, 30, 100, 300), gamma=0.95, gammas=(0.8, 0.95, 0.99, 1.0),
                change=0.3, change_range=(-0.2, 0.4), change_step=0.1, n_steps=N_STEPS,
                n_runs=N_RUNS, rng=0)
    args.update(kwargs)
    return forgetting_explorer(RATES, **args)


def recompute(policy, change, seed):
    """The numbers of one table row, from scratch: the same world, the same seed."""
    env = change_world(RATES, change, n_steps=N_STEPS)
    hist = simulate(policy, env, n_steps=N_STEPS, n_runs=N_RUNS, rng=seed)
    reg = cumulative_regret(hist)
    cp = N_STEPS // 2
    before, after = reg[:, cp - 1], reg[:, -1] - reg[:, cp - 1]
    best = int(np.argmax(env.means_at(N_STEPS - 1)))
    share = (hist.arms[:, cp:] == best).mean(axis=1)
    return {"before": before.mean(), "before_se": before.std(ddof=1) / np.sqrt(N_RUNS),
            "after": after.mean(), "after_se": after.std(ddof=1) / np.sqrt(N_RUNS),
            "share_after": share.mean()}


def check_rows(w, window, gamma, change):
    for name, policy in zip(POLICY_NAMES, (BetaBernoulliTS(3), SlidingWindowTS(3, window=window),
                                           DiscountedTS(3, gamma=gamma))):
        expected = recompute(policy, change, w.state.seed)
        assert w.rows[name] == pytest.approx(expected, rel=1e-12, abs=1e-12), name
        shown = f"{expected['after']:.1f} ± {expected['after_se']:.1f}"
        assert shown in w.summary.value, (name, shown)


def test_controls_and_first_drawing():
    w = forgetting_explorer()
    assert set(w.controls) == {"window", "gamma", "change"}
    assert not any(c.continuous_update for c in w.controls.values())
    assert list(w.rows) == list(POLICY_NAMES)
    assert w.figure.image.value[:4] == b"\x89PNG"
    shown = list(walk(w))
    assert w.figure.image in shown and w.summary in shown
    text = re.sub(r"<[^>]+>", " ", w.summary.value)
    assert "60 runs of 600 steps" in text
    assert "rates (0.100, 0.060, 0.040) become (0.040, 0.120, 0.040)" in text
    assert "Best arm before: 0, after: 1" in text


def test_summary_numbers_equal_a_recomputation_with_the_same_seed():
    w = small()
    check_rows(w, 30, 0.95, 0.3)


@pytest.mark.parametrize("control, value, simulated, changed", [
    ("window", 100, 1, ["sliding-window TS"]),
    ("gamma", 0.8, 1, ["discounted TS"]),
    # every value of the change slider was simulated for the starting settings at build
    ("change", 0.1, 0, list(POLICY_NAMES)),
])
def test_each_control_re_runs_what_it_concerns_and_redraws(control, value, simulated, changed):
    w = small()
    image, sims, rows = w.figure.image.value, w.state.simulated, dict(w.rows)
    w.controls[control].value = value
    assert w.state.simulated == sims + simulated
    assert w.figure.image.value != image
    for name in POLICY_NAMES:
        assert (w.rows[name] != rows[name]) == (name in changed), name
    settings = {"window": 30, "gamma": 0.95, "change": 0.3}
    settings[control] = value
    check_rows(w, settings["window"], settings["gamma"], settings["change"])


def test_the_change_slider_moves_the_rates_and_the_best_arm():
    w = small()
    w.controls["change"].value = 0.0   # nothing changes: arm 0 stays best
    assert "Best arm before: 0, after: 0" in w.summary.value
    assert "become (0.600, 0.400, 0.200)" in w.summary.value
    hist = w.state.history("plain TS", 30, 0.95, 0.0)
    np.testing.assert_allclose(hist.mean_rewards[0, -1], RATES)
    w.controls["change"].value = 0.4   # 0.6 - 0.4 and 0.4 + 0.4: arm 1 leads
    assert "become (0.200, 0.800, 0.200)" in w.summary.value
    # slider noise (0.1 + 0.1 + ...) must not defeat the cache or show in the rates
    assert ForgettingComparison.key(0.30000000000000004) == 0.3


def test_forgetting_helps_after_a_large_change_and_costs_when_nothing_changes():
    # Derived from the runs themselves: differences of paired runs (same outcomes), with a
    # margin of 4 standard errors.
    w = small(n_runs=100)
    w.controls["change"].value = 0.4
    runs = {name: w.state.history(name, 30, 0.95, 0.4) for name in POLICY_NAMES}
    cp = N_STEPS // 2
    after = {k: cumulative_regret(h)[:, -1] - cumulative_regret(h)[:, cp - 1]
             for k, h in runs.items()}
    diff = after["plain TS"] - after["sliding-window TS"]
    assert diff.mean() > 4 * diff.std(ddof=1) / np.sqrt(diff.size)
    w.controls["change"].value = 0.0
    still = {name: w.state.history(name, 30, 0.95, 0.0) for name in POLICY_NAMES}
    final = {k: cumulative_regret(h)[:, -1] for k, h in still.items()}
    diff = final["discounted TS"] - final["plain TS"]
    assert diff.mean() > 4 * diff.std(ddof=1) / np.sqrt(diff.size)


def test_no_forgetting_is_plain_ts():
    w = small()
    w.controls["gamma"].value = 1.0      # the discount multiplies by 1: nothing fades
    w.controls["window"].value = 300     # the window holds the whole run
    assert w.rows["discounted TS"] == w.rows["plain TS"]
    assert w.rows["sliding-window TS"] == w.rows["plain TS"]
    np.testing.assert_array_equal(w.state.history("discounted TS", 300, 1.0, 0.3).arms,
                                  w.state.history("plain TS", 300, 1.0, 0.3).arms)
    assert "discounted TS (γ = 1)" in w.summary.value
    assert "sliding-window TS (window 300)" in w.summary.value


def test_every_value_of_the_change_slider_is_ready_for_the_starting_settings():
    w = small()  # change slider: -0.2 to 0.4 in steps of 0.1, seven values
    assert w.state.simulated == 7 * 3
    for change in (-0.2, -0.1, 0.0, 0.1, 0.2, 0.4):
        w.controls["change"].value = change
    assert w.state.simulated == 7 * 3  # no simulation at all
    check_rows(w, 30, 0.95, 0.4)
    w.controls["window"].value = 100   # one new simulation: sliding-window TS at 0.4
    assert w.state.simulated == 7 * 3 + 1
    for k, change in enumerate((0.0, 0.1, 0.2)):
        w.controls["change"].value = change  # plain and discounted TS are ready
        assert w.state.simulated == 7 * 3 + 2 + k
    check_rows(w, 100, 0.95, 0.2)


def test_a_fine_change_slider_is_not_simulated_ahead():
    w = small(change_step=0.01)  # 61 values: more than a quarter of the cache
    assert w.state.simulated == 3


def test_settings_seen_before_come_from_the_cache():
    w = small()
    sims = w.state.simulated
    assert sims == 7 * 3
    w.controls["window"].value = 100
    w.controls["window"].value = 30
    w.controls["gamma"].value = 0.99
    w.controls["gamma"].value = 0.95
    assert w.state.simulated == sims + 2
    assert len(w.timings) == 5  # build + 4 changes, each timed
    check_rows(w, 30, 0.95, 0.3)


def test_same_seed_same_picture_different_seed_different_numbers():
    a, b, c = small(rng=3), small(rng=3), small(rng=4)
    assert a.rows == b.rows
    assert a.figure.image.value == b.figure.image.value
    assert a.rows != c.rows


def test_window_changes_redraw_new_and_cached_settings():
    # How fast is measured in benchmarks/bench_widgets.py (a speed target, not a test).
    # A setting seen before only redraws; a new window re-runs sliding-window TS alone.
    w = forgetting_explorer()
    summaries = []
    for window in (100, 400, 50, 800, 25, 100, 400):
        w.controls["window"].value = window
        summaries.append(w.summary.value)
    assert summaries[5] == summaries[0] and summaries[6] == summaries[1]  # from the cache


@pytest.mark.parametrize("kwargs, error, words", [
    ({"window": 7}, ValueError, "window == 7, must be one of (10, 30, 100, 300)."),
    ({"gamma": 0.5}, ValueError, "gamma == 0.5, must be one of"),
    ({"gammas": (0.0, 0.95)}, ValueError, "gammas[0] == 0.0"),
    ({"windows": (0, 30)}, ValueError, "windows[0] == 0, must be >= 1."),
    ({"change_range": (-0.2, 0.7)}, ValueError, "change == 0.7 moves the rates of arms 0 and 1"),
    ({"change_range": (0.3, 0.1)}, ValueError, "must be (low, high) with low < high"),
    ({"change": 0.5}, ValueError, "change == 0.5, must be within change_range"),
    ({"change_step": 0}, ValueError, "change_step == 0.0, must be a finite number > 0."),
    ({"n_runs": 1}, ValueError, "n_runs == 1, must be >= 2."),
    ({"n_steps": 1.5}, TypeError, "n_steps == 1.5 is of type float"),
])
def test_bad_input_is_rejected_with_a_sentence(kwargs, error, words):
    with pytest.raises(error, match=re.escape(words)):
        small(**kwargs)


def test_unknown_policy_name_is_named():
    comp = ForgettingComparison(RATES, n_steps=20, n_runs=2)
    with pytest.raises(ValueError, match="name == 'UCB1', must be one of"):
        comp.history("UCB1", 10, 0.9, 0.1)


def test_bad_rates_are_named():
    with pytest.raises(ValueError, match=re.escape("rates[1] == 1.5")):
        forgetting_explorer((0.2, 1.5))
    with pytest.raises(ValueError, match="at least two rates"):
        forgetting_explorer((0.2,))


def test_values_simulated_ahead_stay_within_the_slider():
    # 0.0, 0.1, 0.2 are the slider's values; 0.3 is past its end (and would push arm 1's
    # rate to 1.02), so it must not be simulated.
    w = forgetting_explorer((0.9, 0.72, 0.5), window=30, windows=(30,), gamma=0.95,
                            gammas=(0.95,), change=0.1, change_range=(0.0, 0.26),
                            change_step=0.1, n_steps=100, n_runs=5)
    changes = sorted({key[2] for key in w.state._cache})
    assert changes == [0.0, 0.1, 0.2]
