"""Widget builders for the notebooks.

Each builder returns an ``ipywidgets`` widget. Its callbacks are plain functions: set a
control's ``value`` and the figure (an ``ipywidgets.Image`` holding a PNG) and the text
are redrawn, with or without a kernel, which is how the tests check them.
"""
from ._base import FigureImage
from .abtest import ab_test_explorer
from .beta import beta_explorer
from .compare import strategy_explorer
from .customer import customer_explorer
from .forgetting import forgetting_explorer
from .lines import posterior_lines
from .offpolicy import ope_explorer
from .stepper import ts_stepper

__all__ = ["FigureImage", "beta_explorer", "strategy_explorer", "ts_stepper",
           "posterior_lines", "customer_explorer", "forgetting_explorer", "ab_test_explorer",
           "ope_explorer"]
