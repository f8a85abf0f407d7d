"""Forget on purpose: choose the window, the discount and the size of a change, and watch
plain, sliding-window and discounted Thompson sampling respond.

Taught in notebooks/07_change_and_delay.ipynb.

The world is the notebook's in miniature: arm 0 leads until half way; at the change arm
0's rate drops by ``change`` and arm 1's rises by as much, so a change larger than half the
gap between them hands the lead to arm 1 (a change of 0 is a world that never changes; a
negative change makes the leader stronger). A small simulation (600 steps, 60 runs by default) is
run with :func:`bandit_lab.simulate` for each policy on its own. When the widget is built,
every value of the change slider is simulated for the starting window and discount (39
simulations by default: 1.0-1.7 s here), so moving the change at the start only redraws. After
that the window re-runs sliding-window TS only and the discount discounted TS only; plain
TS depends on the change alone and is always ready. Results are cached by control values,
so returning to a setting only redraws. ``python benchmarks/bench_widgets.py --only
forgetting_explorer`` measures it.
"""
from __future__ import annotations

import html
import time
from collections import OrderedDict

import ipywidgets as W
import numpy as np

from .._rng import resolve_rng
from .._validation import check_int, check_positive, check_probability
from ..environments import ScheduledBernoulliBandit
from ..metrics import cumulative_regret
from ..nonstationary import DiscountedTS, SlidingWindowTS
from ..policies import BetaBernoulliTS
from ..simulate import simulate
from ._base import FigureImage, swatch_html, wire
from ._layout import Busy, controls_beside_picture, html_table, text_block, tidy_controls
from ._curves import CurvesPicture

__all__ = ["forgetting_explorer", "ForgettingComparison", "change_world", "summarize"]

#: The three policies, in the order they are drawn and tabled.
POLICY_NAMES = ("plain TS", "sliding-window TS", "discounted TS")


def _rates_after(rates, change):
    after = np.array(rates, dtype=float)
    after[0] -= change
    after[1] += change
    return after


def change_world(rates, change, *, n_steps, change_point=None):
    """The explorer's world: ``rates`` until ``change_point`` (default: half way), then arm
    0's rate lower by ``change`` and arm 1's higher by as much.

    >>> env = change_world((0.10, 0.06, 0.04), 0.05, n_steps=10)
    >>> env.means_at(4).round(2).tolist(), env.means_at(5).round(2).tolist()
    ([0.1, 0.06, 0.04], [0.05, 0.11, 0.04])
    """
    n_steps = check_int("n_steps", n_steps, minimum=2)
    cp = n_steps // 2 if change_point is None else check_int("change_point", change_point,
                                                             minimum=1, maximum=n_steps - 1)
    before = np.array(rates, dtype=float)
    if before.ndim != 1 or before.size < 2:
        raise ValueError(f"rates has shape {before.shape}, must be a 1-D sequence of at least "
                         "two rates (arms 0 and 1 trade places at the change).")
    for i, r in enumerate(before.tolist()):
        check_probability(f"rates[{i}]", r)
    change = float(change)
    after = _rates_after(before, change)
    if not (0.0 <= after[0] <= 1.0 and 0.0 <= after[1] <= 1.0):
        raise ValueError(f"change == {change!r} moves the rates of arms 0 and 1 to "
                         f"{after[0]:.3g} and {after[1]:.3g}, must keep both in [0, 1].")
    return ScheduledBernoulliBandit.piecewise([before, after], change_points=[cp], n_steps=n_steps)


