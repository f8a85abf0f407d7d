"""What every widget's picture and controls promise, checked without a browser (the browser
tests, tests/e2e/, check the same in JupyterLab): each picture is drawn at the size its
layout pins, small enough for controls beside it in JupyterLab's output area; every text
of the picture lies inside it; every control is labelled in words and changes something."""
import io
from pathlib import Path

import ipywidgets as W
import numpy as np
import pytest
from PIL import Image

import bandit_lab.widgets as widgets
from bandit_lab.widgets._base import FigureImage
from bandit_lab.widgets._layout import walk

#: The largest picture shown at its natural size in a 1400 x 900 window with the file
#: browser open (an output area of 968 px), leaving room for the controls and a table
#: within the 700 px a widget may take.
MAX_PICTURE = (960, 450)
#: The course's own widgets keep their pictures within 600 px, so that they stay at their
#: natural size in an 800 px window with the file browser closed (~620 px) too, and beside
#: their controls at 1400 px.
MAX_PICTURE_BESIDE = (600, 400)
OWN = {"beta_explorer", "ts_stepper", "strategy_explorer", "posterior_lines",
       "customer_explorer", "forgetting_explorer", "ab_test_explorer"}


def _customer():
    from bandit_lab import CreditCardEnv, LinearTS, run_contextual

    env = CreditCardEnv(n_customers=1_000, n_history=500, rng=0)
    policy = LinearTS(5, 11, prior_var=2.0, noise_var=0.05, rng=1)
    run_contextual(policy, env, n_steps=300, rng=2)
    return widgets.customer_explorer(policy, env, n_draws=200)


def _ope():
    from bandit_lab import CreditCardEnv
    from bandit_lab.offpolicy import segment_policy

    env = CreditCardEnv(n_customers=1_000, n_history=300, rng=0)
    return widgets.ope_explorer(env, {"travel rule": segment_policy([3, 2, 1, 0])},
                                epsilons=(0.05, 0.5), epsilon=0.05, n_rounds=300, n_logs=10)


RECIPES = {
    "beta_explorer": lambda: widgets.beta_explorer(),
    "ts_stepper": lambda: widgets.ts_stepper(rng=0),
    "strategy_explorer": lambda: widgets.strategy_explorer(n_runs=10, rng=0),
    "posterior_lines": lambda: widgets.posterior_lines(rng=0),
    "customer_explorer": _customer,
    "forgetting_explorer": lambda: widgets.forgetting_explorer(n_runs=5, change_range=(0.0, 0.06),
                                                               change=0.06, change_step=0.03),
    "ab_test_explorer": lambda: widgets.ab_test_explorer(n_experiments=20),
    "ope_explorer": _ope,
}


def builders():
    """Every builder the package exports (a new one without a recipe is built with no
    arguments, so it is covered as soon as it lands)."""
    import inspect

    return sorted(n for n in widgets.__all__ if inspect.isfunction(getattr(widgets, n)))


@pytest.fixture(scope="module")
def built():
    cache = {}

    def get(name):
        if name not in cache:
            try:
                cache[name] = RECIPES.get(name, getattr(widgets, name))()
            except TypeError as err:
                pytest.fail(f"{name} cannot be built with no arguments ({err}): add a recipe "
                            f"for it to RECIPES in {Path(__file__).name}")
        return cache[name]
    return get


def figure_images(w):
    """The FigureImage objects a widget keeps (as attributes)."""
    found = [v for v in vars(w).values() if isinstance(v, FigureImage)]
    return found + [v for v in getattr(w, "__dict__", {}).values()
                    if hasattr(v, "fig_image") and v.fig_image not in found
                    for v in [v.fig_image] if isinstance(v, FigureImage)]


@pytest.mark.parametrize("name", builders())
def test_pictures_are_drawn_at_the_size_shown_and_fit_beside_the_controls(name, built):
    w = built(name)
    images = [c for c in walk(w) if isinstance(c, W.Image)]
    assert images, f"{name} shows no picture"
    fis = figure_images(w)
    assert {id(f.image) for f in fis} == {id(i) for i in images}, "every picture is a FigureImage"
    for fi in fis:
        png = Image.open(io.BytesIO(fi.image.value))
        width, height = fi.css_size
        assert png.size == (width * fi.pixel_ratio, height * fi.pixel_ratio)
        assert fi.image.layout.width == f"{width}px" and fi.image.layout.height == "auto"
        limit = MAX_PICTURE_BESIDE if name in OWN else MAX_PICTURE
        assert width <= limit[0] and height <= limit[1], (name, fi.css_size, limit)


def drawn_texts(fig):
    """Every text the last draw of ``fig`` drew (tick labels only of the ticks drawn)."""
    texts = list(fig.texts)
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        texts += [ax.title, ax._left_title, ax._right_title, *ax.texts]
        for axis in (ax.xaxis, ax.yaxis):
            texts.append(axis.label)
            for tick in axis._update_ticks():
                texts += [tick.label1, tick.label2]
        if ax.get_legend() is not None:
            texts += ax.get_legend().get_texts()
    for legend in fig.legends:
        texts += legend.get_texts()
    return [t for t in texts if t.get_visible() and t.get_text()]


@pytest.mark.parametrize("name", builders())
def test_every_text_of_the_picture_is_inside_it(name, built):
    w = built(name)
    for fi in figure_images(w):
        renderer = fi.canvas.get_renderer()
        fig_box = fi.figure.bbox
        for text in drawn_texts(fi.figure):
            box = text.get_window_extent(renderer)
            assert (box.x0 >= fig_box.x0 - 1 and box.x1 <= fig_box.x1 + 1
                    and box.y0 >= fig_box.y0 - 1 and box.y1 <= fig_box.y1 + 1), \
                f"{name}: {text.get_text()!r} at {box} is cut off by the picture's edge {fig_box}"


@pytest.mark.parametrize("name", builders())
def test_controls_are_labelled_in_words(name, built):
    w = built(name)
    for c in walk(w):
        text = getattr(c, "description", "") or ""
        if isinstance(c, (W.Button, W.ValueWidget)) and not isinstance(c, (W.HTML, W.Image)):
            assert "_" not in text, f"{name}: the control {text!r} is labelled with a code name"
        if isinstance(c, W.Button):
            assert text.strip(), f"{name}: a button without a label"
