"""beta_explorer: controls drive the numbers and the picture, without a kernel."""
import re

import numpy as np
import pytest

from bandit_lab import BetaPosterior
from bandit_lab.widgets._layout import walk
from bandit_lab.widgets.beta import beta_explorer


def shown_numbers(widget):
    """Mean, interval ends and skewness as printed in the summary HTML."""
    text = re.sub(r"<[^>]+>", "", widget.summary.value)
    mean = float(re.search(r"mean (\d\.\d+)", text).group(1))
    low, high = map(float, re.search(r"interval \[(\d\.\d+), (\d\.\d+)\]", text).groups())
    skew = float(re.search(r"skewness ([+-]\d\.\d+)", text).group(1))
    return mean, low, high, skew


@pytest.mark.parametrize("alpha, beta", [(1.0, 1.0), (5.0, 1.0), (2.5, 40.0), (0.5, 0.5)])
def test_sliders_drive_the_summary(alpha, beta):
    w = beta_explorer()
    w.controls["alpha"].value = alpha
    w.controls["beta"].value = beta
    post = BetaPosterior(alpha, beta)
    lo, hi = post.interval(0.95)
    mean, low, high, skew = shown_numbers(w)
    assert mean == round(float(post.mean), 4)
    assert (low, high) == (round(float(lo), 4), round(float(hi), 4))
    assert skew == round(float(post.skewness), 3)
    assert f"Beta({alpha:.1f}, {beta:.1f})" in w.summary.value


def test_beta_5_1_is_reported_with_its_tail_to_the_left():
    w = beta_explorer(5.0, 1.0)
    assert shown_numbers(w)[3] < 0
    assert "long tail to the left" in w.summary.value
    w.controls["alpha"].value, w.controls["beta"].value = 1.0, 5.0
    assert "long tail to the right" in w.summary.value


def test_moving_a_slider_redraws_the_picture():
    w = beta_explorer()
    before, renders = w.figure_image.image.value, w.figure_image.renders
    assert before[:4] == b"\x89PNG"
    w.controls["beta"].value = 7.0
    assert w.figure_image.renders == renders + 1
    assert w.figure_image.image.value != before


def test_add_moves_alpha_by_successes_and_beta_by_failures():
    w = beta_explorer(2.0, 3.0)
    w.controls["successes"].value = 4
    w.controls["failures"].value = 11
    before, renders = w.figure_image.image.value, w.figure_image.renders
    w.controls["add"].click()
    assert w.controls["alpha"].value == pytest.approx(6.0)
    assert w.controls["beta"].value == pytest.approx(14.0)
    assert w.figure_image.renders == renders + 1  # one redraw for both sliders
    assert w.figure_image.image.value != before
    w.controls["add"].click()
    assert (float(w.posterior.alpha), float(w.posterior.beta)) == pytest.approx((10.0, 25.0))
    assert shown_numbers(w)[0] == round(10 / 35, 4)


def test_adding_one_at_a_time_equals_adding_in_one_batch():
    one_by_one, batch = beta_explorer(), beta_explorer()
    for s, f in [(1, 0), (0, 1), (0, 1), (1, 0), (0, 1)]:
        one_by_one.add(s, f)
    batch.add(2, 3)
    assert one_by_one.summary.value == batch.summary.value
    expected = BetaPosterior.from_counts(2, 3)
    assert float(batch.posterior.alpha) == float(expected.alpha)
    assert float(batch.posterior.beta) == float(expected.beta)


def test_sliders_stretch_when_data_outgrows_them():
    w = beta_explorer(1.0, 1.0, max_value=50)
    w.controls["successes"].value, w.controls["failures"].value = 3, 400
    w.controls["add"].click()
    assert w.controls["beta"].value == pytest.approx(401.0)
    assert w.controls["beta"].max >= 401.0
    assert shown_numbers(w)[0] == round(4 / 405, 4)


def test_reset_returns_to_the_starting_prior():
    w = beta_explorer(2.0, 8.0)
    start = w.summary.value
    w.add(30, 5)
    assert w.summary.value != start
    w.controls["reset"].click()
    assert (w.controls["alpha"].value, w.controls["beta"].value) == (2.0, 8.0)
    assert w.summary.value == start


def test_level_changes_the_interval():
    w = beta_explorer(3.0, 9.0, level=0.8)
    lo, hi = BetaPosterior(3.0, 9.0).interval(0.8)
    assert shown_numbers(w)[1:3] == (round(float(lo), 4), round(float(hi), 4))
    assert "80% credible interval" in w.summary.value


def test_zoom_fits_the_axis_to_the_belief():
    w = beta_explorer(4.0, 98.0)
    assert w._ax.get_xlim() == (0.0, 1.0)
    w.controls["zoom"].value = True
    low, high = w._ax.get_xlim()
    lo999, hi999 = BetaPosterior(4.0, 98.0).interval(0.999)
    assert low <= float(lo999) and float(hi999) <= high < 0.5


def test_controls_are_the_documented_ones():
    w = beta_explorer()
    assert set(w.controls) == {"alpha", "beta", "successes", "failures", "add", "reset", "zoom"}
    shown = list(walk(w))
    assert w.figure_image.image in shown and w.summary in shown


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(alpha=-1.0), ValueError, "alpha == -1.0, must be a finite number > 0."),
    (dict(beta=0.05), ValueError, "beta == 0.05, must be >= 0.1"),
    (dict(alpha="2"), TypeError, "alpha == '2' is of type str"),
    (dict(level=1.0), ValueError, "level == 1.0, must be in (0, 1)."),
    (dict(successes=-2), ValueError, "successes == -2, must be >= 0."),
])
def test_bad_input_is_named(kwargs, exc, words):
    with pytest.raises(exc, match=re.escape(words)):
        beta_explorer(**kwargs)


def test_add_checks_its_counts():
    w = beta_explorer()
    with pytest.raises(TypeError, match=re.escape("successes == 1.5 is of type float")):
        w.add(1.5, 0)
    with pytest.raises(ValueError, match=re.escape("failures == -1, must be >= 0.")):
        w.add(0, -1)


def test_a_control_change_redraws_the_picture():
    # How fast is measured in benchmarks/bench_widgets.py (a speed target, not a test).
    w = beta_explorer()
    w.controls["alpha"].value = 2.0
    before = w.summary.value
    w.controls["beta"].value = 5.0
    assert w.summary.value != before
