"""The course website (python3 tasks.py site): it builds with warnings as errors, holds every
lesson, exercise and the instructors' guide, offers each page's notebook, and never carries a
solution or a hidden test.

The browser's view of the same build (requests, maths, widgets, links) is
tests/e2e/test_site_in_browser.py.
"""
from __future__ import annotations

import html as html_lib
import json
import re
import zlib
from pathlib import Path

import pytest

from site_fixtures import ROOT, built_site  # noqa: F401  (fixture)

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
MIN_LINE = 20  # shorter solution lines (`return a, b`) are too common to mean anything


# -- what must never reach the site ----------------------------------------------------------
def _nb(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _strings(obj):
    """Every string inside a JSON value (a notebook's sources, outputs and metadata)."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from _strings(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _strings(value)


def _lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if line.strip()}


def public_lines() -> set[str]:
    """Every line of what the site is built from (it may show these)."""
    lines = set()
    for path in [*NOTEBOOKS, *EXERCISES]:
        for s in _strings(_nb(path)):
            lines |= _lines(s)
    for path in (ROOT / "docs" / "instructors.md", ROOT / "docs" / "references.md",
                 ROOT / "docs" / "site" / "index.md"):
        lines |= _lines(path.read_text(encoding="utf-8"))
    return lines


def _test_cases(code: str):
    """(function name, is hidden, source) of each otter test case in a test file."""
    parts = re.split(r"(?=^@test_case\()", code, flags=re.M)
    for part in parts:
        m = re.match(r"@test_case\(([^)]*)\)\s*\ndef\s+(\w+)\s*\(", part)
        if m:
            yield m.group(2), bool(re.search(r"hidden\s*=\s*True", m.group(1))), part


def secrets() -> tuple[set[str], set[str]]:
    """(lines, names) that only the solutions and the exercise masters hold: the code of each
    solution and of each hidden test, and the hidden tests' function names."""
    public = public_lines()
    lines, names = set(), set()

    def keep(text):
        lines.update(s for s in _lines(text) if len(s) >= MIN_LINE and s not in public)

    for sol in sorted((ROOT / "solutions").glob("*.ipynb")):
        nb = _nb(sol)
        for code in nb["metadata"].get("otter", {}).get("tests", {}).values():
            for name, hidden, source in _test_cases(code):
                if hidden:
                    names.add(name)
                    keep(source)
        for cell in nb["cells"]:
            if "otter_assign_solution_cell" in cell.get("metadata", {}).get("tags", []):
                keep("".join(cell["source"]))
    for master in sorted((ROOT / "exercises_src").glob("*.ipynb")):
        for cell in _nb(master)["cells"]:
            src = "".join(cell["source"])
            if cell["cell_type"] == "code" and re.search(r"^hidden:\s*true", src, re.M):
                keep(src)
                names.update(re.findall(r"^def\s+(\w+)\s*\(", src, re.M))
            elif cell["cell_type"] == "code" and "# BEGIN SOLUTION" in src:
                keep(src)
    return lines, {n for n in names if not any(n in line for line in public)}


def site_text(path: Path) -> str | None:
    """The text a site file shows or carries (None for images and fonts)."""
    suffix = path.suffix.lower()
    if suffix in {".png", ".jpg", ".jpeg", ".gif", ".ico", ".woff", ".woff2", ".ttf", ".eot"}:
        return None
    data = path.read_bytes()
    if path.name == "objects.inv":
        head, _, body = data.partition(b"zlib.\n")
        return head.decode() + zlib.decompress(body).decode()
    text = data.decode("utf-8", errors="replace")
    if suffix == ".ipynb":
        return "\n".join(_strings(json.loads(text)))
    if suffix in {".html", ".htm", ".svg", ".xml"}:
        # the text of the page, and of the markup: code is split into highlighting spans
        return html_lib.unescape(re.sub(r"<[^>]+>", "", text)) + "\n" + text
    if suffix in {".js", ".json"}:
        # JSON-escaped text (search index, widget state): undo the escapes line by line
        return text + "\n" + text.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
    return text


# Files the site copies from npm packages: (folder in the site, the package's folders).
NPM_COPIES = [("_static/mathjax", ["mathjax/es5", "mathjax"]),
              ("_static/jupyter-widgets", ["@jupyter-widgets/html-manager/dist"]),
              ("_static", ["requirejs"])]


def npm_original(rel: Path) -> Path | None:
    """The node_modules file a site file is an unchanged copy of, if it is one."""
    for prefix, folders in NPM_COPIES:
        if rel.parent.as_posix().startswith(prefix):
            rest = rel.relative_to(prefix)
            for folder in folders:
                original = ROOT / "node_modules" / folder / rest
                if original.is_file():
                    return original
    return None


def leaks(site: Path, lines: set[str], names: set[str]) -> list[str]:
    """Files of the site that hold a secret line or name, and what they hold. Unchanged
    copies of npm packages' files are skipped."""
    found = []
    lowered_names = {n.lower() for n in names}
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        original = npm_original(path.relative_to(site))
        if original is not None and original.read_bytes() == path.read_bytes():
            continue
        text = site_text(path)
        if text is None:
            continue
        rel = path.relative_to(site)
        hit = sorted(_lines(text) & lines)
        low = text.lower()
        hit += sorted(f"hidden test {n}" for n in lowered_names if n in low)
        if hit:
            found.append(f"{rel}: {hit[:3]}")
    return found


def test_the_leak_check_finds_a_solution_and_a_hidden_test(tmp_path):
    """The check below, on a fake site holding one solution line (in a page, split into
    highlighting spans) and one hidden test (in a downloadable notebook's metadata)."""
    lines, names = secrets()
    assert lines and names, "no solutions or hidden tests found to guard"
    solution = sorted(lines)[0]
    name = sorted(names)[0]
    words = solution.split(" ")
    (tmp_path / "page.html").write_text(
        "<pre>" + " ".join(f'<span class="n">{html_lib.escape(w)}</span>' for w in words) + "</pre>")
    (tmp_path / "nb.ipynb").write_text(json.dumps(
        {"metadata": {"otter": {"tests": {"q1": f"@test_case(hidden=True)\ndef {name}(x):\n"}}}}))
    (tmp_path / "clean.html").write_text("<p>nothing here</p>")
    found = leaks(tmp_path, lines, names)
    assert [f.split(":")[0] for f in found] == ["nb.ipynb", "page.html"], found


@pytest.mark.slow
def test_no_solution_or_hidden_test_reaches_the_site(built_site):  # noqa: F811
    site = built_site.html
    lines, names = secrets()
    found = leaks(site, lines, names)
    assert not found, "solutions or hidden tests on the website:\n" + "\n".join(found)
    # only the handed-out exercises, byte for byte, and no hidden test in their metadata
    offered = sorted(p.relative_to(site / "_sources").as_posix()
                     for p in (site / "_sources").rglob("*") if p.is_file())
    expected = sorted(["index.md", "docs/instructors.md", "docs/references.md",
                       *(f"notebooks/{p.name}" for p in NOTEBOOKS),
                       *(f"exercises/{p.name}" for p in EXERCISES)])
    assert offered == expected
    for ex in EXERCISES:
        copy = site / "_sources" / "exercises" / ex.name
        assert copy.read_bytes() == ex.read_bytes(), f"{ex.name} on the site is not the handed-out one"
        tests = _nb(copy)["metadata"].get("otter", {}).get("tests", {})
        hidden = [n for code in tests.values() for n, h, _ in _test_cases(code) if h]
        assert not hidden, f"{ex.name} carries hidden tests: {hidden}"
    for folder in ("solutions", "exercises_src"):
        assert not list(site.rglob(f"*{folder}*")), f"something named {folder} is on the site"


# -- the build and what it holds -----------------------------------------------------------
def _page(site: Path, rel: str) -> str:
    return (site / rel).read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_site_builds_with_warnings_as_errors_and_holds_the_whole_course(built_site):  # noqa: F811
    site = built_site.html
    assert "build succeeded" in built_site.log and "WARNING" not in built_site.log, built_site.log
    print(f"\nsite built in {built_site.seconds:.1f} s")
    index = _page(site, "index.html")
    pages = [f"notebooks/{p.stem}.html" for p in NOTEBOOKS] + [f"exercises/{p.stem}.html" for p in EXERCISES]
    for rel in [*pages, "docs/instructors.html", "docs/references.html", "search.html"]:
        assert (site / rel).is_file(), f"{rel} is missing"
    # the sidebar lists lessons, then exercises, then the guide and the sources, each in
    # file-name order
    nav = re.search(r'<nav class="bd-links bd-docs-nav".*?</nav>', index, re.S).group(0)
    hrefs = [h for h in re.findall(r'href="([^"#]+)"', nav) if h.endswith(".html")]
    assert hrefs == [*pages, "docs/instructors.html", "docs/references.html"], hrefs
    # the landing page's course path links every lesson, in course order, and every exercise
    path = re.search(r'class="[^"]*bandit-course-path.*?</div>', index, re.S).group(0)
    linked = re.findall(r'href="((?:notebooks|exercises)/[^"#]+\.html)"', path)
    lessons = [h for h in linked if h.startswith("notebooks/")]
    assert lessons == [f"notebooks/{p.stem}.html" for p in NOTEBOOKS]
    assert sorted(h for h in linked if h.startswith("exercises/")) == [
        f"exercises/{p.stem}.html" for p in EXERCISES]
    # its own icon: without one a browser asks every site for /favicon.ico (a 404 here)
    assert re.search(r'<link rel="icon" href="_static/[^"]+"', index)
    for words in ("Who it is for", "What you need to know first", "python3 tasks.py lab"):
        assert words in html_lib.unescape(re.sub(r"<[^>]+>", "", index)), words
    # each page offers its own notebook, the very file
    for rel, src in zip(pages, [*NOTEBOOKS, *EXERCISES]):
        folder = src.parent.name
        link = f"../_sources/{folder}/{src.name}"
        assert f'href="{link}"' in _page(site, rel), f"{rel} does not offer {src.name}"
        assert (site / "_sources" / folder / src.name).read_bytes() == src.read_bytes()
        if folder == "exercises":  # and says how to do it
            note = re.search(r'class="[^"]*bandit-exercise-note[^"]*">(.*?)</div>', _page(site, rel), re.S)
            assert note and f'href="{link}"' in note.group(1), f"{rel}: no note on doing it"
    # search: every lesson's title is in the index
    index_js = _page(site, "searchindex.js")
    for nb in NOTEBOOKS:
        title = next(re.search(r"^#\s+(.+)$", "".join(c["source"]), re.M).group(1)
                     for c in _nb(nb)["cells"] if c["cell_type"] == "markdown")
        assert json.dumps(title.strip())[1:-1] in index_js, f"{title!r} not in the search index"


@pytest.mark.slow
def test_pages_load_nothing_from_elsewhere(built_site):  # noqa: F811
    """Every script, style sheet, font and image a page names is a file of the site (the
    browser test watches the requests themselves)."""
    site = built_site.html
    problems = []
    for page in sorted(site.rglob("*.html")):
        if page.relative_to(site).parts[0] == "_static":
            continue  # the theme's template fragments, not pages
        text = page.read_text(encoding="utf-8")
        for tag, attr in (("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src")):
            for m in re.finditer(rf"<{tag}\b[^>]*\b{attr}=\"([^\"]+)\"", text):
                url = m.group(1)
                if url.startswith("#"):
                    continue
                if re.match(r"[a-z]+:", url) and not url.startswith("data:"):
                    problems.append(f"{page.relative_to(site)}: <{tag} {attr}={url}>")
                elif not url.startswith("data:"):
                    target = (page.parent / url.split("?")[0].split("#")[0]).resolve()
                    if not target.is_file():
                        problems.append(f"{page.relative_to(site)}: <{tag}> names a missing {url}")
    for css in sorted(site.rglob("*.css")):
        for url in re.findall(r"url\(\s*['\"]?(https?:[^)'\"]+)", css.read_text(errors="replace")):
            problems.append(f"{css.relative_to(site)}: url({url})")
    assert not problems, "\n".join(problems)


# -- maths and widgets -------------------------------------------------------------------------
MATH = re.compile(r'<(span|div) class="math[^"]*"[^>]*>(.*?)</\1>', re.S)
TEXT_MACROS = re.compile(r"\\(?:text|mathrm|textrm|operatorname|mbox|textbf|textit)\s*\{[^{}]*\}")
PROSE = re.compile(r"(?<![\\A-Za-z])(?:[A-Za-z]{2,}\s+){3,}[A-Za-z]{2,}\b")


def prose_in_maths(tex: str) -> str | None:
    """Four or more plain words in a row in a formula: text typeset as maths, as an unescaped
    dollar sign does ("a $40 card ... a $260 one")."""
    m = PROSE.search(TEXT_MACROS.sub(" ", tex))
    return m.group(0) if m else None


def test_prose_in_maths_is_recognised():
    assert prose_in_maths(r"\(40 card counts as much as a purchase of a \)")
    for tex in (r"\(\alpha + \beta\)", r"\(\text{Beta}(\alpha_k, \beta_k)\)",
                r"\[\hat\mu_k = \frac{1}{n} \sum r \quad \text{for every arm in the set}\]",
                r"\(w_\text{click}\,c + w_\text{revenue}\,c\,p\,m\)"):
        assert prose_in_maths(tex) is None, tex


@pytest.mark.slow
def test_no_text_is_typeset_as_maths(built_site):  # noqa: F811
    site = built_site.html
    found = []
    for page in sorted(site.rglob("*.html")):
        for m in MATH.finditer(page.read_text(encoding="utf-8")):
            words = prose_in_maths(html_lib.unescape(m.group(2)))
            if words:
                found.append(f"{page.relative_to(site)}: {m.group(2)[:120]!r} ({words!r})")
    assert not found, ("text typeset as maths (an unescaped $? write \\$ for a dollar):\n"
                       + "\n".join(found))


@pytest.mark.slow
def test_every_widget_has_its_saved_state_and_a_note(built_site):  # noqa: F811
    site = built_site.html
    shown = 0
    for nb_path in NOTEBOOKS:
        nb = _nb(nb_path)
        views = [o["data"][WIDGET_VIEW]["model_id"] for c in nb["cells"] for o in c.get("outputs", [])
                 if WIDGET_VIEW in o.get("data", {})]
        page = _page(site, f"notebooks/{nb_path.stem}.html")
        if not views:
            assert WIDGET_STATE not in page
            continue
        state = nb["metadata"].get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
        assert set(views) <= set(state), f"{nb_path.name}: a widget without saved state"
        assert page.count(f'type="{WIDGET_STATE}"') == 1, nb_path.name
        assert page.count(f'type="{WIDGET_VIEW}"') == len(views), nb_path.name
        notes = re.findall(r'class="[^"]*bandit-widget-note[^"]*">(.*?)</div>', page, re.S)
        assert len(notes) == len(views), nb_path.name
        for note in notes:
            assert "saved" in note and "run it in JupyterLab" in note
            assert f'href="../_sources/notebooks/{nb_path.name}"' in note
        shown += len(views)
    assert shown, "no notebook shows a widget"


# -- links between lessons and exercises ---------------------------------------------------
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def test_links_between_lessons_and_exercises_are_relative_and_resolve():
    """A link to a notebook is relative (`../exercises/ex01_beta_update.ipynb`), so
    JupyterLab opens it and the site turns it into the page; and its target exists."""
    problems, count = [], 0
    for path in [*NOTEBOOKS, *EXERCISES]:
        for cell in _nb(path)["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            for target in LINK.findall("".join(cell["source"])):
                if re.match(r"[a-z]+:", target) or target.startswith("#"):
                    continue
                count += 1
                file = target.split("#")[0]
                if file.startswith("/"):
                    problems.append(f"{path.name}: absolute link {target}")
                elif not (path.parent / file).is_file():
                    problems.append(f"{path.name}: {target} does not exist")
                elif (path.parent / file).resolve().parent.name in ("solutions", "exercises_src"):
                    problems.append(f"{path.name}: links to {target}, which learners must not see")
    assert count, "no links between notebooks found"
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_links_to_notebooks_lead_to_pages_on_the_site(built_site):  # noqa: F811
    site = built_site.html
    wrong = []
    for page in sorted(site.rglob("*.html")):
        for href in re.findall(r'href="([^"]+)"', page.read_text(encoding="utf-8")):
            if href.split("#")[0].endswith(".ipynb") and "_sources/" not in href:
                wrong.append(f"{page.relative_to(site)}: {href}")
    assert not wrong, "links to a notebook file instead of its page:\n" + "\n".join(wrong)
