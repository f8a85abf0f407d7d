"""Sphinx configuration of the course website (built by ``python3 tasks.py site``).

``docs/site/build.py`` gathers the sources (this folder's landing page, every notebook in
``notebooks/``, every exercise in ``exercises/`` as handed out, and ``docs/instructors.md``)
into a staging folder and runs Sphinx on it with this configuration. The notebooks are
rendered from their stored outputs: nothing is executed. Every script, style sheet and font
the pages load is served by the site itself (see ``bandit_site.py``).
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

project = "Bandit Lab"
author = "the Bandit Lab authors"
copyright = "the Bandit Lab authors; MIT licence"
html_title = "Bandit Lab: Thompson sampling, hands on"

extensions = ["myst_nb", "sphinx.ext.githubpages", "bandit_site"]

root_doc = "index"
exclude_patterns = ["**/.ipynb_checkpoints"]

# -- notebooks: the stored outputs, never executed -------------------------------------------
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# -- maths: MathJax 3 from the site itself ----------------------------------------------------
# (relative paths are taken from the site's _static/ folder)
mathjax_path = "mathjax/tex-chtml.js"
mathjax3_config = {"options": {}}

# -- the widgets: the widget manager (and RequireJS) from the site itself ---------------------
# bandit-widgets.js points RequireJS at the widget manager's folder (so its icon fonts load
# from there), maps the widget manager's MathJax 2 calls onto MathJax 3, and renders the
# saved widgets once MathJax (when the page has maths) is ready.
nb_ipywidgets_js = {
    "require.js": {},
    "bandit-widgets.js": {},
    "jupyter-widgets/libembed-amd.js": {},
}

# -- pages --------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_static_path = ["_static"]
html_css_files = ["bandit-site.css"]
html_favicon = "_static/favicon.svg"   # (without one a browser asks for /favicon.ico: a 404)
html_theme_options = {
    "home_page_in_toc": False,         # the title at the top of the sidebar is the home link
    "use_download_button": True,       # each page offers its .ipynb (or .md) for download
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "navbar_persistent": [],           # the sidebar has the search field; no header bar
}
# the download button offers the notebook under its own name (not name.ipynb.txt)
html_sourcelink_suffix = ""
html_copy_source = True
html_last_updated_fmt = None
# light unless the reader picks dark (without it the theme logs an error on every page)
html_context = {"default_mode": "light"}
