"""Mean curves with percentile bands, drawn once and then only moved.

Shared by the strategy explorer (notebook 04) and the forgetting explorer (notebook 07).
Clearing and rebuilding the axes, or making new lines, bands and a new legend at every
change, costs more than rendering them (every tick and legend entry is made anew), so the
artists stay and only their data, labels and limits change.
"""
from __future__ import annotations

import numpy as np


def _band_vertices(t, lo, hi):
    t = np.asarray(t, dtype=float)
    return np.column_stack([np.concatenate([t, t[::-1]]),
                            np.concatenate([np.asarray(lo, dtype=float),
                                            np.asarray(hi, dtype=float)[::-1]])])


class CurvesPicture:
    """One Axes of ``fig_image`` with a line and a band per name, optional extra lines
    (e.g. a bound), dotted vertical markers and a legend.

    Parameters
    ----------
    fig_image : FigureImage
    names : sequence of str
        One curve each, coloured C0, C1, ... in this order.
    xlabel, ylabel : str
    extra : dict of name -> matplotlib line style, optional
        Lines drawn after the curves (listed after them in the legend).
    vlines : sequence of float
        x positions of dotted vertical markers (a change point).
    rect : (left, bottom, width, height) in figure fractions
    legend : bool
        A legend inside the figure. Without one (it costs about 8 ms a redraw), the
        widget's table names the colours: :attr:`colors` and
        :func:`~bandit_lab.widgets._base.swatch_html`.

    Examples
    --------
    >>> from bandit_lab.widgets._base import FigureImage
    >>> pic = CurvesPicture(FigureImage(figsize=(4, 3)), ["a"], xlabel="t", ylabel="y")
    >>> t = np.arange(1, 11)
    >>> pic.draw(t, {"a": (t * 1.0, t - 1.0, t + 1.0)}, xlim=(0, 10))
    >>> [round(float(v), 2) for v in pic.ax.get_ylim()]   # 1.08 x the highest band
    [0.0, 11.88]
    """

    def __init__(self, fig_image, names, *, xlabel, ylabel, extra=None, vlines=(),
                 rect=(0.1, 0.12, 0.88, 0.8), legend=True, legend_loc="upper left"):
        self.fig_image = fig_image
        fig = fig_image.figure
        fig.set_layout_engine("none")  # a fixed layout keeps redraws fast
        ax = self.ax = fig.add_axes(rect)
        self.names = list(names)
        self.colors = {name: f"C{i}" for i, name in enumerate(names)}
        self.lines = {name: ax.plot([], [], color=f"C{i}")[0] for i, name in enumerate(names)}
        self.bands = {name: ax.fill_between([0.0, 1.0], [0.0, 0.0], [0.0, 0.0], color=f"C{i}",
                                            alpha=0.15, linewidth=0)
                      for i, name in enumerate(names)}
        self.extra = {name: ax.plot([], [], **style)[0] for name, style in (extra or {}).items()}
        for x in vlines:
            ax.axvline(x, color="k", linestyle=":", linewidth=1)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.locator_params(nbins=6)  # six ticks or fewer: every tick label costs a redraw ~0.5 ms
        self.legend, self._legend_texts = None, {}
        if legend:
            handles = [*self.lines.values(), *self.extra.values()]
            self.legend = ax.legend(handles, [*self.lines, *self.extra], loc=legend_loc,
                                    fontsize="small")
            self._legend_texts = dict(zip([*self.lines, *self.extra], self.legend.get_texts()))

    def draw(self, t, curves, *, xlim, labels=None, extra=None, title=None, top=None,
             render=True):
        """Move the curves and re-render (unless ``render`` is False: a caller that changes
        more first renders once itself).

        ``curves``: name -> (mean, low, high) at the steps ``t``; ``extra``: name ->
        (x, y) for the extra lines; ``labels``: name -> legend text (default: the name);
        ``top``: the y axis's upper end (default: 1.08 x the highest band or extra line,
        at least 1).
        """
        labels = labels or {}
        highest = 1.0
        for name, (mean, lo, hi) in curves.items():
            self.lines[name].set_data(t, mean)
            self.bands[name].set_verts([_band_vertices(t, lo, hi)])
            highest = max(highest, float(np.max(hi)))
        for name, (x, y) in (extra or {}).items():
            self.extra[name].set_data(x, y)
            highest = max(highest, float(np.max(y)))
        for name, text in self._legend_texts.items():
            text.set_text(labels.get(name, name))
        if title is not None:
            self.ax.set_title(title, fontsize="medium")
        self.ax.set_xlim(*xlim)
        self.ax.set_ylim(0, 1.08 * highest if top is None else top)
        if render:
            self.fig_image.render()
