"""Play with a Beta belief: move the prior, add successes and failures, watch it narrow.

Taught in notebooks/02_beta_priors.ipynb.

:func:`beta_explorer` returns a :class:`BetaExplorer`, an ``ipywidgets.VBox`` whose pieces a
test (or a curious learner) can reach: ``controls`` (a dict of the sliders, number boxes and
buttons), ``summary`` (an ``ipywidgets.HTML`` with the mean and credible interval),
``figure_image`` (the :class:`~bandit_lab.widgets._base.FigureImage`) and ``posterior``
(the current :class:`~bandit_lab.BetaPosterior`). Every callback is a plain method, so
setting ``controls["alpha"].value`` or calling ``controls["add"].click()`` redraws without
a kernel.
"""
from __future__ import annotations

import math

import ipywidgets as W
import numpy as np

from .._validation import check_int, check_positive, check_probability
from ..posteriors import BetaPosterior
from ._base import FigureImage
from ._layout import controls_beside_picture, text_block, tidy_controls

__all__ = ["beta_explorer", "BetaExplorer"]

_GRID = np.linspace(0.0005, 0.9995, 400)


class BetaExplorer(W.VBox):
    """The widget :func:`beta_explorer` builds; see there for the parameters.

    Attributes
    ----------
    controls : dict of str -> ipywidgets widget
        ``"alpha"``, ``"beta"`` (sliders), ``"successes"``, ``"failures"`` (whole numbers to
        add), ``"add"``, ``"reset"`` (buttons) and ``"zoom"`` (a checkbox: fit the x axis to
        the belief instead of showing all of [0, 1]).
    summary : ipywidgets.HTML
        Mean, standard deviation, credible interval and skewness of the current belief.
    figure_image : FigureImage
        The figure and the PNG image widget that shows it.
    """

    def __init__(self, alpha, beta, *, level, successes, failures, max_value, figsize, dpi):
        self.level = level
        self.initial = (alpha, beta)
        slider = dict(min=0.1, step=0.1, readout_format=".1f", continuous_update=False)
        top = max(max_value, math.ceil(alpha), math.ceil(beta))
        self.controls = {
            "alpha": W.FloatSlider(value=alpha, max=top, description="alpha", **slider),
            "beta": W.FloatSlider(value=beta, max=top, description="beta", **slider),
            "successes": W.BoundedIntText(value=successes, min=0, max=100_000,
                                          description="successes"),
            "failures": W.BoundedIntText(value=failures, min=0, max=100_000,
                                         description="failures"),
            "add": W.Button(description="add data", button_style="primary",
                            tooltip="alpha += successes, beta += failures"),
            "reset": W.Button(description="reset to the starting prior",
                              tooltip=f"alpha = {alpha:g}, beta = {beta:g}"),
            "zoom": W.Checkbox(value=False, description="zoom to the belief", indent=False),
        }
        self.summary = W.HTML()
        self.figure_image = FigureImage(figsize=figsize, dpi=dpi)
        self._holding = False
        self._setup_axes()

        self.controls["alpha"].observe(self._on_change, names="value")
        self.controls["beta"].observe(self._on_change, names="value")
        self.controls["zoom"].observe(self._on_change, names="value")
        self.controls["add"].on_click(self._on_add)
        self.controls["reset"].on_click(self._on_reset)

        c = self.controls
        tidy_controls(c.values())
        super().__init__(children=controls_beside_picture(
            [c["alpha"], c["beta"], c["successes"], c["failures"],
             W.HBox([c["add"], c["reset"]], layout=W.Layout(flex_flow="row wrap")), c["zoom"]],
            self.figure_image.image, [self.summary]))
        self.redraw()

    # -- what the controls do ----------------------------------------------------------
    @property
    def posterior(self):
        """The belief the sliders show now, as a :class:`~bandit_lab.BetaPosterior`."""
        return BetaPosterior(self.controls["alpha"].value, self.controls["beta"].value)

    def add(self, successes, failures):
        """Observe ``successes`` and ``failures``: alpha += successes, beta += failures."""
        successes = check_int("successes", successes, minimum=0)
        failures = check_int("failures", failures, minimum=0)
        self._set_values(self.controls["alpha"].value + successes,
                         self.controls["beta"].value + failures)

    def reset(self):
        """Back to the prior the widget started with."""
        self._set_values(*self.initial)

    def _set_values(self, alpha, beta):
        self._holding = True  # one redraw for both sliders, not two
        try:
            for name, value in (("alpha", alpha), ("beta", beta)):
                ctl = self.controls[name]
                if value > ctl.max:  # the data outgrew the slider: stretch it
                    ctl.max = float(math.ceil(value))
                ctl.value = value
        finally:
            self._holding = False
        self.redraw()

    def _on_change(self, change):
        if not self._holding:
            self.redraw()

    def _on_add(self, _button):
        self.add(self.controls["successes"].value, self.controls["failures"].value)

    def _on_reset(self, _button):
        self.reset()

    # -- drawing -------------------------------------------------------------------------
    def _setup_axes(self):
        fig = self.figure_image.figure
        # Fixed margins: a constrained layout, recomputed on every redraw, doubles its cost.
        fig.set_layout_engine("none")
        ax = fig.add_axes((0.12, 0.15, 0.85, 0.75))
        self._ax = ax
        self._curve, = ax.plot([], [], color="C0", linewidth=2)
        self._mean_line = ax.axvline(0.5, color="C3", linestyle="--", linewidth=1.5)
        self._band = None
        ax.set_xlabel("conversion rate p")
        ax.set_ylabel("density")

    def summary_numbers(self):
        """The numbers the summary shows: mean, sd, interval ends, skewness (floats)."""
        post = self.posterior
        lo, hi = post.interval(self.level)
        return {"mean": float(post.mean), "sd": float(np.sqrt(post.var)), "low": float(lo),
                "high": float(hi), "skewness": float(post.skewness)}

    def redraw(self):
        """Recompute the summary and redraw the figure from the sliders' values."""
        post = self.posterior
        a, b = float(post.alpha), float(post.beta)
        nums = self.summary_numbers()
        if self.controls["zoom"].value:
            lo999, hi999 = post.interval(0.999)
            pad = 0.15 * (float(hi999) - float(lo999))
            x = np.linspace(max(float(lo999) - pad, 0.0005), min(float(hi999) + pad, 0.9995), 400)
        else:
            x = _GRID
        y = post.pdf(x)
        self._curve.set_data(x, y)
        self._mean_line.set_xdata([nums["mean"], nums["mean"]])
        if self._band is not None:
            self._band.remove()
        inside = (x >= nums["low"]) & (x <= nums["high"])
        self._band = self._ax.fill_between(x[inside], y[inside], color="C0", alpha=0.2, linewidth=0)
        self._ax.set_xlim((x[0], x[-1]) if self.controls["zoom"].value else (0.0, 1.0))
        if a >= 1 and b >= 1:  # the density is bounded: show all of it
            top = float(y.max())
        else:  # it shoots to infinity at an edge: cap the axis where the middle stays visible
            top = min(float(y.max()), max(4.0, 3.0 * float(post.pdf(nums["mean"]))))
        self._ax.set_ylim(0, 1.08 * top)
        self._ax.set_title(f"Beta({a:.1f}, {b:.1f}): dashed = mean, "
                           f"shaded = {self.level:.0%} credible interval", fontsize="medium")
        self.summary.value = text_block(
            f"<b>Beta({a:.1f}, {b:.1f})</b>: mean <b>{nums['mean']:.4f}</b>, "
            f"sd {nums['sd']:.4f}, {self.level:.0%} credible interval "
            f"<b>[{nums['low']:.4f}, {nums['high']:.4f}]</b>, skewness {nums['skewness']:+.3f} "
            f"({_tail(nums['skewness'])})")
        self.figure_image.render()


