"""Choose two true conversion rates and a threshold of caring; watch when A/B tests stop.

Taught in notebooks/08_bayesian_ab_testing.ipynb.

:func:`ab_test_explorer` simulates a few hundred A/B experiments that look at their data
every ``check_every`` visitors per variant and stop as soon as the expected loss of the
favourite drops below the threshold (:func:`bandit_lab.ab_testing.stop_on_expected_loss`).
It shows when they stopped, how often they shipped the worse variant, and how many visitors
a classical fixed-sample z-test would need for the same two rates.

Speed: for each pair of rates the expected loss at *every* look of every experiment is
computed once (one :func:`~bandit_lab.ab_testing.sequential_ab_test` run whose rule records
the losses and never stops) and cached, so moving the threshold only compares numbers.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from typing import ClassVar

import ipywidgets as W
import numpy as np

from .._rng import resolve_rng
from .._validation import check_int, check_positive, check_probability
from ..ab_testing import SequentialTestResult, expected_loss, sequential_ab_test, ztest_sample_size
from ._base import FigureImage, swatch_html
from ._layout import Busy, controls_beside_picture, text_block, tidy_controls

__all__ = ["ab_test_explorer", "ABTestExplorer", "ExpectedLossPaths"]


class ExpectedLossPaths:
    """Expected loss of A and B at every look of simulated experiments, cached per rates.

    Parameters
    ----------
    n_experiments, check_every, max_samples : int
        As in :func:`~bandit_lab.ab_testing.sequential_ab_test`.
    rng : None, int or numpy.random.Generator
        Fixes :attr:`seed`; every pair of rates is simulated from it.
    max_cached : int
        Pairs of rates kept.

    Examples
    --------
    >>> paths = ExpectedLossPaths(n_experiments=20, check_every=100, max_samples=1000, rng=0)
    >>> paths.losses(0.05, 0.08).shape          # experiments x looks x variants
    (20, 10, 2)
    >>> res = paths.result(0.05, 0.08, threshold=0.002)
    >>> res.stop_samples.shape
    (20,)
    """

    def __init__(self, *, n_experiments=200, check_every=250, max_samples=10_000, rng=0,
                 max_cached=32):
        self.n_experiments = check_int("n_experiments", n_experiments, minimum=1)
        self.check_every = check_int("check_every", check_every, minimum=1)
        self.max_samples = check_int("max_samples", max_samples, minimum=1)
        if self.max_samples % self.check_every:
            raise ValueError(f"max_samples == {self.max_samples}, must be a multiple of "
                             f"check_every == {self.check_every}.")
        self.max_cached = check_int("max_cached", max_cached, minimum=1)
        self.seed = int(resolve_rng(rng).integers(2**63))
        self._cache = OrderedDict()
        self.simulated = 0  # number of simulations run, for tests and timing notes

    @staticmethod
    def key(rate_a, rate_b):
        """Rates rounded so that slider noise does not defeat the cache."""
        return round(float(rate_a), 6), round(float(rate_b), 6)

    def _simulate(self, rate_a, rate_b):
        n_looks = self.max_samples // self.check_every
        successes = np.empty((self.n_experiments, n_looks, 2))
        trials = np.empty((self.n_experiments, n_looks, 2))
        look = iter(range(n_looks))

        def record(s, n):  # a rule that never stops: every look of every experiment
            k = next(look)
            successes[:, k], trials[:, k] = s, n
            return np.zeros(len(s), dtype=bool), np.zeros(len(s), dtype=int)

        sequential_ab_test(rate_a, rate_b, rule=record, threshold=None,
                           check_every=self.check_every, max_samples=self.max_samples,
                           n_experiments=self.n_experiments, rng=self.seed)
        # The losses of all looks in one call: a few large blocks of exact sums cost less
        # than one call per look.
        s, n = successes, trials
        losses = expected_loss((1.0 + s[..., 0], 1.0 + n[..., 0] - s[..., 0]),
                               (1.0 + s[..., 1], 1.0 + n[..., 1] - s[..., 1]))
        self.simulated += 1
        return losses, successes

    def _entry(self, rate_a, rate_b):
        key = self.key(rate_a, rate_b)
        entry = self._cache.get(key)
        if entry is None:
            entry = self._simulate(*key)
            self._cache[key] = entry
            while len(self._cache) > self.max_cached:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return entry

    def cached(self, rate_a, rate_b):
        """Whether the experiments for these rates are simulated already."""
        return self.key(rate_a, rate_b) in self._cache

    def losses(self, rate_a, rate_b):
        """Expected loss of choosing A and B, shape (n_experiments, n_looks, 2)."""
        return self._entry(rate_a, rate_b)[0]

    def result(self, rate_a, rate_b, *, threshold):
        """The experiments stopped by the expected-loss rule at ``threshold``.

        The same numbers as ``sequential_ab_test(rate_a, rate_b, rule="expected_loss",
        threshold=threshold, ...)`` with this object's settings and seed.
        """
        threshold = check_positive("threshold", threshold)
        losses, successes = self._entry(rate_a, rate_b)
        below = losses.min(axis=2) < threshold                  # (experiments, looks)
        stopped = below.any(axis=1)
        look = np.where(stopped, below.argmax(axis=1), below.shape[1] - 1)
        rows = np.arange(self.n_experiments)
        decision = np.where(stopped, losses[rows, look].argmin(axis=1), -1)
        rates = np.tile(np.array(self.key(rate_a, rate_b)), (self.n_experiments, 1))
        return SequentialTestResult(rates=rates, stopped=stopped,
                                    stop_samples=(look + 1) * self.check_every,
                                    decision=decision, successes=successes[rows, look],
                                    prior=(1.0, 1.0))


def summarize(result, threshold):
    """The numbers the widget prints, as a dict."""
    stopped = result.stopped
    loss = result.loss[stopped]
    return {
        "stopped": float(stopped.mean()),
        "median_stop": float(np.median(result.stop_samples[stopped])) if stopped.any() else np.nan,
        "p90_stop": float(np.percentile(result.stop_samples[stopped], 90)) if stopped.any() else np.nan,
        "chose_worse": float(result.chose_worse.mean()),
        "mean_loss": float(loss.mean()) if loss.size else np.nan,
        "threshold": float(threshold),
    }


def _classical_n(rate_a, rate_b):
    if rate_a == rate_b or not (0 < rate_a < 1 and 0 < rate_b < 1):
        return None
    return ztest_sample_size(rate_a, rate_b, alpha=0.05, power=0.8)


def _summary_html(row, rate_a, rate_b, n_classical, n_experiments, max_samples, key=""):
    if n_classical is None:
        classical = ("a classical test cannot be sized for a difference of 0: it would run "
                     "for ever (or until its budget) and then, correctly, find nothing")
    else:
        classical = (f"a classical z-test (alpha 0.05, power 0.8) needs <b>{n_classical:,}</b> "
                     "visitors per variant, fixed in advance")
    stop = ("" if np.isnan(row["median_stop"]) else
            f"; median stop at <b>{row['median_stop']:,.0f}</b> visitors per variant "
            f"(90th percentile {row['p90_stop']:,.0f})")
    loss = "" if np.isnan(row["mean_loss"]) else f"{row['mean_loss']:.5f}"
    return text_block(f"<b>{n_experiments} simulated experiments</b>, true rates A = {rate_a:.3f}, "
            f"B = {rate_b:.3f}, threshold of caring {row['threshold']:.5f}.<br>"
            f"Stopped within {max_samples:,} visitors per variant: <b>{row['stopped']:.0%}</b>"
            f"{stop}.<br>"
            f"Shipped the worse variant: <b>{row['chose_worse']:.1%}</b> of experiments; "
            f"conversion rate given up, averaged over stopped experiments: <b>{loss}</b> "
            f"(the rule keeps this below the threshold on average over rates drawn from its "
            f"prior; for one fixed pair of rates it can be above).<br>"
            f"For comparison, {classical}.{key}")


class _Picture:
    """The histogram of stopping times, drawn once and then updated in place.

    Re-using the artists (no ``ax.clear()``, no legend: the key under the picture names
    the colours) keeps a redraw to the cost of rendering the PNG. The classical test's
    sample size is a dashed line where it falls on the axis; beyond the axis's end it is
    an arrow at the right edge with its number.
    """

    COLORS: ClassVar[dict[str, str]] = {"good": "C2", "worse": "C3", "never": "C7"}

    def __init__(self, fig_image, max_samples, check_every):
        self.fig_image = fig_image
        self.edges = np.arange(0, max_samples + check_every, check_every) + check_every / 2
        self.max_samples, self.check_every = max_samples, check_every
        fig = fig_image.figure
        fig.set_layout_engine("none")  # a fixed layout keeps redraws fast
        ax = self.ax = fig.add_axes((0.11, 0.15, 0.86, 0.75))
        zeros = np.zeros(self.edges.size - 1)
        # Stacked: the total (worse variant shipped shows on top) over the good ones.
        self.total = ax.stairs(zeros, self.edges, fill=True, color=self.COLORS["worse"])
        self.good = ax.stairs(zeros, self.edges, fill=True, color=self.COLORS["good"])
        end = max_samples + check_every / 2
        self.never = ax.stairs([0.0], [end, end + check_every], fill=True,
                               color=self.COLORS["never"])
        self.classical = ax.axvline(0, color="k", linestyle="--")
        self.right = max_samples + 1.5 * check_every
        ax.set_xlim(0, self.right)
        # beyond the axis: an arrow pointing off the right edge, with the number
        self.beyond = ax.annotate("", xy=(1.0, 0.7), xycoords="axes fraction",
                                  xytext=(-40, 0), textcoords="offset points", ha="right",
                                  va="center", fontsize="small",
                                  arrowprops=dict(arrowstyle="-|>", color="k", linewidth=1.2))
        ax.set_xlabel("visitors per variant when the experiment stopped")
        ax.set_ylabel("number of experiments")
        self.title = ax.set_title("", fontsize="medium")

    def update(self, result, n_classical, rate_a, rate_b):
        stop = result.stop_samples
        good, _ = np.histogram(stop[result.stopped & ~result.chose_worse], bins=self.edges)
        bad, _ = np.histogram(stop[result.chose_worse], bins=self.edges)
        never = int((~result.stopped).sum())
        self.good.set_data(good.astype(float))
        self.total.set_data((good + bad).astype(float))
        self.never.set_data([float(never)])
        on_axis = n_classical is not None and n_classical <= self.max_samples
        beyond = n_classical is not None and not on_axis
        self.classical.set_visible(on_axis)
        if on_axis:
            self.classical.set_xdata([n_classical, n_classical])
        self.beyond.set_visible(beyond)
        self.beyond.set_text(f"z-test: {n_classical:,}" if beyond else "")
        self.ax.set_ylim(0, 1.25 * max(1, (good + bad).max(), never))
        self.title.set_text(f"A = {rate_a:.3f}, B = {rate_b:.3f}: when did "
                            f"{result.n_experiments} experiments stop?")
        self.fig_image.render()
        return "on the axis" if on_axis else ("beyond the axis" if beyond else "none")


def _key_html(n_classical, where, max_samples):
    """What the picture's colours and marks mean (the picture has no legend)."""
    parts = [f"{swatch_html(_Picture.COLORS['good'])}stopped, shipped the better (or an "
             "equal) variant",
             f"{swatch_html(_Picture.COLORS['worse'])}stopped, shipped the worse variant",
             f"{swatch_html(_Picture.COLORS['never'])}never stopped (the bar right of "
             f"{max_samples:,})"]
    if where == "on the axis":
        parts.append(f"{swatch_html('k', dashed=True)}a classical z-test's fixed sample size "
                     f"({n_classical:,})")
    elif where == "beyond the axis":
        parts.append(f"&#x2192; at the right edge: a classical z-test's fixed sample size, "
                     f"{n_classical:,}, beyond the axis")
    return "<div style='font-size:smaller'>" + " &nbsp; ".join(parts) + "</div>"


