"""What every widget shares: a matplotlib figure shown as a PNG image widget, drawn at the
size it is shown; the layout of controls beside the picture; a "computing..." line for slow
changes; and tables in the notebook's own table style.

Drawing into a figure that is rendered to PNG bytes works the same in JupyterLab, in a
headless test and in a static notebook viewer, and a test can check that the picture
changed when a control moved.
"""
from __future__ import annotations

import html as _html
import math
import struct
import time
import zlib
from contextlib import contextmanager

import ipywidgets as W
import numpy as np
from matplotlib import rcParams
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
from matplotlib.font_manager import fontManager
from matplotlib.transforms import IdentityTransform, blended_transform_factory
from matplotlib.colors import to_hex
from matplotlib.figure import Figure


def png_bytes(rgba, level=1):
    """A PNG file of an ``(height, width, 4)`` uint8 RGBA array: no row filters and light
    zlib compression, which is what a redraw wants (about half the time of PIL's encoder
    at its lightest setting, for 5% more bytes).

    >>> import io; from PIL import Image
    >>> rgba = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    >>> np.array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(rgba)))), rgba)
    True
    """
    rgba = np.asarray(rgba)
    if (rgba.dtype != np.uint8 or rgba.ndim != 3 or rgba.shape[2] != 4
            or rgba.shape[0] == 0 or rgba.shape[1] == 0):
        raise ValueError(f"rgba has dtype {rgba.dtype} and shape {rgba.shape}, must be uint8 "
                         "of shape (height, width, 4) with height and width >= 1.")
    height, width, _ = rgba.shape
    raw = np.zeros((height, 4 * width + 1), dtype=np.uint8)  # each row: filter 0, pixels
    raw[:, 1:] = rgba.reshape(height, -1)

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data)))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw.tobytes(), level)) + chunk(b"IEND", b""))


class _TextCachingRenderer(RendererAgg):
    """Agg, keeping the bitmap of every plain text it has drawn.

    A widget redraws the same tick labels, titles and names again and again; laying their
    glyphs out and rasterising them with FreeType is most of the cost of drawing text. The
    bitmap of a string does not depend on where or at what angle it is drawn (Agg draws it
    at angle 0 and rotates the raster), so the cached one gives the same pixels.
    """

    _MAX_TEXTS = 2000

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._texts = {}

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if ismath:
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        flags, antialiased = get_hinting_flag(), bool(gc.get_antialiased())
        # Everything the bitmap depends on: the font files the properties resolve to (so a
        # change of rcParams["font.sans-serif"] is seen), size, hinting and kerning.
        key = (s, tuple(fontManager._find_fonts_by_props(prop)), prop.get_size_in_points(),
               flags, antialiased, rcParams["text.hinting_factor"],
               rcParams["text.kerning_factor"])
        hit = self._texts.get(key)
        if hit is None:  # what RendererAgg.draw_text does, keeping the result
            font = self._prepare_font(prop)
            font.set_text(s, 0, flags=flags)
            font.draw_glyphs_to_bitmap(antialiased=antialiased)
            xo, yo = font.get_bitmap_offset()
            hit = (np.array(font.get_image(), dtype=np.uint8), font.get_descent() / 64.0,
                   xo / 64.0, yo / 64.0)
            if len(self._texts) >= self._MAX_TEXTS:
                self._texts.clear()
            self._texts[key] = hit
        image, descent, xo, yo = hit
        x = round(x + xo + descent * math.sin(math.radians(angle)))
        y = round(y + yo + descent * math.cos(math.radians(angle)))
        self._renderer.draw_text_image(image, x, y + 1, angle, gc)


class _Canvas(FigureCanvasAgg):
    """The Agg canvas, with a renderer that keeps the bitmaps of the texts it draws."""

    def get_renderer(self):
        w, h = self.figure.bbox.size
        key = (w, h, self.figure.dpi)
        if getattr(self, "_renderer_key", None) != key:
            self.renderer = _TextCachingRenderer(w, h, self.figure.dpi)
            self._renderer_key = key
        return self.renderer


def wire(box, controls, redraw, children, **attributes):
    """The explorers' common ending: every control in ``controls`` calls ``redraw`` when
    its value changes; ``box`` gets the attributes ``controls``, ``timings`` (an empty list
    that ``redraw`` appends to), ``redraw`` and ``attributes``; one redraw; then
    ``children``. Returns ``box``."""
    for control in controls.values():
        control.observe(redraw, names="value")
    box.controls, box.timings, box.redraw = controls, [], redraw
    for name, value in attributes.items():
        setattr(box, name, value)
    redraw()
    box.children = children
    return box


def swatch_html(color, *, dashed=False):
    """A short line in ``color`` (any matplotlib colour, e.g. "C0"), for a table that
    doubles as a figure's legend (a legend inside the figure costs ~8 ms a redraw)."""
    style = "dashed" if dashed else "solid"
    return (f"<span style='display:inline-block;width:18px;border-top:3px {style} "
            f"{to_hex(color)};vertical-align:middle;margin-right:4px'></span>")


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