def _tail(skewness):
    if abs(skewness) < 1e-9:
        return "symmetric"
    return "long tail to the right" if skewness > 0 else "long tail to the left"


def beta_explorer(alpha=1.0, beta=1.0, *, level=0.95, successes=1, failures=9, max_value=50,
                  figsize=(5.6, 2.9), dpi=96):
    """A Beta(alpha, beta) belief with sliders, an "add data" button and a reset.

    Parameters
    ----------
    alpha, beta : float > 0, default 1.0
        The starting prior (``reset`` returns to it). Sliders run from 0.1 to
        ``max_value`` and stretch when added data outgrows them.
    level : float in (0, 1), default 0.95
        Probability held by the shaded credible interval.
    successes, failures : int >= 0
        Starting values of the "add data" boxes.
    max_value : int >= 1
        Initial upper end of the sliders.
    figsize, dpi
        Size of the picture in inches and CSS pixels per inch: it is drawn at the size
        the page shows it (see :class:`~bandit_lab.widgets.FigureImage`).

    Returns
    -------
    BetaExplorer
        An ``ipywidgets.VBox`` with ``controls``, ``summary``, ``figure_image`` and
        ``posterior``.

    Examples
    --------
    >>> w = beta_explorer(2.0, 8.0)
    >>> w.controls["successes"].value, w.controls["failures"].value = 3, 7
    >>> w.controls["add"].click()
    >>> float(w.posterior.alpha), float(w.posterior.beta)
    (5.0, 15.0)
    >>> "mean <b>0.2500</b>" in w.summary.value
    True
    """
    alpha = check_positive("alpha", alpha)
    beta = check_positive("beta", beta)
    for name, value in (("alpha", alpha), ("beta", beta)):
        if value < 0.1:
            raise ValueError(f"{name} == {value!r}, must be >= 0.1 (the sliders' lower end).")
    level = check_probability("level", level, open_low=True, open_high=True)
    successes = check_int("successes", successes, minimum=0)
    failures = check_int("failures", failures, minimum=0)
    max_value = check_int("max_value", max_value, minimum=1)
    return BetaExplorer(alpha, beta, level=level, successes=successes, failures=failures,
                        max_value=max_value, figsize=figsize, dpi=dpi)
