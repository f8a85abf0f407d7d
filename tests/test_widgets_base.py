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


def test_text_bitmaps_kept_between_draws_give_matplotlibs_own_pixels():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fi, ax = _figure()
    ax.set_title("a title", fontsize="medium")
    ax.text(0.3, 40, "rotated", rotation=33, fontsize=13)
    ax.text(0.6, 20, "$x^2$ mathtext")  # drawn without the cache
    for top in (90, 150, 90):  # tick labels come and go; "0" .. "80" come back from the cache
        ax.set_ylim(0, top)
        fi.render()
        ours = _pixels(fi)
        plain = FigureCanvasAgg(fi.figure)
        plain.draw()
        theirs = np.asarray(plain.buffer_rgba())[..., :3]
        fi.figure.set_canvas(fi.canvas)
        assert np.array_equal(ours, theirs)
    assert len(fi.canvas.get_renderer()._texts) > 5
