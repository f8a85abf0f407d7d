"""The A/B test explorer of notebook 08, driven by setting its controls (no kernel)."""
import numpy as np
import pytest

from bandit_lab.ab_testing import sequential_ab_test, ztest_sample_size
from bandit_lab.widgets import ab_test_explorer
from bandit_lab.widgets.abtest import ExpectedLossPaths


def small(**kwargs):
    args = dict(n_experiments=60, check_every=200, max_samples=4000, rng=0)
    args.update(kwargs)
    return ab_test_explorer(**args)


def test_controls_and_first_drawing():
    w = small()
    assert set(w.controls) == {"rate A", "rate B", "threshold"}
    assert all(not c.continuous_update for c in w.controls.values())
    assert w.figure.image.value[:4] == b"\x89PNG"
    assert f"<b>{ztest_sample_size(0.05, 0.06):,}</b> visitors per variant" in w.summary.value
    assert f"<b>{w.row['stopped']:.0%}</b>" in w.summary.value
    assert f"<b>{w.row['chose_worse']:.1%}</b>" in w.summary.value


def test_numbers_equal_the_sequential_runner_on_the_same_seed():
    w = small()
    for threshold in (0.0005, 0.002):
        w.controls["threshold"].value = threshold
        direct = sequential_ab_test(0.05, 0.06, rule="expected_loss", threshold=threshold,
                                    check_every=200, max_samples=4000, n_experiments=60,
                                    rng=w.paths.seed)
        np.testing.assert_array_equal(w.result.stop_samples, direct.stop_samples)
        np.testing.assert_array_equal(w.result.decision, direct.decision)
        np.testing.assert_array_equal(w.result.successes, direct.successes)
        assert w.row["stopped"] == pytest.approx(direct.stop_rate)
        assert w.row["chose_worse"] == pytest.approx(direct.chose_worse.mean())


def test_moving_the_threshold_reuses_the_simulation_and_stops_sooner():
    w = small()
    before, image, sims = w.result.stop_samples.copy(), w.figure.image.value, w.paths.simulated
    w.controls["threshold"].value = 0.003  # caring less
    assert w.paths.simulated == sims
    after = w.result.stop_samples
    # the same experiments, a looser rule: none stops later, and some stop sooner
    assert (after <= before).all() and (after < before).any()
    assert w.figure.image.value != image
    assert "threshold of caring 0.00300" in w.summary.value


def test_moving_a_rate_re_simulates_and_equal_rates_cannot_ship_the_worse():
    w = small()
    sims = w.paths.simulated
    w.controls["rate B"].value = 0.05
    assert w.paths.simulated == sims + 1
    assert w.row["chose_worse"] == 0.0
    assert "cannot be sized for a difference of 0" in w.summary.value
    w.controls["rate B"].value = 0.15  # a big difference: every experiment stops, right
    assert w.row["stopped"] == 1.0 and w.row["chose_worse"] == 0.0
    w.controls["rate B"].value = 0.05  # seen before: from the cache
    assert w.paths.simulated == sims + 2
    assert len(w.timings) == 4


def test_every_threshold_change_is_timed():
    # How fast is measured in benchmarks/bench_widgets.py (a speed target, not a test).
    w = small()
    for value in (0.001, 0.002, 0.0005, 0.004, 0.0003):
        w.controls["threshold"].value = value
    assert len(w.timings) == 6 and all(t > 0 for t in w.timings)


def test_same_seed_same_picture_different_seed_different_numbers():
    a, b, c = small(rng=3), small(rng=3), small(rng=4)
    assert a.row == b.row and a.figure.image.value == b.figure.image.value
    assert not np.array_equal(a.result.stop_samples, c.result.stop_samples)


def test_paths_cache_is_bounded():
    paths = ExpectedLossPaths(n_experiments=5, check_every=100, max_samples=500, rng=0,
                              max_cached=2)
    for rate in (0.05, 0.06, 0.07):
        paths.losses(0.05, rate)
    assert len(paths._cache) == 2 and paths.simulated == 3
    paths.losses(0.05, 0.05)  # evicted first: simulated again
    assert paths.simulated == 4


@pytest.mark.parametrize("kwargs, error", [
    ({"rate_a": 0.5}, ValueError),           # above max_rate
    ({"rate_b": 0.0}, ValueError),           # below the slider's end
    ({"rate_a": "0.05"}, TypeError),
    ({"threshold": 0.05}, ValueError),
    ({"threshold": -1.0}, ValueError),
    ({"n_experiments": 0}, ValueError),
    ({"check_every": 300, "max_samples": 1000}, ValueError),
    ({"max_rate": 1.0}, ValueError),
])
def test_bad_input_is_rejected(kwargs, error):
    with pytest.raises(error):
        small(**kwargs)


def test_classical_sample_size_beyond_the_axis_is_an_arrow_at_the_edge():
    w = ab_test_explorer(0.05, 0.06, n_experiments=20, check_every=250, max_samples=5000)
    pic = w._picture
    n = ztest_sample_size(0.05, 0.06, alpha=0.05, power=0.8)
    assert n > 5000                               # beyond this axis
    assert w.classical_shown == "beyond the axis"
    assert not pic.classical.get_visible() and pic.beyond.get_visible()
    assert pic.beyond.get_text() == f"z-test: {n:,}"
    assert "beyond the axis" in w.summary.value and f"{n:,}" in w.summary.value
    w.controls["rate B"].value = 0.15               # a big difference: a small sample
    n = ztest_sample_size(0.05, 0.15, alpha=0.05, power=0.8)
    assert n <= 5000 and w.classical_shown == "on the axis"
    assert pic.classical.get_visible() and not pic.beyond.get_visible()
    assert pic.classical.get_xdata()[0] == n
    w.controls["rate B"].value = 0.05               # no difference: no classical size
    assert w.classical_shown == "none"
    assert not pic.classical.get_visible() and not pic.beyond.get_visible()
