"""The one piece every widget shares: a matplotlib figure shown as a PNG image widget,
drawn at the size it is shown (the layout around it, tables and the "computing..." line
are in :mod:`bandit_lab.widgets._layout`).

Drawing into a figure that is rendered to PNG bytes works the same in JupyterLab, in a
headless test and in a static notebook viewer, and a test can check that the picture
changed when a control moved.
"""
from __future__ import annotations

import math
import struct
import zlib

import ipywidgets as W
import numpy as np
from matplotlib import rcParams
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
from matplotlib.font_manager import fontManager
from matplotlib.transforms import IdentityTransform, blended_transform_factory
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from ._layout import picture_layout


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
