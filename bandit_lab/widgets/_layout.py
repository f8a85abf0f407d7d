"""How the widgets are laid out: controls beside the picture (wrapping under it on a narrow
page), labels sized to their text, tables in the notebook's own table style, and a
"computing..." line for a change that takes long. ipywidgets only: no figures here.
"""
from __future__ import annotations

import html as _html
import time
from contextlib import contextmanager

import ipywidgets as W


def walk(widget):
    """``widget`` and every widget inside it (its ``children``, theirs, ...), in order.

    >>> import ipywidgets as W
    >>> inner = W.Label("x")
    >>> inner in list(walk(W.VBox([W.HBox([inner])])))
    True
    """
    seen, todo = set(), [widget]
    while todo:
        w = todo.pop(0)
        if id(w) in seen:
            continue
        seen.add(id(w))
        yield w
        todo[:0] = [c for c in (getattr(w, "children", ()) or ()) if isinstance(c, W.Widget)]


def picture_layout(width, height):
    """The layout of a picture of ``width`` x ``height`` CSS pixels: shown at exactly that
    size (the box around it does not stretch it), shrunk with its shape kept only where
    the page is narrower."""
    return W.Layout(width=f"{width}px", height="auto", max_width="100%", object_fit="contain",
                    flex="0 0 auto", align_self="flex-start", margin="0 0 4px 0")


def label_width(controls):
    """A description width (in ``ch``, the width of a digit, wider than an average letter)
    that holds the longest description of ``controls`` whole, so that a column of controls
    lines up. (The browser tests check that no label is cut short.)"""
    longest = max((len(getattr(c, "description", "") or "") for c in controls), default=0)
    return f"{longest + 1}ch"


def tidy_controls(controls, *, track="150px"):
    """Lay out a column of controls so that none is cut off and every label is shown whole.

    Sliders and number boxes get one label width (:func:`label_width`, so they line up) and
    a width of that label plus ``track`` plus the readout, never more than the box they are
    in (``max-width: 100%``: on a narrow page the track gets shorter, the label does not);
    buttons are as wide as their text; checkboxes and dropdowns keep their text whole.
    Returns ``controls``."""
    controls = list(controls)
    labelled = [c for c in controls if isinstance(c, (W.FloatSlider, W.IntSlider, W.FloatLogSlider,
                                                      W.SelectionSlider, W.BoundedIntText,
                                                      W.BoundedFloatText, W.IntText, W.FloatText))]
    width = label_width(labelled)
    for c in controls:
        if c in labelled:
            c.style.description_width = width
            extra = ("70px" if isinstance(c, (W.BoundedIntText, W.BoundedFloatText, W.IntText,
                                              W.FloatText)) else f"calc({track} + 70px)")
            c.layout.width = f"calc({width} + {extra})"
            c.layout.max_width = "100%"
        elif isinstance(c, W.Dropdown):  # its own label width: the options need the room
            own = label_width([c])
            c.style.description_width = own
            c.layout.width = f"calc({own} + 200px)"
            c.layout.max_width = "100%"
        elif isinstance(c, W.Button):
            c.layout.width = "auto"
            c.layout.min_width = "max-content"
        elif isinstance(c, W.Checkbox):
            c.indent = False
            c.layout.width = "auto"
            c.layout.margin = "2px 16px 2px 0"
    return controls


def controls_beside_picture(controls, picture, below=(), *, gap="16px"):
    """The widgets' common arrangement: ``controls`` (a list, stacked) left of ``picture``,
    and ``below`` under both. Where the page is too narrow for both side by side, the
    picture wraps under the controls. Returns the children for the widget's VBox."""
    left = W.VBox(list(controls), layout=W.Layout(flex="0 1 auto", max_width="100%",
                                                  margin=f"0 {gap} 8px 0"))
    top = W.Box([left, picture], layout=W.Layout(display="flex", flex_flow="row wrap",
                                                 align_items="flex-start", width="100%"))
    return [top, *below]


