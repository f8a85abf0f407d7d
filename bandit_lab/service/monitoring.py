"""Watching a served bandit: plots of what can be observed in production.

Taught in notebooks/10_serving_a_bandit.ipynb.

In production nobody knows which arm is truly best, so "cumulative regret" (the source
article's alarm) cannot be computed. What the service *can* see, and what these plots show:

* **traffic allocation over time**: the share of decisions each arm received in each time
  bucket (:func:`plot_traffic`); a bandit that is learning shifts traffic, a stuck one
  does not;
* **conversion and posterior intervals per arm**: the observed conversion rate of each arm
  next to the model's credible interval (:func:`plot_conversion`);
* **time since the last reward** per arm (:func:`plot_freshness`): if rewards stop
  arriving (a broken tracking pixel, a queue that stalled), the bandit stops learning
  without any error.

Every function takes the JSON the service returns (``GET /stats``, ``GET /timeline``), so
the same plots work on a live service, on saved JSON, or in a test. Plots take ``ax=None``
and return the Axes; :func:`dashboard_widget` puts all three in a widget with a refresh
button.
"""
from __future__ import annotations

import numpy as np

from ..plotting import new_axes

__all__ = ["fetch", "plot_traffic", "plot_conversion", "plot_freshness", "plot_dashboard",
           "dashboard_widget", "traffic_shares", "conversion_key"]


def fetch(url, *, timeout=5.0):
    """``(stats, timeline)`` from a running service at ``url`` (e.g. ``http://127.0.0.1:8000``)."""
    import httpx

    with httpx.Client(base_url=url, timeout=timeout) as client:
        stats = client.get("/stats").raise_for_status().json()
        timeline = client.get("/timeline").raise_for_status().json()
    return stats, timeline


def traffic_shares(timeline):
    """Share of each bucket's decisions per arm, shape ``(n_buckets, n_arms)`` (NaN rows for
    buckets with no decision).

    >>> traffic_shares({"decisions": [[1, 3], [0, 0]]}).tolist()
    [[0.25, 0.75], [nan, nan]]
    """
    dec = np.asarray(timeline["decisions"], dtype=float)
    if dec.size == 0:
        return dec.reshape(0, 0)
    total = dec.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, dec / np.where(total > 0, total, 1.0), np.nan)


def _time_axis(seconds):
    span = float(seconds.max()) if seconds.size else 0.0
    if span >= 7200:
        return seconds / 3600.0, "hours"
    if span >= 120:
        return seconds / 60.0, "minutes"
    return seconds, "seconds"


def plot_traffic(timeline, ax=None, *, legend=True):
    """Share of decisions per arm in each time bucket, stacked (traffic allocation).

    Buckets without any decision (the service was down, or idle) are left blank. Without
    ``legend`` the arms are coloured C0, C1, ... in order, for a table to name.
    """
    ax = new_axes(ax)
    shares = traffic_shares(timeline)
    names = timeline["arms"]
    if shares.shape[0] == 0:
        ax.text(0.5, 0.5, "no decisions yet", ha="center", va="center", transform=ax.transAxes)
    else:
        width = float(timeline["bucket_seconds"])
        starts = np.asarray(timeline["starts"], dtype=float)
        index = np.rint((starts - starts[0]) / width).astype(int)
        full = np.zeros((index[-1] + 1, shares.shape[1]))  # every bucket, empty ones at 0
        full[index] = np.nan_to_num(shares)
        t, unit = _time_axis(np.arange(index[-1] + 2) * width)
        ax.stackplot(t, np.vstack([full, full[-1:]]).T, labels=names, step="post", alpha=0.85)
        ax.set_xlim(t[0], t[-1])
        ax.set_xlabel(f"time since the first bucket ({unit}; buckets of {width:g} s)")
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of decisions")
    ax.set_title("Traffic allocation over time")
    if shares.shape[0] and legend:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize="x-small")
    return ax


def plot_conversion(stats, ax=None, *, legend=True):
    """Observed conversion per arm and, for a Beta bandit, the posterior mean and credible
    interval (prior included). For a contextual bandit, whose model has no single rate per
    arm, the observed conversion gets the interval its rewards alone support.
    :func:`conversion_key` says in words what ``legend`` shows."""
    ax = new_axes(ax)
    arms = stats["arms"]
    y = np.arange(len(arms))
    level = stats.get("level", 0.95)
    has_posterior = all("mean" in a for a in arms)
    off = 0.15 if has_posterior else 0.0
    obs = np.array([np.nan if a["conversion"] is None else a["conversion"] for a in arms])
    lo = np.array([a["conversion_low"] for a in arms])
    hi = np.array([a["conversion_high"] for a in arms])
    if not has_posterior:  # no model interval for the rate: show how sure the data alone is
        center = np.where(np.isnan(obs), (lo + hi) / 2, obs)
        ax.errorbar(center, y - off, xerr=np.vstack([center - lo, hi - center]), fmt="none",
                    ecolor="k", capsize=3)
    # Black and grey marks: the arm colours C0, C1, ... belong to the traffic plot.
    ax.plot(obs, y - off, "o", color="k", label="observed conversion (successes / rewards)")
    if has_posterior:
        mean = np.array([a["mean"] for a in arms])
        plo = np.array([a["low"] for a in arms])
        phi = np.array([a["high"] for a in arms])
        ax.errorbar(mean, y + off, xerr=np.vstack([mean - plo, phi - mean]), fmt="s", color="0.55",
                    capsize=3, label=f"posterior mean, {level:.0%} credible interval")
    ax.set_yticks(y)
    ax.set_yticklabels([f"{a['name']} (n={a['rewards']})" for a in arms], fontsize="small")
    ax.invert_yaxis()
    ax.set_xlim(left=0)
    ax.set_xlabel("conversion rate")
    ax.set_title("Conversion per arm")
    if legend:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1, fontsize="x-small")
    return ax


