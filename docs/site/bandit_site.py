"""The course website's own Sphinx extension.

- ``course-path``: a directive that lists the lessons found in ``notebooks/`` in course order
  (by file name), each with its title, its time and the exercises that go with it (an
  exercise names its lesson in its first cell: "Goes with [notebook 02, ...](../notebooks/...)").
  A new notebook or exercise appears without touching the landing page.
- A note at the top of every exercise: how to do it (download, run in JupyterLab).
- A note on every saved widget: on the website a widget shows the state saved when its
  notebook was last run; the note says so and how to make it live. A notebook that shows a
  widget without saving its state is a build error (the widget could not be drawn).
- The scripts the pages load from npm (MathJax 3, RequireJS, the Jupyter widget manager and
  its icon fonts) are copied from ``node_modules/`` into the site's ``_static/``, so a page
  requests nothing from anywhere else.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
RUN_LOCALLY = "index.html#run-the-course-on-your-computer"

# What the site serves from node_modules/: (package folder, files or folders inside it,
# folder under _static/). Each file's licence is in its header (MathJax's in its LICENSE).
NPM_ASSETS = [
    ("requirejs", ["require.js"], "."),
    ("@jupyter-widgets/html-manager", ["dist/libembed-amd.js", "dist/*.woff2", "dist/*.woff",
                                        "dist/*.ttf", "dist/*.eot", "dist/*.svg"],
     "jupyter-widgets"),
    ("mathjax", ["es5/tex-chtml.js", "es5/input", "es5/output/chtml.js", "es5/output/chtml",
                 "es5/a11y", "es5/ui", "es5/adaptors", "es5/sre", "LICENSE"], "mathjax"),
]


# -- the course path ---------------------------------------------------------------------------
def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _markdown(path: Path) -> str:
    return "\n\n".join("".join(c["source"]) for c in _cells(path) if c["cell_type"] == "markdown")


def _title(text: str, fallback: str) -> str:
    m = re.search(r"^#\s+(.+)$", text, re.M)
    return m.group(1).strip() if m else fallback


def _minutes(text: str) -> str:
    m = re.search(r"\*\*Time:\*\*\s*(about [^.]+?)[.,]", text) or re.search(r"\b(About \d+ minutes)", text)
    return m.group(1)[0].lower() + m.group(1)[1:] if m else ""


class CoursePath(SphinxDirective):
    """The lessons in course order, each with its time and its exercises."""

    has_content = False

    def run(self):
        src = Path(self.env.srcdir)
        lessons = sorted((src / "notebooks").glob("*.ipynb"))
        exercises = sorted((src / "exercises").glob("*.ipynb"))
        goes_with: dict[str, list[Path]] = {}
        for ex in exercises:
            m = re.search(r"\]\(\.\./notebooks/([\w.-]+\.ipynb)\)", _markdown(ex))
            goes_with.setdefault(m.group(1) if m else "", []).append(ex)
        lines = []
        for nb in lessons:
            text = _markdown(nb)
            time = _minutes(text)
            lines.append(f"- **[{_title(text, nb.stem)}](notebooks/{nb.name})**"
                         + (f", {time}" if time else ""))
            exs = goes_with.pop(nb.name, [])
            if exs:
                lines.append(f"  <br>exercise{'s' if len(exs) > 1 else ''}: "
                             + "; ".join(self._exercise(ex) for ex in exs))
        left = [ex for group in goes_with.values() for ex in group]
        if left:
            lines.append("- more exercises: " + "; ".join(self._exercise(ex) for ex in left))
        box = nodes.container(classes=["bandit-course-path"])
        self.state.nested_parse(StringList(lines), self.content_offset, box)
        return [box]

    @staticmethod
    def _exercise(ex: Path) -> str:
        text = _markdown(ex)
        title = re.sub(r"^Exercise\s+(\d+):\s*", r"\1. ", _title(text, ex.stem))
        time = _minutes(text)
        return f"[{title}](exercises/{ex.name})" + (f" ({time})" if time else "")


# -- a note on every saved widget ---------------------------------------------------------------
def _saved_models(path: Path) -> set[str]:
    meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    return set(meta.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {}))


def add_widget_notes(app, doctree, docname):
    views = [n for n in doctree.findall(nodes.raw)
             if n.get("format") == "html" and f'type="{WIDGET_VIEW}"' in n.astext()]
    if not views:
        return
    source = Path(app.env.doc2path(docname))
    saved = _saved_models(source) if source.suffix == ".ipynb" else set()
    up = "../" * docname.count("/")
    download = f"{up}_sources/{docname}{source.suffix}"
    for view in views:
        body = re.sub(r"^<script[^>]*>|</script>\s*$", "", view.astext().strip())
        try:
            model = json.loads(body)["model_id"]
        except (ValueError, KeyError):
            model = None
        if model not in saved:
            logger.warning(f"{source.name} shows a widget ({model}) whose state is not saved in "
                           "the notebook, so the website cannot draw it: execute the notebook "
                           "with its widget state saved (python3 tasks.py execute)",
                           location=docname)
        note = nodes.admonition(classes=["note", "bandit-widget-note"])
        note += nodes.title(text="A saved widget")
        para = nodes.paragraph()
        para += nodes.Text(
            "On this website the widget below shows the state saved when the notebook was "
            "last run: its controls move, but nothing is recomputed, because that takes "
            "Python. To make it live, ")
        para += nodes.reference(text="download the notebook", refuri=download)
        para += nodes.Text(" and run it in JupyterLab (")
        para += nodes.reference(text="how to run the course", refuri=up + RUN_LOCALLY)
        para += nodes.Text(").")
        note += para
        view.parent.insert(view.parent.index(view), note)


# -- how to do an exercise --------------------------------------------------------------------------
def add_exercise_note(app, doctree, docname):
    """At the top of an exercise: it is done in JupyterLab, from its downloaded notebook."""
    if not docname.startswith("exercises/"):
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None or not isinstance(section[0], nodes.title):
        return
    up = "../" * docname.count("/")
    note = nodes.admonition(classes=["tip", "bandit-exercise-note"])
    note += nodes.title(text="Doing this exercise")
    para = nodes.paragraph()
    para += nodes.Text("This page shows the exercise as it is handed out, with the checks' "
                       "answers to the blank notebook. To do it, ")
    para += nodes.reference(text="download its notebook", refuri=f"{up}_sources/{docname}.ipynb")
    para += nodes.Text(", open it in JupyterLab in the course's folder (")
    para += nodes.reference(text="how to run the course", refuri=up + RUN_LOCALLY)
    para += nodes.Text("), run it from the top and check each answer with its grader.check "
                       "cell.")
    note += para
    section.insert(1, note)


# -- scripts from npm -----------------------------------------------------------------------------
def node_modules(app) -> Path:
    return Path(app.config.bandit_node_modules or Path(app.confdir).parents[1] / "node_modules")


def check_node_modules(app):
    missing = [pkg for pkg, _, _ in NPM_ASSETS if not (node_modules(app) / pkg).is_dir()]
    if missing:
        raise ExtensionError(f"{node_modules(app)} lacks {', '.join(missing)}: build the site "
                             "with `python3 tasks.py site`, which installs them (npm ci)")


def copy_npm_assets(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    for pkg, patterns, target in NPM_ASSETS:
        base, dest = node_modules(app) / pkg, static / target
        for pattern in patterns:
            found = sorted(base.glob(pattern))
            if not found:
                raise ExtensionError(f"{base} has no {pattern}: reinstall it (npm ci)")
            for path in found:
                # es5/input -> mathjax/input: keep the layout below the package's es5/
                rel = path.relative_to(base)
                rel = Path(*rel.parts[1:]) if rel.parts[0] in ("es5", "dist") else rel
                out = dest / rel
                if path.is_dir():
                    shutil.copytree(path, out, dirs_exist_ok=True,
                                    ignore=shutil.ignore_patterns("*.map"))
                else:
                    out.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, out)


def setup(app):
    app.add_config_value("bandit_node_modules", "", "env")
    app.add_directive("course-path", CoursePath)
    app.connect("builder-inited", check_node_modules)
    app.connect("doctree-resolved", add_widget_notes)
    app.connect("doctree-resolved", add_exercise_note)
    app.connect("build-finished", copy_npm_assets)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