class ABTestExplorer(W.VBox):
    """The widget :func:`ab_test_explorer` builds; see there for the parameters.

    Attributes
    ----------
    controls : dict of str -> ipywidgets widget
        ``"rate A"``, ``"rate B"`` (sliders) and ``"threshold"`` (a log-scale slider).
    summary : ipywidgets.HTML
    figure : FigureImage
    paths : ExpectedLossPaths
        The cached simulations.
    row : dict
        The numbers in the summary (see :func:`summarize`).
    result : SequentialTestResult
        The experiments behind the current picture.
    timings : list of float
        Seconds taken by each redraw.
    """

    def __init__(self, rate_a, rate_b, threshold, *, max_rate, paths, figsize, dpi):
        self.paths = paths
        slider = dict(min=0.001, max=max_rate, step=0.001, readout_format=".3f",
                      continuous_update=False)
        self.controls = {
            "rate A": W.FloatSlider(value=rate_a, description="true rate A", **slider),
            "rate B": W.FloatSlider(value=rate_b, description="true rate B", **slider),
            "threshold": W.FloatLogSlider(value=threshold, base=10, min=-4.5, max=-2, step=0.25,
                                          readout_format=".5f",
                                          description="threshold of caring",
                                          continuous_update=False),
        }
        tidy_controls(self.controls.values(), track="110px")
        self.figure = FigureImage(figsize=figsize, dpi=dpi)
        self._picture = _Picture(self.figure, paths.max_samples, paths.check_every)
        self.summary = W.HTML()
        self.busy = Busy(list(self.controls.values()))
        self.timings = []
        for control in self.controls.values():
            control.observe(self.redraw, names="value")
        super().__init__(controls_beside_picture([*self.controls.values(), self.busy.status],
                                                 self.figure.image, [self.summary]))
        self.redraw()

    def redraw(self, _change=None):
        start = time.perf_counter()
        rate_a = self.controls["rate A"].value
        rate_b = self.controls["rate B"].value
        threshold = self.controls["threshold"].value
        paths = self.paths
        work = 0 if paths.cached(rate_a, rate_b) else paths.n_experiments * paths.max_samples
        with self.busy.working(work, f"simulating {paths.n_experiments} experiments"):
            self.result = paths.result(rate_a, rate_b, threshold=threshold)
        self.row = summarize(self.result, threshold)
        n_classical = _classical_n(rate_a, rate_b)
        self.classical_shown = self._picture.update(self.result, n_classical, rate_a, rate_b)
        self.summary.value = _summary_html(
            self.row, rate_a, rate_b, n_classical, paths.n_experiments, paths.max_samples,
            _key_html(n_classical, self.classical_shown, paths.max_samples))
        self.timings.append(time.perf_counter() - start)