def conversion_key(stats):
    """What the marks of :func:`plot_conversion` mean, as a sentence (for a caption)."""
    if all("mean" in a for a in stats["arms"]):
        return (f"Conversion per arm: black dots, observed conversion (successes / rewards); "
                f"grey squares and bars, posterior mean and {stats.get('level', 0.95):.0%} "
                "credible interval.")
    return ("Conversion per arm: black dots, observed conversion (successes / rewards), with "
            f"the {stats.get('level', 0.95):.0%} interval its rewards alone support.")


def plot_freshness(stats, ax=None, *, now=None):
    """Seconds since each arm's last reward (a growing bar: rewards stopped arriving)."""
    ax = new_axes(ax)
    arms = stats["arms"]
    now = stats.get("now") if now is None else now
    y = np.arange(len(arms))
    ages = np.array([np.nan if a["last_reward_at"] is None else max(0.0, now - a["last_reward_at"])
                     for a in arms])
    ax.barh(y, np.nan_to_num(ages), color=["C3" if np.isnan(v) else "C2" for v in ages])
    for k, v in enumerate(ages):
        if np.isnan(v):
            ax.text(0, k, " no reward yet", va="center", fontsize="small")
    ax.set_yticks(y)
    ax.set_yticklabels([a["name"] for a in arms], fontsize="small")
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the last reward")
    ax.set_title("Time since the last reward")
    return ax


def plot_dashboard(stats, timeline, fig=None):
    """The three plots in ``fig`` (a new 10 x 7.5 inch figure if None: readable at a
    notebook's width): traffic over time across the top, conversion and freshness below;
    returns the three axes."""
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(10, 7.5), layout="constrained")
    grid = fig.subplot_mosaic([["traffic", "traffic"], ["conversion", "freshness"]],
                              height_ratios=[1.0, 1.1], width_ratios=[1.2, 1.0])
    axes = [grid["traffic"], grid["conversion"], grid["freshness"]]
    plot_traffic(timeline, axes[0])
    plot_conversion(stats, axes[1])
    plot_freshness(stats, axes[2])
    fig.suptitle(f"Bandit {stats['bandit']!r}: {stats['decisions']} decisions, "
                 f"{stats['rewards']} rewards")
    return axes


def _summary_html(stats, colors=None):
    """The per-arm table; ``colors`` (one CSS colour per arm) adds a swatch matching the
    traffic plot, which then needs no legend of its own. Arm names are escaped (they come
    from whoever created the bandit); on a narrow page the table scrolls sideways instead of
    widening the widget."""
    from html import escape

    swatch = (lambda k: f"<td style='background:{colors[k]};width:12px'></td>") if colors else (
        lambda k: "")
    rows = "".join(
        f"<tr>{swatch(k)}<td>{escape(str(a['name']))}</td><td>{a['decisions']}</td>"
        f"<td>{'' if a['share'] is None else format(a['share'], '.1%')}</td>"
        f"<td>{a['rewards']}</td>"
        f"<td>{'' if a['conversion'] is None else format(a['conversion'], '.3f')}</td></tr>"
        for k, a in enumerate(stats["arms"]))
    return (f"<div style='overflow-x:auto;width:0;min-width:100%'>"
            f"<table><tr>{'<th></th>' if colors else ''}<th>arm</th><th>decisions</th>"
            f"<th>share</th><th>rewards</th><th>conversion</th></tr>{rows}</table></div>")


# Fixed places of the widget's three plots (left, bottom, width, height in figure fractions):
# no layout engine and no new axes per refresh keeps a refresh cheap.
_WIDGET_AXES = ((0.06, 0.2, 0.23, 0.62), (0.49, 0.2, 0.17, 0.62), (0.83, 0.2, 0.14, 0.62))


def _empty(ax):
    """Remove what the plot functions drew into ``ax``, keeping the axes and their ticks
    (``ax.clear()`` rebuilds every tick and costs a third of a refresh)."""
    for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts]:
        artist.remove()
    ax.containers.clear()
    ax.set_prop_cycle(None)  # arm k keeps colour Ck from one refresh to the next
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.yaxis.set_inverted(False)  # the plots invert it again
    ax.set_autoscale_on(True)
    ax.relim()


