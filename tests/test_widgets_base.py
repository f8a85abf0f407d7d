"""FigureImage: the PNG every widget shows, and the axis labels it pins for speed."""
import io

import numpy as np
import pytest
from PIL import Image

from bandit_lab.widgets._base import FigureImage


def _pixels(fi):
    return np.asarray(Image.open(io.BytesIO(fi.image.value)).convert("RGB"))


def _figure():
    fi = FigureImage(figsize=(4, 3))
    ax = fi.figure.add_axes((0.18, 0.15, 0.78, 0.75))
    ax.plot([0, 90])
    ax.set_xlabel("step")
    ax.set_ylabel("regret")
    return fi, ax


def test_first_picture_is_laid_out_like_the_later_ones():
    fi, _ = _figure()
    fi.render()
    first = _pixels(fi)
    fi.render()
    assert np.array_equal(first, _pixels(fi))


def test_labels_stay_clear_of_tick_labels_one_character_wider():
    fi, ax = _figure()
    fi.render()  # pins the labels with y ticks up to "80"
    ax.set_ylim(0, 150)  # tick labels one character wider ("150")
    fi.render()
    renderer = fi.canvas.get_renderer()
    label = ax.yaxis.label.get_window_extent(renderer)
    widest = min(t.get_window_extent(renderer).x0 for t in ax.get_yticklabels()
                 if t.get_text())
    assert label.x1 <= widest
    xlabel = ax.xaxis.label.get_window_extent(renderer)
    lowest = min(t.get_window_extent(renderer).y0 for t in ax.get_xticklabels() if t.get_text())
    assert xlabel.y1 <= lowest


def test_pins_survive_a_cleared_axes():
    fi, ax = _figure()
    fi.render()
    before = ax.yaxis.label.get_window_extent(fi.canvas.get_renderer()).bounds
    ax.clear()
    ax.plot([0, 90])
    ax.set_xlabel("step")
    ax.set_ylabel("regret")
    fi.render()
    after = ax.yaxis.label.get_window_extent(fi.canvas.get_renderer()).bounds
    assert np.allclose(before, after)
    assert 0 <= after[0] < fi.canvas.get_width_height()[0]  # on the picture


def test_unpinned_labels_are_laid_out_by_matplotlib():
    fi = FigureImage(figsize=(4, 3), pin_labels=False)
    ax = fi.figure.add_axes((0.18, 0.15, 0.78, 0.75))
    ax.set_ylabel("regret")
    fi.render()
    assert ax.yaxis._autolabelpos