class FigureImage:
    """A matplotlib ``Figure`` (no pyplot, no global state) and the image widget showing it,
    drawn at the size it is shown.

    ``figsize`` (inches) times ``dpi`` is the picture's size in CSS pixels, the size the
    page shows it at: the image widget's layout pins that width (``max-width: 100%`` lets a
    narrow page shrink it, keeping its shape; nothing ever stretches it). ``dpi`` is in
    CSS pixels per inch, so a 10-point font is 13 px, as the notebook's own text. The PNG
    has ``pixel_ratio`` device pixels per CSS pixel: 1 (the default, :attr:`PIXEL_RATIO`)
    is crisp on an ordinary screen and the fastest; 2 is sharp on a high-density
    ("retina") screen and costs about 40% more per redraw. Set
    ``FigureImage.PIXEL_RATIO = 2`` before building a widget to have it drawn that way.

    Two things keep a redraw cheap, which a learner dragging a slider feels:

    * the figure keeps one Agg canvas (``savefig`` would make a new canvas and renderer
      every time), and the PNG is written by :func:`png_bytes`;
    * after the first render the axis labels stay where that render put them
      (``pin_labels``). Otherwise every render measures every tick label again to find
      a place for the label clear of them, which costs up to a fifth of a redraw. The
      y label is pinned a tick-label character width further out than it was, so that
      tick labels one character wider (a y limit of 100 after one of 90) still clear it.

    >>> fi = FigureImage(figsize=(3, 2))
    >>> ax = fi.figure.add_subplot()
    >>> _ = ax.plot([0, 1], [0, 1])
    >>> fi.render()
    >>> fi.image.value[:4] == b'\\x89PNG'
    True
    >>> fi.css_size, fi.canvas.get_width_height(), fi.image.layout.width
    ((288, 192), (288, 192), '288px')
    """

    #: Device pixels per CSS pixel of the pictures built from now on (1 or 2).
    PIXEL_RATIO = 1

    def __init__(self, figsize=(7, 4), dpi=96, layout=None, pin_labels=True, pixel_ratio=None):
        ratio = self.PIXEL_RATIO if pixel_ratio is None else pixel_ratio
        if ratio not in (1, 2):
            raise ValueError(f"pixel_ratio == {ratio!r}, must be 1 or 2.")
        width, height = (float(v) for v in figsize)
        if not (width > 0 and height > 0 and dpi > 0):
            raise ValueError(f"figsize == {figsize!r} and dpi == {dpi!r}, must be positive.")
        self.pixel_ratio = ratio
        #: (width, height) in CSS pixels: the size the page shows the picture at.
        self.css_size = (round(width * dpi), round(height * dpi))
        self.figure = Figure(figsize=(self.css_size[0] / dpi, self.css_size[1] / dpi),
                             dpi=dpi * ratio, layout=layout)
        self.canvas = _Canvas(self.figure)
        self.image = W.Image(format="png", layout=picture_layout(*self.css_size))
        self.pin_labels = bool(pin_labels)
        self._pins = {}  # (axes, "x" or "y") -> (label position in axes coordinates, side)
        self.renders = 0

    def unpin(self, ax):
        """Let matplotlib lay out ``ax``'s axis labels again at the next render (after the
        axes moved or changed size: a pin is kept in the axes' own coordinates)."""
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            if self._pins.pop((ax, name), None) is not None:
                axis._autolabelpos = True
                axis.label.set_transform(
                    blended_transform_factory(ax.transAxes, IdentityTransform())
                    if name == "x" else
                    blended_transform_factory(IdentityTransform(), ax.transAxes))

    def _pin_labels(self, new_ones=True):
        """Re-apply the pins already made (``ax.clear()`` would otherwise lose them) and,
        with ``new_ones``, pin every other axis label where the last draw put it. Returns
        whether a new pin was made."""
        new = False
        for ax in self.figure.axes:
            for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
                key = (ax, name)
                side = axis.get_label_position()
                if key in self._pins and self._pins[key][1] != side:
                    # The label moved to the other side (ax.clear() puts it back on the
                    # left or bottom): let matplotlib lay it out again, as a new axis would.
                    del self._pins[key]
                    axis._autolabelpos = True
                    axis.label.set_transform(
                        blended_transform_factory(ax.transAxes, IdentityTransform())
                        if name == "x" else
                        blended_transform_factory(IdentityTransform(), ax.transAxes))
                if key in self._pins:
                    axis.set_label_coords(*self._pins[key][0])
                    continue
                label = axis.label
                if not new_ones or not label.get_text() or not axis._autolabelpos:
                    continue  # no label, or one its widget placed itself
                x, y = label.get_transform().transform(label.get_position())
                if name == "y":  # room for one more character of tick label
                    ticks = axis.get_ticklabels()
                    shift = 0.6 * (ticks[0].get_size() if ticks else 10) * self.figure.dpi / 72
                    x -= shift if axis.get_label_position() == "left" else -shift
                self._pins[key] = (tuple(ax.transAxes.inverted().transform((x, y))), side)
                axis.set_label_coords(*self._pins[key][0])
                new = True
        return new

    def render(self):
        if self.pin_labels:
            self._pin_labels(new_ones=False)
        self.canvas.draw()
        if self.pin_labels and self._pin_labels():
            self.canvas.draw()  # a label was pinned just now: draw as every later render will
        self.image.value = png_bytes(np.asarray(self.canvas.buffer_rgba()))
        self.renders += 1