def ab_test_explorer(rate_a=0.05, rate_b=0.06, *, threshold=0.0005, n_experiments=120,
                     check_every=250, max_samples=10_000, max_rate=0.2, rng=0,
                     figsize=(6.0, 3.3), dpi=96):
    """A widget: two true rates and a threshold of caring -> when do A/B tests stop?

    Each setting simulates ``n_experiments`` experiments that peek every ``check_every``
    visitors per variant and stop when the expected loss of the favourite is below the
    threshold (a Beta(1, 1) prior on each rate). The picture is the distribution of
    stopping times, split by whether the worse variant was shipped; the text adds the share
    that stopped, the share that shipped the worse variant, the conversion rate given up
    on average, and the fixed sample size of a classical z-test (alpha 0.05, power 0.8).
    Sliders act on release; results are cached per pair of rates, and moving only the
    threshold re-uses them. Taught in notebooks/08_bayesian_ab_testing.ipynb.

    Parameters
    ----------
    rate_a, rate_b : float in [0.001, max_rate]
        Starting true rates.
    threshold : float in [10**-4.5, 0.01]
        Starting threshold of caring (on the rate scale).
    n_experiments, check_every, max_samples : int
        Simulation size; ``max_samples`` must be a multiple of ``check_every``.
    max_rate : float in (0, 1)
        Upper end of the rate sliders.
    rng : None, int or numpy.random.Generator
        Seed of every simulation.

    Returns
    -------
    ABTestExplorer
        An ``ipywidgets.VBox`` with ``controls``, ``summary``, ``figure``, ``paths``, ``row``,
        ``result`` and ``timings``.

    Examples
    --------
    >>> w = ab_test_explorer(0.05, 0.10, n_experiments=30, check_every=200, max_samples=2000)
    >>> w.row["stopped"] > 0.5
    True
    >>> w.controls["threshold"].value = 0.005     # caring less: stop sooner
    >>> w.paths.simulated                         # same rates: nothing re-simulated
    1
    """
    max_rate = check_probability("max_rate", max_rate, open_low=True, open_high=True)
    rates = []
    for name, r in (("rate_a", rate_a), ("rate_b", rate_b)):
        r = check_probability(name, r)
        if not 0.001 <= r <= max_rate:
            raise ValueError(f"{name} == {r!r}, must be in [0.001, max_rate == {max_rate!r}] "
                             "(the sliders' range).")
        rates.append(r)
    threshold = check_positive("threshold", threshold)
    if not 10 ** -4.5 <= threshold <= 0.01:
        raise ValueError(f"threshold == {threshold!r}, must be in [3.2e-05, 0.01] "
                         "(the slider's range).")
    paths = ExpectedLossPaths(n_experiments=n_experiments, check_every=check_every,
                              max_samples=max_samples, rng=rng)
    return ABTestExplorer(*rates, threshold, max_rate=max_rate, paths=paths, figsize=figsize,
                          dpi=dpi)
