"""Widget builders for the notebooks.

Each builder returns an ``ipywidgets`` widget. Its callbacks are plain functions: set a
control's ``value`` and the figure (an ``ipywidgets.Image`` holding a PNG) and the text
are redrawn, with or without a kernel, which is how the tests check them.
"""
from ._base import FigureImage
from .beta import beta_explorer

__all__ = ["FigureImage", "beta_explorer"]
