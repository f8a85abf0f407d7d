"""Watch Bayesian linear regression learn a line: add observations, see the belief tighten.

Taught in notebooks/05_contextual_bandits.ipynb.

:func:`posterior_lines` returns a :class:`PosteriorLines`, an ``ipywidgets.VBox`` whose
pieces a test (or a curious learner) can reach: ``controls`` (sliders and buttons),
``summary`` (an ``ipywidgets.HTML`` with the posterior of intercept and slope),
``figure_image`` (the :class:`~bandit_lab.widgets._base.FigureImage`), ``data`` (the
observations the widget reveals one batch at a time) and ``posterior`` (the current
:class:`~bandit_lab.GaussianLinearPosterior`). Callbacks are plain methods: setting
``controls["n_obs"].value`` or calling ``controls["add"].click()`` redraws without a kernel.
"""
from __future__ import annotations

import ipywidgets as W
import numpy as np

from .._rng import resolve_rng
from .._validation import check_int, check_positive, check_probability
from ..linear_posterior import GaussianLinearPosterior
from ._base import FigureImage
from ._layout import controls_beside_picture, text_block, tidy_controls

__all__ = ["posterior_lines", "PosteriorLines"]

_X_RANGE = (-2.0, 2.0)


class PosteriorLines(W.VBox):
    """The widget :func:`posterior_lines` builds; see there for the parameters.

    Attributes
    ----------
    controls : dict of str -> ipywidgets widget
        ``"n_obs"`` (how many observations the model has seen), ``"prior_var"`` and
        ``"noise_var"`` (the model's assumptions, log sliders), ``"add"`` (reveal
        ``step`` more observations) and ``"reset"`` (back to no data).
    summary : ipywidgets.HTML
    figure_image : FigureImage
    data : tuple (x, r) of ndarrays
        Every observation the widget can reveal, drawn once from the true line.
    truth : tuple (intercept, slope, noise_var)
    """

    def __init__(self, *, intercept, slope, noise_var, prior_var, n_max, step, n_lines, level,
                 rng, figsize, dpi):
        gen = resolve_rng(rng)
        self.truth = (intercept, slope, noise_var)
        self.level = level
        self.step = step
        x = gen.uniform(*_X_RANGE, size=n_max)
        r = intercept + slope * x + gen.normal(0.0, np.sqrt(noise_var), size=n_max)
        self.data = (x, r)
        self._z = gen.standard_normal((n_lines, 2))   # fixed draws: lines move smoothly
        log_slider = dict(min=-3, max=2, base=10, continuous_update=False, readout_format=".3g")
        self.controls = {
            "n_obs": W.IntSlider(value=0, min=0, max=n_max, description="observations seen",
                                 continuous_update=False),
            "add": W.Button(description=f"add {step} observations", button_style="primary",
                            tooltip=f"reveal {step} more observations"),
            "reset": W.Button(description="remove all observations",
                              tooltip="back to the prior belief: no data seen"),
            "prior_var": W.FloatLogSlider(value=prior_var, description="prior variance",
                                          tooltip="how far intercept and slope may be from 0 "
                                                  "before any data (prior_var)", **log_slider),
            "noise_var": W.FloatLogSlider(value=noise_var, description="assumed noise variance",
                                          tooltip="the noise the model assumes around the line "
                                                  "(noise_var)", **log_slider),
        }
        self.summary = W.HTML()
        self.figure_image = FigureImage(figsize=figsize, dpi=dpi)
        self._setup_axes()
        for name in ("n_obs", "prior_var", "noise_var"):
            self.controls[name].observe(self._on_change, names="value")
        self.controls["add"].on_click(self._on_add)
        self.controls["reset"].on_click(self._on_reset)
        c = self.controls
        tidy_controls(c.values(), track="120px")
        buttons = W.HBox([c["add"], c["reset"]], layout=W.Layout(flex_flow="row wrap"))
        super().__init__(children=controls_beside_picture(
            [c["n_obs"], buttons, c["prior_var"], c["noise_var"]], self.figure_image.image,
            [self.summary]))
        self.redraw()

    # -- the model ----------------------------------------------------------------------
    def design(self, x):
        """Features of the model for inputs ``x``: an intercept and ``x``, shape (n, 2)."""
        x = np.atleast_1d(np.asarray(x, dtype=float))
        return np.column_stack([np.ones_like(x), x])

    @property
    def posterior(self):
        """The belief about (intercept, slope) after the observations revealed so far."""
        n = self.controls["n_obs"].value
        x, r = self.data
        return GaussianLinearPosterior.from_data(self.design(x[:n]), r[:n],
                                                 prior_var=self.controls["prior_var"].value,
                                                 noise_var=self.controls["noise_var"].value)

    def add(self, k=None):
        """Reveal ``k`` (default ``step``) more observations."""
        k = self.step if k is None else check_int("k", k, minimum=0)
        ctl = self.controls["n_obs"]
        ctl.value = min(ctl.value + k, ctl.max)

    def reset(self):
        self.controls["n_obs"].value = 0

    def _on_change(self, change):
        self.redraw()

    def _on_add(self, _button):
        self.add()

    def _on_reset(self, _button):
        self.reset()

    # -- drawing ------------------------------------------------------------------------
    def _setup_axes(self):
        fig = self.figure_image.figure
        fig.set_layout_engine("none")  # fixed margins: re-laying out every redraw is slow
        ax = fig.add_axes((0.12, 0.15, 0.85, 0.75))
        self._ax = ax
        self._grid = np.linspace(*_X_RANGE, 60)
        b0, b1, _ = self.truth
        ax.plot(self._grid, b0 + b1 * self._grid, "k--", linewidth=1.5, label="true line")
        self._lines = [ax.plot([], [], color="C0", alpha=0.25, linewidth=1,
                               label="lines drawn from the belief" if i == 0 else None)[0]
                       for i in range(self._z.shape[0])]
        self._band = ax.fill_between(self._grid, 0 * self._grid, 0 * self._grid, color="C0", alpha=0.15,
                                     linewidth=0)
        self._mean_line, = ax.plot([], [], color="C0", linewidth=2.5, label="posterior mean line")
        self._points, = ax.plot([], [], "o", color="C1", markersize=4, label="observations")
        x, r = self.data
        pad = 0.5 + 2 * np.sqrt(self.truth[2])
        low, high = min(r.min(), (b0 + b1 * self._grid).min()), max(r.max(), (b0 + b1 * self._grid).max())
        ax.set_xlim(*_X_RANGE)
        ax.set_ylim(low - pad, high + pad)
        ax.set_xlabel("feature x")
        ax.set_ylabel("reward r")
        ax.legend(loc="upper left", fontsize="small")

    def summary_numbers(self):
        """Posterior mean and sd of intercept and slope, and the band's width at x = 0 and 2."""
        post = self.posterior
        lo, hi = post.interval(self.design([0.0, 2.0]), self.level)
        return {"n_obs": post.n_obs,
                "intercept": float(post.mean[0]), "intercept_sd": float(post.sd[0]),
                "slope": float(post.mean[1]), "slope_sd": float(post.sd[1]),
                "width_at_0": float(hi[0] - lo[0]), "width_at_2": float(hi[1] - lo[1])}

    def redraw(self):
        """Recompute the belief from the controls and redraw figure and summary."""
        post = self.posterior
        n = post.n_obs
        grid_design = self.design(self._grid)
        chol = np.linalg.cholesky(post.cov)        # a 2 x 2 factor, for the drawn lines only
        weights = post.mean + self._z @ chol.T
        for line, w in zip(self._lines, weights):
            line.set_data(self._grid, grid_design @ w)
        self._mean_line.set_data(self._grid, grid_design @ post.mean)
        x, r = self.data
        self._points.set_data(x[:n], r[:n])
        lo, hi = post.interval(grid_design, self.level)
        outline = np.concatenate([np.column_stack([self._grid, lo]), np.column_stack([self._grid, hi])[::-1]])
        self._band.set_verts([outline])
        self._ax.set_title(f"Belief after {n} observation{'s' if n != 1 else ''} "
                           f"(band: {self.level:.0%} credible interval)", fontsize="medium")
        nums = self.summary_numbers()
        b0, b1, nv = self.truth
        self.summary.value = text_block(
            f"<b>{n}</b> observations. Intercept <b>{nums['intercept']:.3f}</b> "
            f"&plusmn; {nums['intercept_sd']:.3f} (truth {b0:g}), slope <b>{nums['slope']:.3f}</b> "
            f"&plusmn; {nums['slope_sd']:.3f} (truth {b1:g}); band width at x = 0: "
            f"{nums['width_at_0']:.3f}, at x = 2: {nums['width_at_2']:.3f}. "
            f"The data's noise variance is {nv:g}; the model assumes "
            f"{self.controls['noise_var'].value:.3g}.")
        self.figure_image.render()