class ForgettingComparison:
    """The computation behind :func:`forgetting_explorer`: cached small simulations.

    Every result is ``simulate(policy, env, n_steps=n_steps, n_runs=n_runs, rng=seed)`` for
    one policy on its own, so all policies face the same outcomes and a result can be
    recomputed exactly from :attr:`seed`.

    Parameters
    ----------
    rates : sequence of float in [0, 1]
        Rates before the change (arm 0 should lead).
    n_steps, n_runs : int
    rng : None, int or numpy.random.Generator
        Fixes :attr:`seed`.
    max_cached : int
        How many (policy, setting, change) results to keep.

    Examples
    --------
    >>> comp = ForgettingComparison((0.6, 0.4), n_steps=100, n_runs=10, rng=0)
    >>> res = comp.results(window=20, gamma=0.9, change=0.3)
    >>> list(res), res["plain TS"].arms.shape
    (['plain TS', 'sliding-window TS', 'discounted TS'], (10, 100))
    """

    def __init__(self, rates=(0.10, 0.06, 0.04), *, n_steps=800, n_runs=100, rng=0,
                 max_cached=100):
        self.n_steps = check_int("n_steps", n_steps, minimum=2)
        self.change_point = self.n_steps // 2
        change_world(rates, 0.0, n_steps=self.n_steps)  # validates the rates
        self.rates = tuple(float(r) for r in rates)
        self.n_arms = len(self.rates)
        self.n_runs = check_int("n_runs", n_runs, minimum=2)
        self.seed = int(resolve_rng(rng).integers(2**63))
        self.max_cached = check_int("max_cached", max_cached, minimum=1)
        self.stride = max(1, self.n_steps // 250)  # curves are drawn at ~250 points
        self._cache = OrderedDict()
        self.simulated = 0  # number of simulate() calls, for tests and timing notes

    @staticmethod
    def key(change):
        """The change rounded, so that slider noise (0.030000000000000002) hits the cache."""
        return round(float(change), 6)

    def env(self, change):
        return change_world(self.rates, self.key(change), n_steps=self.n_steps)

    def policy(self, name, window, gamma):
        """A fresh configuration of policy ``name`` (one of :data:`POLICY_NAMES`)."""
        if name == "plain TS":
            return BetaBernoulliTS(self.n_arms)
        if name == "sliding-window TS":
            return SlidingWindowTS(self.n_arms, window=window)
        if name == "discounted TS":
            return DiscountedTS(self.n_arms, gamma=gamma)
        raise ValueError(f"name == {name!r}, must be one of {POLICY_NAMES}.")

    def history(self, name, window, gamma, change):
        """History of policy ``name`` in the world with this ``change`` (cached)."""
        return self._entry(name, window, gamma, change)["history"]

    def _entry(self, name, window, gamma, change):
        # A cached result keeps what every redraw needs: the history, its row of the table
        # and its regret curve (mean and 10th/90th percentile at every `stride`-th step).
        if name not in POLICY_NAMES:
            raise ValueError(f"name == {name!r}, must be one of {POLICY_NAMES}.")
        setting = {"plain TS": None, "sliding-window TS": window, "discounted TS": gamma}[name]
        key = (name, setting, self.key(change))
        entry = self._cache.get(key)
        if entry is None:
            hist = simulate({name: self.policy(name, window, gamma)}, self.env(change),
                            n_steps=self.n_steps, n_runs=self.n_runs, rng=self.seed)[name]
            self.simulated += 1
            reg = cumulative_regret(hist)[:, self.stride - 1::self.stride]
            lo, hi = np.percentile(reg, (10, 90), axis=0)
            entry = {"history": hist, "row": summarize({name: hist}, self.change_point)[name],
                     "curve": (reg.mean(axis=0), lo, hi)}
            self._cache[key] = entry
            while len(self._cache) > self.max_cached:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return entry

    def to_simulate(self, window, gamma, change):
        """The policies :meth:`results` would simulate for these settings (not cached)."""
        settings = {"plain TS": None, "sliding-window TS": window, "discounted TS": gamma}
        return [name for name in POLICY_NAMES
                if (name, settings[name], self.key(change)) not in self._cache]

    def results(self, window, gamma, change):
        """dict name -> History for the three policies."""
        return {name: self.history(name, window, gamma, change) for name in POLICY_NAMES}


def summarize(results, change_point):
    """Per policy: regret before and after ``change_point`` (mean and standard error over
    runs) and the share of the pulls after the change that went to the best arm then."""
    rows = {}
    for name, hist in results.items():
        reg = cumulative_regret(hist)
        before = reg[:, change_point - 1]
        after = reg[:, -1] - before
        best = int(np.argmax(hist.mean_rewards[0, -1]))
        share = (hist.arms[:, change_point:] == best).mean(axis=1)
        n = reg.shape[0]
        rows[name] = {
            "before": float(before.mean()), "before_se": float(before.std(ddof=1) / np.sqrt(n)),
            "after": float(after.mean()), "after_se": float(after.std(ddof=1) / np.sqrt(n)),
            "share_after": float(share.mean()),
        }
    return rows


def _summary_html(rows, comp, change, labels, colors=None):
    before = np.array(comp.rates)
    after = _rates_after(before, comp.key(change))
    fmt = ", ".join
    head = (f"<b>{comp.n_runs} runs of {comp.n_steps} steps</b>; change at step "
            f"{comp.change_point}: rates ({fmt(f'{r:.3f}' for r in before)}) become "
            f"({fmt(f'{r:.3f}' for r in after)}). Best arm before: {int(np.argmax(before))}, "
            f"after: {int(np.argmax(after))}.")
    header = ("policy (line in the figure)" if colors else "policy",
              "regret before the change", "regret after the change",
              "best arm's share after the change")
    table = []
    for name, r in rows.items():
        swatch = swatch_html(colors[name]) if colors else ""
        table.append((swatch + html.escape(labels[name]),
                      f"{r['before']:.1f} ± {r['before_se']:.1f}",
                      f"{r['after']:.1f} ± {r['after_se']:.1f}", f"{r['share_after']:.0%}"))
    note = ("<div style='font-size:smaller'>Mean ± standard error over runs; regret counts "
            "every decision at the step it was made.</div>")
    return text_block(head + html_table(header, table) + note)


def forgetting_explorer(rates=(0.10, 0.06, 0.04), *, window=200,
                        windows=(25, 50, 100, 200, 400, 800), gamma=0.99,
                        gammas=(0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 1.0), change=0.06,
                        change_range=(-0.04, 0.08), change_step=0.01, n_steps=600,
                        n_runs=60, rng=0, figsize=(6.0, 3.4), dpi=96):
    """A widget for choosing how fast to forget, on a world whose best arm may change.

    Sliders set the sliding window, the discount ``gamma`` and the size of the change half
    way (arm 0's rate drops by it and arm 1's rises by as much). Each change re-runs the
    policy it concerns (or fetches it from the cache) and redraws the regret curves of
    plain, sliding-window and discounted Thompson sampling and a table of regret before
    and after the change. Sliders update on release (``continuous_update=False``); a
    change expected to take more than 0.15 s says "computing" under the controls and
    disables them meanwhile.
    Taught in notebooks/07_change_and_delay.ipynb.

    Parameters
    ----------
    rates : sequence of float in [0, 1]
        Rates before the change; arm 0 should lead and arm 1 follow.
    window, windows : int, sequence of int >= 1
        Starting window, one of the slider's ``windows``.
    gamma, gammas : float, sequence of float in (0, 1]
        Starting discount, one of the slider's ``gammas`` (1 is plain TS).
    change : float
        Starting change, within ``change_range``.
    change_range : (float, float)
        The change slider's ends; every value must keep the rates in [0, 1].
    change_step : float > 0
        The change slider's step.
    n_steps, n_runs : int
        Size of each simulation (the change comes at ``n_steps // 2``). The defaults keep
        every redraw under 0.1 s on the development machine (``benchmarks/bench_widgets.py``
        measures it); a window of ``n_steps`` or more never forgets anything, so it is
        plain TS.
    rng : None, int or numpy.random.Generator
        Seed of every simulation.

    Returns
    -------
    ipywidgets.VBox
        With attributes ``controls`` (``"window"``, ``"gamma"``, ``"change"``), ``summary``
        (HTML), ``figure`` (:class:`FigureImage`), ``busy`` (the "computing" line), ``state``
        (the :class:`ForgettingComparison`), ``rows`` (the numbers in the table, by policy name)
        and ``timings`` (seconds taken by each redraw).

    Examples
    --------
    >>> w = forgetting_explorer((0.6, 0.4), window=20, windows=(20, 50), gamma=0.9,
    ...                         gammas=(0.9, 1.0), change=0.3, change_range=(0.0, 0.3),
    ...                         n_steps=200, n_runs=10)
    >>> w.controls["gamma"].value = 1.0     # no discount: discounted TS is plain TS
    >>> w.rows["discounted TS"] == w.rows["plain TS"]
    True
    """
    comp = ForgettingComparison(rates, n_steps=n_steps, n_runs=n_runs, rng=rng)
    windows = tuple(check_int(f"windows[{i}]", w, minimum=1) for i, w in enumerate(windows))
    gammas = tuple(check_probability(f"gammas[{i}]", g, open_low=True)
                   for i, g in enumerate(gammas))
    if window not in windows:
        raise ValueError(f"window == {window!r}, must be one of {windows}.")
    if gamma not in gammas:
        raise ValueError(f"gamma == {gamma!r}, must be one of {gammas}.")
    change_step = check_positive("change_step", change_step)
    low, high = (float(c) for c in change_range)
    if not low < high:
        raise ValueError(f"change_range == {change_range!r}, must be (low, high) with low < high.")
    for end in (low, high):
        change_world(rates, end, n_steps=n_steps)  # both ends keep the rates in [0, 1]
    if not low <= float(change) <= high:
        raise ValueError(f"change == {change!r}, must be within change_range == ({low}, {high}).")

    controls = {
        "window": W.SelectionSlider(options=windows, value=window, description="window",
                                    continuous_update=False),
        "gamma": W.SelectionSlider(options=gammas, value=gamma, description="discount γ",
                                   continuous_update=False),
        "change": W.FloatSlider(value=float(change), min=low, max=high, step=change_step,
                                readout_format="+.2f", description="change",
                                continuous_update=False),
    }
    tidy_controls(controls.values(), track="120px")
    fig = FigureImage(figsize=figsize, dpi=dpi)
    picture = CurvesPicture(fig, POLICY_NAMES, xlabel="step t",
                            ylabel="regret (conversions lost)", legend=False,
                            vlines=[comp.change_point], rect=(0.1, 0.14, 0.87, 0.77))
    t_curve = np.arange(1, comp.n_steps + 1)[comp.stride - 1::comp.stride]
    title = f"Regret: mean of {comp.n_runs} runs, band 10th-90th percentile; dotted: the change"
    # Every value of the change slider, simulated now for the starting window and discount
    # (13 values by default: 1.0-1.7 s here). Plain TS depends on the change alone, so a change
    # then re-runs at most the two policies whose setting was moved, and none at the start.
    grid = low + change_step * np.arange(int(np.floor((high - low) / change_step + 1e-9)) + 1)
    if grid.size <= comp.max_cached // 4:
        for value in grid:
            for name in POLICY_NAMES:
                comp._entry(name, window, gamma, float(value))
    summary = W.HTML()
    busy = Busy(list(controls.values()))
    box = W.VBox()

    def redraw(_change=None):
        start = time.perf_counter()
        w, g, c = (controls[k].value for k in ("window", "gamma", "change"))
        todo = comp.to_simulate(w, g, c)
        with busy.working(len(todo) * comp.n_runs * comp.n_steps,
                          f"simulating {', '.join(todo)}"):
            entries = {name: comp._entry(name, w, g, c) for name in POLICY_NAMES}
        labels = {"plain TS": "plain TS", "sliding-window TS": f"sliding-window TS (window {w})",
                  "discounted TS": f"discounted TS (γ = {g:g})"}
        box.rows = {name: dict(e["row"]) for name, e in entries.items()}
        picture.draw(t_curve, {name: e["curve"] for name, e in entries.items()},
                     xlim=(0, comp.n_steps), labels=labels, title=title)
        summary.value = _summary_html(box.rows, comp, c, labels, picture.colors)
        box.timings.append(time.perf_counter() - start)

    children = controls_beside_picture([*controls.values(), busy.status], fig.image, [summary])
    return wire(box, controls, redraw, children, summary=summary, figure=fig, state=comp,
                busy=busy)