def html_table(header, rows, *, bold=None, note=None):
    """An HTML table in the notebook's own table style (JupyterLab's, which pandas tables
    use too): ``header`` a sequence of column titles, ``rows`` sequences of cell HTML (the
    caller escapes text), ``bold`` the index of a row to set in bold. A table wider than
    the page scrolls sideways instead of being cut.

    >>> import re
    >>> re.sub(r' style="[^"]*"', "", html_table(["a", "b"], [["1", "2"]]))
    '<div class="jp-RenderedHTMLCommon"><table class="dataframe"><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody></table></div>'
    """
    th = 'style="text-align:left;padding:2px 8px"'
    td = 'style="text-align:left;padding:2px 8px;white-space:nowrap"'
    th = td  # a narrow page scrolls the table sideways rather than stacking its words
    head = "".join(f"<th {th}>{h}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        weight = ' style="font-weight:bold"' if i == bold else ""
        body.append(f"<tr{weight}>" + "".join(f"<td {td}>{v}</td>" for v in row) + "</tr>")
    tail = f"<div>{note}</div>" if note else ""
    # width 0 and min-width 100%: the box takes the page's width, not the table's, so a
    # table wider than the page scrolls inside it instead of widening the widget
    return (f'<div class="jp-RenderedHTMLCommon" style="padding:0;overflow-x:auto;width:0;'
            f'min-width:100%"><table class="dataframe" style="margin:2px 0 4px 0"><thead>'
            f'<tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>{tail}</div>')


def text_block(html_text):
    """``html_text`` set as ordinary running text (an ``ipywidgets.HTML`` otherwise gives
    every line the 28 px height of a control)."""
    return f'<div style="line-height:1.4">{html_text}</div>'


def escape(text):
    """``text`` made safe for HTML."""
    return _html.escape(str(text))


class Busy:
    """Shows that a slow change is working: a "computing..." line (:attr:`status`, an
    ``ipywidgets.HTML`` to place under the controls) and the controls disabled, while a
    change expected to take longer than ``threshold`` seconds works.

    How long a piece of work will take is predicted from how long the last ones took per
    unit of work (the caller counts units, e.g. runs x steps to simulate); before any is
    measured, work is assumed slow. A change that needs no work (a cached result) never
    shows it.

    >>> import ipywidgets as W
    >>> slider = W.IntSlider()
    >>> busy = Busy([slider], threshold=0.0)
    >>> seen = []
    >>> slider.observe(lambda ch: seen.append(ch["new"]), names="disabled")
    >>> with busy.working(100, "simulating"):
    ...     during = busy.status.value
    >>> "computing" in during, seen, busy.status.value == busy.idle
    (True, [True, False], True)
    """

    idle = '<div style="line-height:1.4;min-height:1.4em">&nbsp;</div>'

    def __init__(self, controls=(), *, threshold=0.15):
        self.controls = list(controls)
        self.threshold = float(threshold)
        self.seconds_per_unit = None
        self.shown = 0  # how often "computing..." was shown, for tests
        # width 0, min-width 100%: the message wraps within the column of controls instead
        # of widening it (which would push the picture under the controls while it shows)
        self.status = W.HTML(self.idle, layout=W.Layout(width="0px", min_width="100%"))

    def expected_seconds(self, units):
        """How long ``units`` of work should take (None before anything was measured)."""
        return None if self.seconds_per_unit is None else units * self.seconds_per_unit

    def will_show(self, units):
        expected = self.expected_seconds(units)
        return units > 0 and (expected is None or expected > self.threshold)

    @contextmanager
    def working(self, units, what="computing"):
        """Around ``units`` of work: says so first if it should take long, and measures it."""
        show = self.will_show(units)
        if show:
            self.shown += 1
            self.status.value = ('<div style="line-height:1.4;min-height:1.4em;'
                                 'color:var(--jp-warn-color0,#b35900)">'
                                 f"&#8987; computing: {escape(what)}&hellip;</div>")
            enabled = [c for c in self.controls if not c.disabled]
            for c in enabled:
                c.disabled = True
        start = time.perf_counter()
        try:
            yield
        finally:
            if units > 0:
                rate = (time.perf_counter() - start) / units
                # the slower of the last two: a single fast run does not hide the next slow one
                self.seconds_per_unit = (rate if self.seconds_per_unit is None
                                         else max(rate, 0.5 * (rate + self.seconds_per_unit)))
            if show:
                for c in enabled:
                    c.disabled = False
                self.status.value = self.idle