def posterior_lines(*, intercept=0.5, slope=1.2, noise_var=0.25, prior_var=1.0, n_max=200,
                    step=5, n_lines=20, level=0.95, rng=0, figsize=(5.6, 3.2), dpi=96):
    """Bayesian linear regression on one feature, ``r = intercept + slope * x + noise``,
    with a button that adds observations.

    Parameters
    ----------
    intercept, slope : float
        The true line the observations come from.
    noise_var : float > 0
        Variance of the observations around the true line (also the model's starting
        assumption; its slider changes only the assumption).
    prior_var : float > 0
        Prior variance of intercept and slope (the model's starting assumption).
    n_max : int >= 1
        Observations available to reveal.
    step : int >= 1
        How many the "add" button reveals.
    n_lines : int >= 1
        Lines drawn from the belief.
    level : float in (0, 1)
    rng : None, int or numpy.random.Generator
        Draws the data and the lines once, when the widget is built.

    Returns
    -------
    PosteriorLines

    Examples
    --------
    >>> w = posterior_lines(rng=0)
    >>> w.controls["add"].click(); w.controls["add"].click()
    >>> w.posterior.n_obs
    10
    >>> "<b>10</b> observations" in w.summary.value
    True
    """
    for name, value in (("intercept", intercept), ("slope", slope)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} == {value!r} is of type {type(value).__name__}, must be a real number.")
        if not np.isfinite(value):
            raise ValueError(f"{name} == {value!r}, must be a finite number.")
    noise_var = check_positive("noise_var", noise_var)
    prior_var = check_positive("prior_var", prior_var)
    for name, value in (("noise_var", noise_var), ("prior_var", prior_var)):
        if not 1e-3 <= value <= 100:
            raise ValueError(f"{name} == {value!r}, must be in [0.001, 100] (the slider's range).")
    n_max = check_int("n_max", n_max, minimum=1)
    step = check_int("step", step, minimum=1)
    n_lines = check_int("n_lines", n_lines, minimum=1)
    level = check_probability("level", level, open_low=True, open_high=True)
    return PosteriorLines(intercept=float(intercept), slope=float(slope), noise_var=noise_var,
                          prior_var=prior_var, n_max=n_max, step=step, n_lines=n_lines,
                          level=level, rng=rng, figsize=figsize, dpi=dpi)
