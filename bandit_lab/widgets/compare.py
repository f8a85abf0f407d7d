"""Change the true rates and the horizon, and watch the strategies' regret respond.

Taught in notebooks/04_comparing_strategies.ipynb.

A small comparison (100 runs by default) is re-run with :func:`bandit_lab.simulate`
whenever a rate changes, and its regret curves are redrawn (the curves and bands of
:func:`bandit_lab.plotting.plot_regret`, with artists that move rather than being remade;
the table under the figure names their colours). Results
are cached per policy and per set of rates: a run to horizon T holds every shorter horizon
too (the first t steps of a simulation do not depend on how long it goes on), so moving the
horizon down, or back to rates already seen, only redraws.
"""
from __future__ import annotations

import dataclasses
import html
import time
from collections import OrderedDict

import ipywidgets as W
import numpy as np
from matplotlib import ticker
from matplotlib.lines import Line2D

from .._rng import resolve_rng
from .._validation import check_int, check_probability
from ..environments import SOURCE_RATES, BernoulliBandit
from ..metrics import arm_shares, cumulative_regret, lai_robbins_constant
from ..policies import KLUCB, UCB1, BetaBernoulliTS, EpsilonGreedy, Policy, Softmax
from ..simulate import simulate
from ._base import FigureImage, swatch_html, wire
from ._layout import Busy, controls_beside_picture, html_table, text_block, tidy_controls
from ._curves import CurvesPicture

__all__ = ["strategy_explorer", "StrategyComparison", "default_policies"]


def default_policies(n_arms, *, klucb=True):
    """The five strategies of notebook 04, with the course's default settings (without
    KL-UCB if ``klucb`` is False: its index costs as much as the other four together)."""
    policies = {
        "Thompson sampling": BetaBernoulliTS(n_arms),
        "epsilon-greedy (0.1)": EpsilonGreedy(n_arms, epsilon=0.1),
        "UCB1": UCB1(n_arms),
        "softmax (tau 0.01)": Softmax(n_arms, tau=0.01),
    }
    if klucb:
        policies["KL-UCB"] = KLUCB(n_arms)
    return policies


def _truncate(hist, n_steps):
    """The first ``n_steps`` steps of ``hist`` (what a run of that length would have given)."""
    return dataclasses.replace(hist, arms=hist.arms[:, :n_steps], rewards=hist.rewards[:, :n_steps],
                               mean_rewards=hist.mean_rewards[:, :n_steps])


class StrategyComparison:
    """The computation behind :func:`strategy_explorer`: cached small simulations.

    Parameters
    ----------
    policies : dict of name -> Policy
        Configurations to compare (each simulated with the same seed, so all face the
        same reward draws).
    n_runs : int
        Runs per policy.
    rng : None, int or numpy.random.Generator
        Fixes :attr:`seed`, the root of every simulation.
    max_cached : int
        How many (policy, rates) results to keep.

    Examples
    --------
    >>> from bandit_lab import BetaBernoulliTS
    >>> comp = StrategyComparison({"TS": BetaBernoulliTS(2)}, n_runs=20, rng=0)
    >>> comp.results((0.2, 0.5), 100)["TS"].arms.shape
    (20, 100)
    """

    def __init__(self, policies, *, n_runs=100, rng=0, max_cached=40):
        if not isinstance(policies, dict):
            raise TypeError(f"policies is of type {type(policies).__name__}, must be a dict "
                            "of name -> Policy.")
        if not policies:
            raise ValueError("policies is empty, must name at least one policy.")
        for name, p in policies.items():
            if not isinstance(p, Policy):
                raise TypeError(f"policies[{name!r}] is of type {type(p).__name__}, "
                                "must be a Policy.")
        self.policies = dict(policies)
        self.n_runs = check_int("n_runs", n_runs, minimum=2)
        self.seed = int(resolve_rng(rng).integers(2**63))
        self.max_cached = check_int("max_cached", max_cached, minimum=1)
        self._cache = OrderedDict()
        self.simulated = 0  # number of simulate() calls, for tests and timing notes

    @staticmethod
    def key(rates):
        """Rates rounded so that slider noise does not defeat the cache."""
        return tuple(round(float(r), 6) for r in rates)

    def history(self, name, rates, n_steps):
        """History of policy ``name`` on ``rates`` for ``n_steps`` steps (cached)."""
        key = (name, self.key(rates))
        hist = self._cache.get(key)
        if hist is None or hist.n_steps < n_steps:
            env = BernoulliBandit(key[1])
            hist = simulate({name: self.policies[name]}, env, n_steps=n_steps,
                            n_runs=self.n_runs, rng=self.seed)[name]
            self.simulated += 1
            self._cache[key] = hist
            while len(self._cache) > self.max_cached:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return hist if hist.n_steps == n_steps else _truncate(hist, n_steps)

    def to_simulate(self, rates, n_steps):
        """The policies :meth:`results` would simulate for ``rates`` and ``n_steps`` (those
        not cached at that horizon or longer)."""
        key = self.key(rates)
        return [name for name in self.policies
                if (hist := self._cache.get((name, key))) is None or hist.n_steps < n_steps]

    def results(self, rates, n_steps):
        """dict name -> History for every policy."""
        return {name: self.history(name, rates, n_steps) for name in self.policies}


