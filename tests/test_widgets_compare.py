"""The strategy explorer of notebook 04, driven by setting its controls (no kernel)."""
import re

import numpy as np
import pytest

from bandit_lab import UCB1, BernoulliBandit, BetaBernoulliTS, cumulative_regret, simulate
from bandit_lab.metrics import arm_shares
from bandit_lab.widgets import strategy_explorer
from bandit_lab.widgets.compare import StrategyComparison, default_policies

RATES = (0.05, 0.10, 0.15)


def small(**kwargs):
    args = dict(policies={"TS": BetaBernoulliTS(3), "UCB1": UCB1(3)}, n_runs=30,
                horizon=200, horizons=(100, 200, 400), rng=0)
    args.update(kwargs)
    return strategy_explorer(RATES, **args)


def recompute(policy, rates, n_steps, n_runs, seed):
    hist = simulate(policy, BernoulliBandit(rates), n_steps=n_steps, n_runs=n_runs, rng=seed)
    final = cumulative_regret(hist)[:, -1]
    share = arm_shares(hist)[:, int(np.argmax(rates))]
    return final, share


def test_controls_and_first_drawing():
    w = strategy_explorer(rng=0, horizon=200)
    assert set(w.controls) == {"rate 0", "rate 1", "rate 2", "rate 3", "rate 4",
                               "horizon", "log time"}
    assert all(not w.controls[f"rate {k}"].continuous_update for k in range(5))
    assert not w.controls["horizon"].continuous_update
    assert list(w.rows) == list(default_policies(5, klucb=False))  # KL-UCB left out: slow
    assert w.figure.image.value[:4] == b"\x89PNG"
    assert "Best arm: 4" in w.summary.value


def test_summary_numbers_match_a_recomputation():
    w = small()
    for name, policy in (("TS", BetaBernoulliTS(3)), ("UCB1", UCB1(3))):
        final, share = recompute(policy, RATES, 200, 30, w.state.seed)
        row = w.rows[name]
        assert row["regret"] == pytest.approx(final.mean())
        assert row["se"] == pytest.approx(final.std(ddof=1) / np.sqrt(30))
        assert row["share_median"] == pytest.approx(np.median(share))
        assert re.search(rf"<td[^>]*>{final.mean():.1f}</td>", w.summary.value)


def test_moving_a_rate_re_simulates_and_redraws():
    w = small()
    assert w.controls["rate 0"].max == 0.2  # max_rate
    w.controls["rate 0"].value = 0.9  # beyond the slider's end: clamped to 0.2
    assert w.controls["rate 0"].value == 0.2
    assert "Best arm: 0" in w.summary.value
    w = small(max_rate=0.6)
    image, sims = w.figure.image.value, w.state.simulated
    w.controls["rate 0"].value = 0.5  # arm 0 becomes the best by far
    assert w.state.simulated == sims + 2
    assert w.figure.image.value != image
    assert "Best arm: 0" in w.summary.value
    hist = w.state.history("TS", (0.5, 0.10, 0.15), 200)
    np.testing.assert_allclose(hist.mean_rewards[0, 0], [0.5, 0.10, 0.15])
    final, share = recompute(BetaBernoulliTS(3), (0.5, 0.10, 0.15), 200, 30, w.state.seed)
    assert w.rows["TS"]["regret"] == pytest.approx(final.mean())
    # Thompson sampling found the new best arm: more than a uniform share, by far.
    assert share.mean() > 1 / 3 + 4 * share.std(ddof=1) / np.sqrt(share.size)


def test_cache_serves_shorter_horizons_and_rates_seen_before():
    w = small()
    sims = w.state.simulated
    w.controls["horizon"].value = 100
    w.controls["log time"].value = True
    assert w.state.simulated == sims  # a shorter horizon is a slice of the longer run
    final, _ = recompute(BetaBernoulliTS(3), RATES, 100, 30, w.state.seed)
    assert w.rows["TS"]["regret"] == pytest.approx(final.mean())
    w.controls["rate 1"].value = 0.2
    w.controls["rate 1"].value = 0.10  # back to rates already simulated
    assert w.state.simulated == sims + 2
    w.controls["horizon"].value = 400  # longer than anything cached: simulate again
    assert w.state.simulated == sims + 4
    assert len(w.timings) == 6  # build + 5 changes, each timed


def test_every_policy_faces_the_same_outcomes():
    # Each policy is simulated on its own with the same seed, so the environment's stream
    # is the same: wherever two policies pull the same arm at the same step of the same
    # run, they get the same reward (independent draws would differ ~20% of the time here).
    comp = StrategyComparison({"TS": BetaBernoulliTS(3), "UCB1": UCB1(3)}, n_runs=30, rng=5)
    res = comp.results(RATES, 300)
    same_arm = res["TS"].arms == res["UCB1"].arms
    assert same_arm.sum() > 1000
    np.testing.assert_array_equal(res["TS"].rewards[same_arm], res["UCB1"].rewards[same_arm])


def test_same_seed_same_numbers_different_seed_different_numbers():
    a, b, c = small(rng=3), small(rng=3), small(rng=4)
    assert a.rows == b.rows
    assert a.figure.image.value == b.figure.image.value
    assert a.rows != c.rows


