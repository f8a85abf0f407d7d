"""FigureImage: the PNG every widget shows, and the axis labels it pins for speed."""
import io

import numpy as np
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