def summarize(results):
    """Per policy: mean final regret, its standard error, and the best arm's share
    (median, 5th and 95th percentile over runs)."""
    rows = {}
    for name, hist in results.items():
        final = cumulative_regret(hist)[:, -1]
        best = int(np.argmax(hist.mean_rewards[0, -1]))
        share = arm_shares(hist)[:, best]
        rows[name] = {
            "regret": float(final.mean()),
            "se": float(final.std(ddof=1) / np.sqrt(final.size)),
            "share_median": float(np.median(share)),
            "share_p5": float(np.percentile(share, 5)),
            "share_p95": float(np.percentile(share, 95)),
        }
    return rows


def _summary_html(rows, rates, n_steps, n_runs, colors=None, bound=None):
    rates = np.asarray(rates, dtype=float)
    best = int(np.argmax(rates))
    c = lai_robbins_constant(rates)
    head = (f"<b>Simulated: {len(rows)} strategies x {n_runs} runs x T = {n_steps} steps</b> "
            f"(the same seed for every setting). Best arm: {best} "
            f"(rate {rates[best]:.3f}). Lai-Robbins constant C = {c:.2f}, "
            f"C log T = {c * np.log(n_steps):.1f}.")
    if bound:
        head += " " + bound
    header = ("policy (line in the figure)" if colors else "policy", "mean regret at T",
              "standard error", f"arm {best}'s share of pulls: median", "5th-95th percentile")
    table = []
    for name, r in rows.items():
        swatch = swatch_html(colors[name]) if colors else ""
        table.append((swatch + html.escape(name), f"{r['regret']:.1f}", f"{r['se']:.1f}",
                      f"{r['share_median']:.0%}", f"{r['share_p5']:.0%} - {r['share_p95']:.0%}"))
    return text_block(head + html_table(header, table))