def dashboard_widget(url=None, *, fetch_fn=None, figsize=(10, 2.9), dpi=80, serve=None,
                     start=None):
    """A live dashboard: the three plots and a table, redrawn by a Refresh button.

    If the service cannot be reached (it was stopped, or never started), the widget says so
    in its status line and keeps the last picture and table.

    With ``serve`` (a function of ``n``: serve ``n`` simulated customers), a button serves a
    batch of 100 customers and refreshes; with ``start`` (a function that starts the
    service and returns its address), a button starts it when it is not running.

    Parameters
    ----------
    url : str
        The service's address; data comes from :func:`fetch`.
    fetch_fn : callable, optional
        Returns ``(stats, timeline)``; replaces ``fetch(url)`` (for saved data or tests).
    figsize, dpi :
        Size of the picture: 800 x 232 pixels by default, shown unscaled in JupyterLab.

    Returns
    -------
    ipywidgets.VBox with attributes ``controls`` (``{"refresh": Button}``, plus ``"serve"``
    and ``"start"`` when given), ``status``
    (HTML: when the data was fetched, or why it could not be), ``summary`` (HTML table),
    ``figure`` (the FigureImage) and ``refresh()`` (fetch and redraw; returns the stats,
    or None when the service could not be reached).
    """

    import ipywidgets as W
    from matplotlib.colors import to_hex

    from ..widgets._base import FigureImage
    from ..widgets._layout import tidy_controls

    where = {"url": url}
    if fetch_fn is None:
        if url is None:
            raise ValueError("url is None, must be the service's address when fetch_fn is not "
                             "given.")
        fetch_fn = lambda: fetch(where["url"])  # noqa: E731
    image = FigureImage(figsize=figsize, dpi=dpi)
    axes = [image.figure.add_axes(rect) for rect in _WIDGET_AXES]
    status = W.HTML()
    summary = W.HTML()
    caption = W.HTML()
    button = W.Button(description="Refresh", icon="refresh")
    refreshes = [0]

    def refresh(_=None):
        url = where["url"]
        if url is not None:
            import httpx

            try:
                stats, timeline = fetch_fn()
            except httpx.ConnectError:
                status.value = (f"<b>The service at {url} is not running: start it"
                                + (" (Start service)" if start is not None else "")
                                + " and press Refresh.</b> (The picture below is from the "
                                  "last successful refresh.)")
                return None
        else:
            stats, timeline = fetch_fn()
        for ax in axes:
            _empty(ax)
        # The table's colour swatches name the traffic plot's colours: a legend there would
        # cost 15-20 ms a refresh.
        plot_traffic(timeline, axes[0], legend=False)
        plot_conversion(stats, axes[1], legend=False)  # the caption says it: 5-8 ms saved
        plot_freshness(stats, axes[2])
        colors = [to_hex(c.get_facecolor()[0]) for c in axes[0].collections]
        for k, ax in enumerate(axes):  # sizes that fit the 800-pixel picture
            ax.locator_params(axis="x", nbins=4 if k == 2 else 5)  # each tick label costs a refresh
            # a fixed title place: finding one clear of the tick labels costs 15 ms a refresh
            ax.set_title(ax.get_title(), fontsize=9, y=1.02)
            ax.xaxis.label.set_fontsize(7 if k == 0 else 8)
            ax.yaxis.label.set_fontsize(8)
            ax.tick_params(labelsize=7)
        image.figure.suptitle(f"Bandit {stats['bandit']!r}: {stats['decisions']} decisions, "
                              f"{stats['rewards']} rewards", fontsize=10)
        image.render()
        caption.value = f"<small>{conversion_key(stats)}</small>"
        summary.value = _summary_html(stats, colors if len(colors) == len(stats["arms"]) else None)
        refreshes[0] += 1
        status.value = (f"Refreshed {refreshes[0]} time{'' if refreshes[0] == 1 else 's'}"
                        + (" from the service" if url is not None else "") + ".")
        return stats

    button.on_click(refresh)
    controls = {"refresh": button}
    if serve is not None:
        serve_button = W.Button(description="Serve 100 customers", icon="users")

        def serve_batch(_=None):
            status.value = "Serving 100 customers..."
            try:
                serve(100)
            except Exception as err:  # the service is down: say so, keep the widget
                status.value = f"<b>Could not serve: {type(err).__name__}: {err}</b>"
                return
            refresh()

        serve_button.on_click(serve_batch)
        controls["serve"] = serve_button
    if start is not None:
        start_button = W.Button(description="Start service", icon="play")

        def start_service_(_=None):
            where["url"] = start()
            refresh()

        start_button.on_click(start_service_)
        controls["start"] = start_button
    tidy_controls(controls.values())  # buttons as wide as their text, never cut short
    top = W.HBox([*controls.values(), status],
                 layout=W.Layout(flex_flow="row wrap", align_items="center"))
    box = W.VBox([top, summary, image.image, caption])
    box.controls = controls
    box.status = status
    box.summary = summary
    box.figure = image
    box.refresh = refresh
    refresh()
    return box