def _same_as_matplotlib(fi, plain=None):
    """Our picture against a plain Agg canvas (``plain``, or a new one) drawing the same
    figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fi.render()
    ours = _pixels(fi)
    plain = FigureCanvasAgg(fi.figure) if plain is None else plain
    fi.figure.set_canvas(plain)
    plain.draw()
    theirs = np.asarray(plain.buffer_rgba())[..., :3]
    fi.figure.set_canvas(fi.canvas)
    return np.array_equal(ours, theirs)


def test_text_bitmaps_kept_between_draws_give_matplotlibs_own_pixels():
    fi, ax = _figure()
    ax.set_title("a title", fontsize="medium")
    ax.text(0.6, 20, "$x^2$ mathtext")  # drawn without the cache
    # The same string in every variation the bitmap depends on, each drawn after the
    # others are cached: a key that missed one would paint another's bitmap.
    variants = [dict(), dict(fontsize=15), dict(fontweight="bold"), dict(fontstyle="italic"),
                dict(family="serif"), dict(family="monospace"), dict(antialiased=False),
                dict(rotation=33), dict(rotation=90, fontsize=15)]
    for k, kwargs in enumerate(variants):
        ax.text(0.05 + 0.1 * k, 60 - 5 * k, "Same 80", **kwargs)
    for top in (90, 150, 90):  # tick labels come and go; "0" .. "80" come back from the cache
        ax.set_ylim(0, top)
        assert _same_as_matplotlib(fi)
    assert len(fi.canvas.get_renderer()._texts) > len(variants)


def test_text_bitmaps_follow_global_font_settings():
    # Against a plain canvas that also drew before the change: matplotlib keeps each
    # renderer's text sizes too, so both must see the same history.
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fi, ax = _figure()
    plain = FigureCanvasAgg(fi.figure)
    fi.figure.set_canvas(fi.canvas)
    assert _same_as_matplotlib(fi, plain)
    for change in ({"font.sans-serif": ["DejaVu Serif"]}, {"text.hinting_factor": 1},
                   {"text.kerning_factor": 6}):
        with matplotlib.rc_context(change):
            assert _same_as_matplotlib(fi, plain), change


def test_a_label_moved_to_the_other_side_is_laid_out_anew():
    fi, ax = _figure()
    ax.yaxis.set_label_position("right")
    ax.yaxis.tick_right()
    fi.render()
    renderer = fi.canvas.get_renderer()
    assert ax.yaxis.label.get_window_extent(renderer).x0 > ax.bbox.x1  # right of the axes
    ax.clear()  # label and ticks back on the left
    ax.plot([0, 90])
    ax.set_ylabel("regret")
    fi.render()
    label = ax.yaxis.label.get_window_extent(fi.canvas.get_renderer())
    ticks = min(t.get_window_extent(renderer).x0 for t in ax.get_yticklabels() if t.get_text())
    assert 0 <= label.x0 and label.x1 <= ticks  # left of the tick labels, on the picture


# -- drawn at the size it is shown ----------------------------------------------------------
def _png_size(fi):
    return Image.open(io.BytesIO(fi.image.value)).size


def test_picture_is_drawn_at_the_size_its_layout_pins():
    fi = FigureImage(figsize=(6.0, 3.5), dpi=96)
    fi.figure.add_axes((0.1, 0.1, 0.8, 0.8)).plot([0, 1])
    fi.render()
    assert fi.css_size == (576, 336)
    assert _png_size(fi) == fi.css_size
    layout = fi.image.layout
    assert (layout.width, layout.height, layout.max_width) == ("576px", "auto", "100%")
    assert layout.object_fit == "contain" and layout.flex == "0 0 auto"


def test_pixel_ratio_two_doubles_the_pixels_not_the_size_shown():
    one, two = FigureImage(figsize=(4, 2)), FigureImage(figsize=(4, 2), pixel_ratio=2)
    for fi in (one, two):
        ax = fi.figure.add_axes((0.1, 0.1, 0.8, 0.8))
        ax.plot([0, 1])
        ax.set_title("title")
        fi.render()
    assert two.css_size == one.css_size == (384, 192)
    assert _png_size(two) == (768, 384) and two.image.layout.width == "384px"
    # the same picture, twice as fine: text is as large relative to the picture
    assert two.figure.dpi == 2 * one.figure.dpi


def test_class_default_pixel_ratio_is_used_and_checked(monkeypatch):
    monkeypatch.setattr(FigureImage, "PIXEL_RATIO", 2)
    assert FigureImage(figsize=(1, 1)).pixel_ratio == 2
    with pytest.raises(ValueError, match="pixel_ratio == 3, must be 1 or 2"):
        FigureImage(figsize=(1, 1), pixel_ratio=3)


# -- controls, tables, "computing..." -------------------------------------------------------
def test_tidy_controls_gives_every_label_room_for_its_text():
    import ipywidgets as W

    from bandit_lab.widgets._layout import tidy_controls

    short = W.IntSlider(description="age")
    long = W.FloatSlider(description="applications (6 months)")
    button = W.Button(description="reset to the starting prior")
    tidy_controls([short, long, button])
    assert short.style.description_width == long.style.description_width == "24ch"
    assert long.layout.max_width == "100%"
    assert button.layout.width == "auto" and button.layout.min_width == "max-content"


def test_busy_says_computing_and_disables_only_while_slow_work_runs():
    import ipywidgets as W

    from bandit_lab.widgets._layout import Busy

    slider, already_off = W.IntSlider(), W.Button(disabled=True)
    busy = Busy([slider, already_off], threshold=0.05)
    texts, states = [], []
    busy.status.observe(lambda ch: texts.append(ch["new"]), names="value")
    slider.observe(lambda ch: states.append(ch["new"]), names="disabled")
    with busy.working(10, "simulating 4 strategies"):  # nothing measured yet: assumed slow
        assert slider.disabled and "computing: simulating 4 strategies" in busy.status.value
    assert not slider.disabled and already_off.disabled  # what was off stays off
    assert states == [True, False] and busy.status.value == busy.idle and busy.shown == 1
    busy.seconds_per_unit = 0.001     # 10 units: 0.01 s expected, under the threshold
    with busy.working(10):
        assert not slider.disabled
    with busy.working(0):             # a cached result: no work, nothing shown
        pass
    assert busy.shown == 1 and len(texts) == 2
    busy.seconds_per_unit = 1.0       # 10 s expected: shown; an error still restores
    with pytest.raises(RuntimeError), busy.working(10):
        raise RuntimeError("boom")
    assert busy.shown == 2 and not slider.disabled and busy.status.value == busy.idle


def test_busy_learns_from_slow_work():
    import time

    from bandit_lab.widgets._layout import Busy

    busy = Busy(threshold=0.01)
    with busy.working(1):
        time.sleep(0.03)
    assert busy.expected_seconds(1) >= 0.03 and busy.will_show(1)
    assert busy.expected_seconds(0.1) < 0.01 and not busy.will_show(0.1)