class RegretPicture:
    """The regret curves of :class:`~bandit_lab.widgets._curves.CurvesPicture` and the
    Lai-Robbins bound C ln t, drawn so that both can be read at every setting.

    The y axis fits the curves (their 10th-90th percentile bands). When C ln T is within
    2.5 times their top, one axis holds the bound too. Otherwise (the usual case at short
    horizons: C ln T is then more than any policy could lose) the axis is *broken*: a strip
    above it, on its own scale, carries the bound on from where it leaves the curves' axis
    up to C ln T, so the bound is seen over the whole horizon and the curves keep their
    height. Both axes share the time axis (linear or log).
    """

    #: (left, right) of the axes and (bottom, top) of the whole plot, in figure fractions.
    LEFT, RIGHT, BOTTOM, TOP = 0.1, 0.97, 0.14, 0.91
    STRIP, GAP = 0.2, 0.035   # the strip's height and the gap above the curves' axes
    RATIO = 2.5               # above RATIO x the curves' top, the axis breaks

    def __init__(self, fig_image, names):
        self.fig_image = fig_image
        style = {"color": "k", "linestyle": "--", "linewidth": 1.2}
        self.curves = CurvesPicture(fig_image, names, xlabel="step t",
                                    ylabel="regret (conversions lost)", legend=False,
                                    extra={"Lai-Robbins": style},
                                    rect=(self.LEFT, self.BOTTOM, self.RIGHT - self.LEFT,
                                          self.TOP - self.BOTTOM))
        self.ax = ax = self.curves.ax
        self.strip = strip = fig_image.figure.add_axes((self.LEFT, 0.7, self.RIGHT - self.LEFT,
                                                        self.STRIP), sharex=ax)
        self.strip_line, = strip.plot([], [], **style)
        strip.spines["bottom"].set_visible(False)
        strip.tick_params(axis="x", which="both", bottom=False, labelbottom=False)
        strip.locator_params(axis="y", nbins=2)
        # the break marks: two short diagonals at each end of the gap
        kw = dict(transform=fig_image.figure.transFigure, color="k", linewidth=1, clip_on=False)
        self.marks = [fig_image.figure.add_artist(Line2D([0, 0], [0, 0], **kw)) for _ in range(4)]
        # "C ln t, C = ..." just under the bound's right end
        label = dict(xytext=(-2, -3), textcoords="offset points", ha="right", va="top",
                     fontsize="small")
        self.label = ax.annotate("", (0, 0), **label)
        self.strip_label = strip.annotate("", (0, 0), **label)
        self.broken = None
        self._set_broken(False)

    def _set_broken(self, broken):
        if broken == self.broken:
            return
        self.broken = broken
        height = self.TOP - self.BOTTOM
        if broken:
            height -= self.STRIP + self.GAP
        self.ax.set_position((self.LEFT, self.BOTTOM, self.RIGHT - self.LEFT, height))
        self.fig_image.unpin(self.ax)  # its labels were pinned for the other height
        self.strip.set_visible(broken)
        self.ax.spines["top"].set_visible(not broken)
        top = self.BOTTOM + height
        for mark, x, y in zip(self.marks, (self.LEFT, self.RIGHT) * 2,
                              (top,) * 2 + (top + self.GAP,) * 2):
            mark.set_visible(broken)
            mark.set_data([x - 0.008, x + 0.008], [y - 0.01, y + 0.01])

    def draw(self, results, log_x, title):
        ax = self.ax
        if ax.get_xscale() != ("log" if log_x else "linear"):
            ax.set_xscale("log" if log_x else "linear")
            if log_x:  # plain tick labels (10, 100, 1000): mathtext labels cost 60 ms a redraw
                ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _pos: f"{v:g}"))
            else:
                ax.xaxis.set_major_formatter(ticker.ScalarFormatter())
                ax.locator_params(axis="x", nbins=6)  # as CurvesPicture set it
            ax.xaxis.set_minor_locator(ticker.NullLocator())
        hist = next(iter(results.values()))
        n_steps = hist.n_steps
        # ~300 of the steps are plenty for a picture ~500 px wide, evenly spread on either
        # time axis (every step near the start, where a log axis spreads them out); fewer
        # points to take percentiles of and to draw make a redraw cheaper
        idx = np.unique(np.concatenate([np.arange(0, n_steps, max(1, n_steps // 200)),
                                        np.geomspace(1, n_steps, 100).astype(int) - 1,
                                        [n_steps - 1]]))
        curves, top = {}, 1.0
        for name, h in results.items():
            reg = cumulative_regret(h)[:, idx]
            lo, hi = np.percentile(reg, (10, 90), axis=0)
            curves[name] = (reg.mean(axis=0), lo, hi)
            top = max(top, float(hi.max()))
        t = idx + 1.0
        c = lai_robbins_constant(hist.mean_rewards[0, -1])
        bound = c * np.log(t) if np.isfinite(c) else np.full(t.shape, np.nan)
        at_end = float(bound[-1]) if np.isfinite(c) else 0.0
        broken = at_end > self.RATIO * 1.08 * top
        self._set_broken(broken)
        y_top = 1.08 * (top if broken else max(top, at_end))
        self.curves.draw(t, curves, xlim=(1, n_steps) if log_x else (0, n_steps),
                         extra={"Lai-Robbins": (t, bound)}, top=y_top, title=None,
                         render=False)
        label = f"C ln t, C = {c:.1f}" if np.isfinite(c) else ""
        if broken:
            self.strip.set_ylim(y_top, 1.12 * at_end)
            self.strip_line.set_data(t, bound)
            self.strip_label.set_text(label)
            self.strip_label.xy = (n_steps, at_end)
            self.label.set_text("")
            self.strip.set_title(title, fontsize="medium")
            ax.set_title("")
        else:
            self.label.set_text(label)
            self.label.xy = (n_steps, at_end)
            self.strip.set_title("")
            ax.set_title(title, fontsize="medium")
        self.fig_image.render()
        return {"constant": c, "at_end": at_end, "broken": broken, "top": y_top}


def _bound_caption(info, n_steps):
    c = info["constant"]
    if not np.isfinite(c):
        return ("The best arm never fails (rate 1), so the Lai-Robbins constant is infinite "
                "and no bound is drawn.")
    text = ("Dashed: C ln t, the least regret any good (consistent) policy can have "
            "<i>in the long run</i>")
    if info["broken"]:
        return (text + f"; at this horizon far above the curves, so shown on its own scale "
                       f"above the break at {info['top']:.1f}.")
    return text + "."


def strategy_explorer(rates=SOURCE_RATES, *, policies=None, n_runs=50, horizon=200,
                      horizons=(100, 200, 500, 1000), max_rate=0.2, rate_step=0.001,
                      rng=0, figsize=(6.0, 3.6), dpi=96):
    """A widget comparing bandit strategies on rates the learner chooses.

    One slider per arm sets its true rate, a slider sets the horizon and a checkbox the
    time axis (linear or log). Each change re-runs (or fetches from the cache) a small
    comparison and redraws the regret curves, the Lai-Robbins bound C ln t (on a broken
    axis when it runs far above the curves, see :class:`RegretPicture`) and a table.
    Sliders update on release (``continuous_update=False``); a change expected to take
    more than 0.15 s says "computing" under the controls and disables them meanwhile
    (:class:`~bandit_lab.widgets._base.Busy`). The caption above the table says what is
    simulated. The defaults (four strategies, 50 runs, T = 200) keep a change
    of rate under 0.1 s on a quiet laptop-class core; each longer horizon costs proportionally more (the simulation
    steps every run at once, so the number of steps, not of runs, sets the cost). Taught in
    notebooks/04_comparing_strategies.ipynb.

    Parameters
    ----------
    rates : sequence of float in [0, max_rate]
        Starting rates, one slider per arm.
    policies : dict of name -> Policy, optional
        Default: ``default_policies(K, klucb=False)`` (TS, epsilon-greedy, UCB1, softmax;
        notebook 04 compares KL-UCB too, outside the widget).
    n_runs : int
        Runs per policy per setting.
    horizon : int
        Starting horizon, one of ``horizons``.
    rng : None, int or numpy.random.Generator
        Seed of every simulation.

    Returns
    -------
    ipywidgets.VBox
        With attributes ``controls`` (``"rate 0"`` ... ``"rate K-1"``, ``"horizon"``,
        ``"log time"``), ``summary`` (HTML), ``figure`` (:class:`FigureImage`), ``picture``
        (the :class:`RegretPicture`; ``bound`` holds what it drew of the Lai-Robbins
        bound), ``busy`` (the :class:`~bandit_lab.widgets._base.Busy` line), ``state``
        (the :class:`StrategyComparison`), ``rows`` (the numbers in the table) and
        ``timings`` (seconds taken by each redraw).

    Examples
    --------
    >>> from bandit_lab import BetaBernoulliTS, UCB1
    >>> w = strategy_explorer([0.1, 0.3], policies={"TS": BetaBernoulliTS(2), "UCB1": UCB1(2)},
    ...                       n_runs=10, horizon=250, horizons=(100, 250), max_rate=0.5)
    >>> w.controls["rate 0"].value = 0.45
    >>> w.rows["TS"]["share_median"] > 0.5   # arm 0 is now the best
    True
    """
    env = BernoulliBandit(rates)  # validates the rates
    max_rate = check_probability("max_rate", max_rate, open_low=True)
    for k, r in enumerate(env.rates.tolist()):
        if r > max_rate:
            raise ValueError(f"rates[{k}] == {r!r}, must be <= max_rate == {max_rate!r} "
                             "(the sliders' upper end).")
    horizons = tuple(check_int(f"horizons[{i}]", h, minimum=2) for i, h in enumerate(horizons))
    if horizon not in horizons:
        raise ValueError(f"horizon == {horizon!r}, must be one of {horizons}.")
    if policies is None:
        policies = default_policies(env.n_arms, klucb=False)
    state = StrategyComparison(policies, n_runs=n_runs, rng=rng)
    for name, p in state.policies.items():
        if p.n_arms != env.n_arms:
            raise ValueError(f"policies[{name!r}] has n_arms == {p.n_arms}, must match "
                             f"the {env.n_arms} rates.")

    controls = {}
    for k, r in enumerate(env.rates):
        controls[f"rate {k}"] = W.FloatSlider(
            value=float(r), min=0.0, max=max_rate, step=rate_step, readout_format=".3f",
            description=f"arm {k} rate", continuous_update=False)
    controls["horizon"] = W.SelectionSlider(options=horizons, value=horizon,
                                            description="horizon T", continuous_update=False)
    controls["log time"] = W.Checkbox(value=False, description="log time axis")
    tidy_controls(controls.values(), track="120px")
    fig = FigureImage(figsize=figsize, dpi=dpi)
    picture = RegretPicture(fig, list(state.policies))
    summary = W.HTML()
    busy = Busy(list(controls.values()))
    box = W.VBox()

    def current_rates():
        return tuple(controls[f"rate {k}"].value for k in range(env.n_arms))

    def redraw(_change=None):
        start = time.perf_counter()
        rates_now = current_rates()
        n_steps = controls["horizon"].value
        todo = state.to_simulate(rates_now, n_steps)
        with busy.working(len(todo) * state.n_runs * n_steps,
                          f"simulating {len(todo)} strategies x {state.n_runs} runs x "
                          f"{n_steps} steps"):
            results = state.results(rates_now, n_steps)
        box.rows = summarize(results)
        picture.bound = picture.draw(results, controls["log time"].value,
                                     f"Regret: mean of {state.n_runs} runs, "
                                     "band 10th-90th percentile")
        summary.value = _summary_html(box.rows, rates_now, n_steps, state.n_runs,
                                      picture.curves.colors,
                                      _bound_caption(picture.bound, n_steps))
        box.timings.append(time.perf_counter() - start)

    left = [*(controls[f"rate {k}"] for k in range(env.n_arms)), controls["horizon"],
            controls["log time"], busy.status]
    children = controls_beside_picture(left, fig.image, [summary])
    return wire(box, controls, redraw, children, summary=summary, figure=fig, state=state,
                picture=picture, busy=busy)