@pytest.mark.parametrize("kwargs, error", [
    ({"rates": (0.1, 0.5)}, ValueError),          # above max_rate
    ({"rates": (0.1, -0.1)}, ValueError),
    ({"horizon": 300}, ValueError),               # not one of the horizons
    ({"n_runs": 1}, ValueError),
    ({"policies": [BetaBernoulliTS(2)]}, TypeError),
    ({"policies": {}}, ValueError),
    ({"policies": {"TS": "not a policy"}}, TypeError),
    ({"policies": {"TS": BetaBernoulliTS(3)}}, ValueError),  # 3 arms for 2 rates
])
def test_bad_input_is_rejected(kwargs, error):
    args = dict(rates=(0.1, 0.2), policies={"TS": BetaBernoulliTS(2)}, n_runs=5,
                horizon=100, horizons=(100,))
    args.update(kwargs)
    with pytest.raises(error):
        strategy_explorer(**args)


def test_summary_names_the_lai_robbins_constant():
    from bandit_lab import lai_robbins_constant

    w = small()
    c = lai_robbins_constant(RATES)
    assert re.search(rf"C = {c:.2f}, C log T = {c * np.log(200):.1f}", w.summary.value)


# -- the Lai-Robbins bound, readable at every setting ---------------------------------------
SETTINGS = [
    # (rates, horizon, log time axis)
    ((0.030, 0.045, 0.028, 0.015, 0.060), 200, False),    # the course's default
    ((0.030, 0.045, 0.028, 0.015, 0.060), 200, True),
    ((0.030, 0.045, 0.028, 0.015, 0.060), 1000, False),
    ((0.030, 0.058, 0.028, 0.015, 0.060), 1000, False),   # a near tie: C ln T ~ 440
    ((0.030, 0.058, 0.028, 0.015, 0.060), 100, True),
    ((0.000, 0.000, 0.000, 0.000, 0.200), 1000, False),   # easy: C ln T below the curves
    ((0.090, 0.135, 0.084, 0.045, 0.180), 500, True),
]


@pytest.fixture(scope="module")
def explorer():
    return strategy_explorer(n_runs=20, horizons=(100, 200, 500, 1000), rng=0)


@pytest.mark.parametrize("rates, horizon, log_x", SETTINGS)
def test_lai_robbins_bound_is_shown_whole_and_the_curves_keep_their_height(explorer, rates,
                                                                           horizon, log_x):
    from bandit_lab import lai_robbins_constant
    from test_widgets_layout import drawn_texts

    w = explorer
    for k, r in enumerate(rates):
        w.controls[f"rate {k}"].value = r
    w.controls["horizon"].value = horizon
    w.controls["log time"].value = log_x
    pic, info = w.picture, w.picture.bound
    c = lai_robbins_constant(rates)
    assert info["constant"] == pytest.approx(c)
    main_top = pic.ax.get_ylim()[1]
    # the bound is drawn from t = 1 to T (at most every step), on the regret axis's scale
    t, y = (np.asarray(v) for v in pic.curves.extra["Lai-Robbins"].get_data())
    assert t[0] == 1 and t[-1] == horizon and np.all(np.diff(t) >= 1)
    bound = c * np.log(t)
    np.testing.assert_allclose(y, bound)
    assert pic.ax.get_xscale() == ("log" if log_x else "linear")
    # every point of the bound is within the picture: on the curves' axis or on the strip
    # above the break, which carries on exactly where the curves' axis ends
    if info["broken"]:
        assert pic.strip.get_visible()
        low, high = pic.strip.get_ylim()
        assert low == pytest.approx(main_top) and high >= bound[-1]
        np.testing.assert_allclose(pic.strip_line.get_ydata(), bound)
        assert pic.strip.get_xlim() == pic.ax.get_xlim()
    else:
        assert not pic.strip.get_visible() and main_top >= bound[-1]
    # the curves keep at least a third of the axis's height: never squashed by the bound
    curves_top = max(float(np.max(b.get_paths()[0].vertices[:, 1]))
                     for b in pic.curves.bands.values())
    assert curves_top >= main_top / 3
    # the bound's label is drawn, with C, inside the picture
    labels = [tx.get_text() for tx in drawn_texts(w.figure.figure)]
    assert f"C ln t, C = {c:.1f}" in labels
    assert "Dashed: C ln t" in w.summary.value


def test_changes_that_simulate_long_say_computing_and_cached_ones_do_not():
    w = small()
    w.busy.threshold = 0.0  # every simulation counts as slow here
    seen, disabled = [], []
    w.busy.status.observe(lambda ch: seen.append(ch["new"]), names="value")
    w.controls["rate 0"].observe(lambda ch: disabled.append(ch["new"]), names="disabled")
    w.controls["horizon"].value = 400            # longer than cached: simulates
    assert any("computing: simulating 2 strategies x 30 runs x 400 steps" in s for s in seen)
    assert disabled == [True, False] and not w.controls["rate 0"].disabled
    n = len(seen)
    w.controls["horizon"].value = 100            # a slice of the cached run: no work
    w.controls["log time"].value = True
    assert len(seen) == n and w.busy.status.value == w.busy.idle
