"""The course website as a reader meets it: the built site served on 127.0.0.1, every page
opened in headless Chromium, every request to any other address blocked.

The site is built once per test run (tests/site_fixtures.py, the same build as
``python3 tasks.py site``). Every HTML page of the site is opened (a page the test does not
know of fails it), and for each:

- no request was blocked (a request to any host but 127.0.0.1), none failed, none answered
  with an error status; no console error and no uncaught exception;
- every image loaded;
- the maths rendered: MathJax finished, no MathJax error node, every formula typeset, and no
  ``$``, ``\\(`` or ``\\[`` left in the text outside code and outputs (a ``$`` before a
  digit is a dollar amount, and allowed; the search page's excerpts quote pages' text with
  their formulas' TeX, as every Sphinx site's do);
- every widget rendered from the state saved in its notebook: drawn as live controls (not
  an error), its pictures the saved pictures (their pixel sizes), its sliders at their saved
  values, its HTML text the saved text, and a note above it saying it is a saved state;

and then every link between the site's pages is followed: the target answers, and a link to
a place in a page (``#...``) finds that place. The search page finds the lessons. Screenshots
of the landing page, a page with maths and a page with a widget go to build/screenshots/
(docs/screenshots/ with BANDIT_LAB_SCREENSHOTS=docs/screenshots).
"""
from __future__ import annotations

import base64
import functools
import html as html_lib
import http.server
import io
import json
import os
import re
import socketserver
import threading
from pathlib import Path
from urllib.parse import urldefrag, urlparse

import pytest

from site_fixtures import ROOT, built_site  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# build/screenshots (ignored by git) unless BANDIT_LAB_SCREENSHOTS names another folder:
# BANDIT_LAB_SCREENSHOTS=docs/screenshots refreshes the pictures the README shows.
SCREENSHOTS = ROOT / os.environ.get("BANDIT_LAB_SCREENSHOTS", "build/screenshots")
MAX_SCREENSHOT_BYTES = 200_000
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))
PAGES = (["index.html", "search.html", "genindex.html", "docs/instructors.html",
          "docs/references.html"]
         + [f"notebooks/{p.stem}.html" for p in NOTEBOOKS]
         + [f"exercises/{p.stem}.html" for p in EXERCISES])
SEARCH = ("beta prior", "notebooks/02_beta_priors.html")   # a query and a page it must find
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
LOAD_TIMEOUT_MS = 60_000
RENDER_TIMEOUT_MS = 45_000   # MathJax and the widgets, on two shared cores
SLIDERS = {"FloatSliderModel", "IntSliderModel", "FloatRangeSliderModel", "IntRangeSliderModel"}


# -- a web server for the built site ----------------------------------------------------------
class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site_url(built_site):  # noqa: F811
    handler = functools.partial(_Quiet, directory=str(built_site.html))
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# -- what the page shows -------------------------------------------------------------------------
RENDERED = """() => {
  const views = [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')];
  const imgs = [...document.images];
  return views.every(s => {
      const area = s.previousElementSibling;
      return area && area.classList.contains('widget-subarea') && area.querySelector('.jupyter-widgets');
    }) && imgs.every(i => i.complete);
}"""

MATHJAX_DONE = """() => {
  const mj = window.MathJax;
  if (!mj || !mj.startup || !mj.startup.promise) return 'no MathJax';
  return mj.startup.promise.then(() => 'typeset');
}"""

INSPECT = r"""() => {
  // code, outputs, formulas, and the search page's excerpts (page text, formulas unrendered)
  const skip = 'pre, code, script, style, textarea, mjx-container, .cell_output, .highlight, ul.search';
  const dollars = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.parentElement || node.parentElement.closest(skip)) continue;
    const text = node.textContent;
    const re = /\$(?!\d)|\\\(|\\\)|\\\[|\\\]/g;
    let m;
    while ((m = re.exec(text)) !== null)
      dollars.push(text.slice(Math.max(0, m.index - 50), m.index + 50).replace(/\s+/g, ' '));
  }
  const maths = [...document.querySelectorAll('.math')];
  const views = [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')]
    .map(s => {
      const area = s.previousElementSibling;
      const ok = !!(area && area.classList.contains('widget-subarea'));
      const cell = s.closest('.cell_output') || s.parentElement;
      const note = cell.querySelector('.bandit-widget-note');
      return {
        model: JSON.parse(s.textContent).model_id,
        rendered: ok && !!area.querySelector('.jupyter-widgets'),
        errors: ok ? [...area.querySelectorAll('.widget-error, .jupyter-widgets-error-widget')]
                       .map(e => e.textContent.slice(0, 200)) : [],
        images: ok ? [...area.querySelectorAll('img')].map(i => [i.naturalWidth, i.naturalHeight]) : [],
        // each slider's value as the slider holds it (its handles' labels are rounded)
        sliders: ok ? [...area.querySelectorAll('.noUi-target')].flatMap(t => {
          const v = t.noUiSlider ? t.noUiSlider.get(true) : null;
          return Array.isArray(v) ? v : [v];
        }) : [],
        text: ok ? area.textContent : '',
        note: note ? note.textContent : null,
        noteFirst: !!(note && ok && (note.compareDocumentPosition(area) & Node.DOCUMENT_POSITION_FOLLOWING)),
      };
    });
  return {
    dollars,
    merrors: [...document.querySelectorAll('mjx-merror')].map(e => e.textContent.slice(0, 200)),
    untypeset: maths.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 100)),
    maths: maths.length,
    brokenImages: [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))
      .map(i => i.getAttribute('src').slice(0, 120)),
    views,
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id)
      .concat([...document.querySelectorAll('a[name]')].map(a => a.name)),
    searchResults: [...document.querySelectorAll('#search-results a, ul.search a')].map(a => a.href),
  };
}"""


def _save_screenshot(png: bytes, path: Path) -> int:
    if len(png) > MAX_SCREENSHOT_BYTES:  # a palette image is a third of the size
        from PIL import Image
        buf = io.BytesIO()
        Image.open(io.BytesIO(png)).convert("RGB").quantize(256).save(buf, format="PNG", optimize=True)
        png = buf.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    return len(png)


class Visit:
    """One page opened in the browser: what it requested and logged, and what it shows."""

    def __init__(self, context, base, rel, query=""):
        self.rel, self.problems = rel, []
        page = context.new_page()
        self.page = page

        def route(r):
            host = urlparse(r.request.url).hostname
            if host != "127.0.0.1":
                self.problems.append(f"blocked a request to {r.request.url[:200]}")
                r.abort()
            else:
                r.continue_()

        page.route("**/*", route)
        page.on("console", lambda m: m.type == "error" and self.problems.append(
            f"console error: {m.text[:300]}"))
        page.on("pageerror", lambda e: self.problems.append(f"uncaught exception: {str(e)[:300]}"))
        page.on("requestfailed", lambda r: urlparse(r.url).hostname == "127.0.0.1" and self.problems.append(
            f"request failed: {r.url[:200]} ({r.failure})"))
        page.on("response", lambda r: r.status >= 400 and self.problems.append(
            f"HTTP {r.status} for {r.url[:200]}"))
        page.goto(base + rel + query, wait_until="load", timeout=LOAD_TIMEOUT_MS)
        self.mathjax = page.evaluate(MATHJAX_DONE)
        try:
            page.wait_for_function(RENDERED, timeout=RENDER_TIMEOUT_MS, polling=250)
        except Exception as err:  # Playwright's TimeoutError: what is missing is reported below
            self.problems.append(f"widgets or images not drawn within {RENDER_TIMEOUT_MS / 1000:.0f} s "
                                 f"({type(err).__name__})")
        if query:  # the search page fills its results after the index has loaded
            try:
                page.wait_for_selector("ul.search li a", timeout=RENDER_TIMEOUT_MS)
            except Exception:
                self.problems.append(f"the search for {query!r} showed no results")
        self.seen = page.evaluate(INSPECT)

    def close(self):
        self.page.close()


def saved_widgets(page_html: str) -> dict:
    m = re.search(rf'<script type="{re.escape(WIDGET_STATE)}">(.*?)</script>', page_html, re.S)
    return json.loads(m.group(1))["state"] if m else {}


def reachable(state: dict, root: str) -> list[dict]:
    """The models a widget is made of: its own and every model it refers to."""
    seen, stack, out = set(), [root], []
    while stack:
        mid = stack.pop()
        if mid in seen or mid not in state:
            continue
        seen.add(mid)
        out.append(state[mid])
        stack += re.findall(r"IPY_MODEL_(\w+)", json.dumps(state[mid]["state"]))
    return out


def _png_size(b64: str) -> list[int]:
    data = base64.b64decode(b64)
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return [int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")]


def _no_space(text: str) -> str:
    return re.sub(r"\s+", "", text)


def widget_problems(view: dict, state: dict) -> list[str]:
    """What the drawn widget shows that its saved state does not."""
    label = f"widget {view['model']}"
    if view["model"] not in state:
        return [f"{label}: its state is not saved in the page"]
    if not view["rendered"]:
        return [f"{label}: not drawn from its saved state"]
    out = [f"{label}: {e}" for e in view["errors"]]
    models = reachable(state, view["model"])
    pictures = sorted(_png_size(b["data"]) for m in models if m["model_name"] == "ImageModel"
                      for b in m.get("buffers", []) if b.get("path") == ["value"] and b.get("data"))
    if sorted(view["images"]) != pictures:
        out.append(f"{label}: pictures of {sorted(view['images'])} pixels, saved {pictures}")
    shown = [float(h) for h in view["sliders"] if h is not None]
    for m in models:
        if m["model_name"] in SLIDERS:
            values = m["state"]["value"]
            for v in values if isinstance(values, list) else [values]:
                match = next((s for s in shown if abs(s - v) <= 1e-9 + 1e-6 * abs(v)), None)
                if match is None:
                    out.append(f"{label}: no slider at its saved value {v} (sliders at {shown})")
                else:
                    shown.remove(match)
        elif m["model_name"] == "HTMLModel":
            text = html_lib.unescape(re.sub(r"<[^>]+>", "", m["state"].get("value", "")))
            if _no_space(text) not in _no_space(view["text"]):
                out.append(f"{label}: does not show its saved text {text[:80]!r}")
    if not view["note"] or "saved" not in view["note"] or not view["noteFirst"]:
        out.append(f"{label}: no note above it saying it shows a saved state")
    return out


@pytest.fixture(scope="module")
def visits(request, built_site, site_url, browser):  # noqa: F811
    """Every page of the site opened once (in the order of PAGES), with screenshots of the
    landing page, the first lesson with displayed maths and the first with a widget."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    results, shots = {}, []
    maths_shot = widget_shot = None
    try:
        for rel in PAGES:
            if not (built_site.html / rel).is_file():
                continue  # test_every_page_of_the_site_is_opened reports it
            query = f"?q={SEARCH[0].replace(' ', '+')}" if rel == "search.html" else ""
            try:
                v = Visit(context, site_url, rel, query)
            except Exception as err:  # the page did not load: its test reports it
                results[rel] = type("Failed", (), {"problems": [f"could not open it: {err}"],
                                                   "seen": None})()
                continue
            page = v.page
            try:
                if rel == "index.html":
                    shots.append(("site-index.png", page.screenshot()))
                if maths_shot is None and rel.startswith("notebooks/") and page.locator(
                        "div.math mjx-container").count():
                    maths_shot = f"site-maths-{Path(rel).stem}.png"
                    shots.append((maths_shot, _clip_around(page, page.locator("div.math").first)))
                if widget_shot is None and any(view["rendered"] for view in v.seen["views"]):
                    widget_shot = f"site-widget-{Path(rel).stem}.png"
                    cell = page.locator(".cell:has(.widget-subarea .jupyter-widgets)").first
                    cell.scroll_into_view_if_needed()
                    page.mouse.move(0, 0)
                    page.wait_for_timeout(300)
                    shots.append((widget_shot, cell.screenshot(animations="disabled")))
            except Exception as err:
                v.problems.append(f"could not take its screenshot: {err}")
            v.close()
            results[rel] = v
        saved = [f"{name} ({_save_screenshot(png, SCREENSHOTS / name) // 1000} KB)" for name, png in shots]
        print(f"\nsite screenshots: {', '.join(saved)}")
        results["screenshots"] = [name for name, _ in shots]
        yield results
    finally:
        context.close()


def _clip_around(page, element) -> bytes:
    """A screenshot of the article around an element (a formula and the text about it)."""
    element.evaluate("(e) => e.scrollIntoView({block: 'center'})")
    page.mouse.move(0, 0)
    page.wait_for_timeout(300)
    box = element.bounding_box()
    article = page.locator("article.bd-article").bounding_box()
    top = max(0.0, box["y"] - 220)
    return page.screenshot(clip={"x": article["x"], "y": top, "width": article["width"],
                                 "height": min(520.0, 900 - top)}, animations="disabled")


# -- the tests -----------------------------------------------------------------------------------
def _pages(visits):
    return [(rel, v) for rel, v in visits.items() if rel != "screenshots"]


def test_screenshots_of_the_landing_page_maths_and_a_widget(visits):
    names = visits["screenshots"]
    assert "site-index.png" in names
    assert any(n.startswith("site-maths-") for n in names), "no page with displayed maths rendered"
    assert any(n.startswith("site-widget-") for n in names), "no page with a rendered widget"
    for name in names:
        assert (SCREENSHOTS / name).stat().st_size > 5_000, name


def test_every_page_of_the_site_is_opened(built_site):  # noqa: F811
    site = built_site.html
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                   if p.relative_to(site).parts[0] != "_static")
    assert pages == sorted(PAGES), "pages the test does not open, or pages missing"


@pytest.mark.parametrize("rel", PAGES)
def test_page_renders_offline(rel, visits, built_site):  # noqa: F811
    assert rel in visits, f"{rel} is not on the site"
    v = visits[rel]
    seen = v.seen
    assert seen is not None, f"{rel}: {v.problems}"
    problems = list(v.problems)
    problems += [f"broken image: {src}" for src in seen["brokenImages"]]
    problems += [f"MathJax error: {e}" for e in seen["merrors"]]
    problems += [f"formula not typeset: {t!r}" for t in seen["untypeset"]]
    problems += [f"unrendered maths in the text: ...{t}..." for t in seen["dollars"]]
    if seen["maths"] and v.mathjax != "typeset":
        problems.append(f"the page has {seen['maths']} formulas but MathJax did not run ({v.mathjax})")
    state = saved_widgets((built_site.html / rel).read_text(encoding="utf-8"))
    for view in seen["views"]:
        problems += widget_problems(view, state)
    if rel == "search.html":
        found = [urlparse(u).path.lstrip("/") for u in seen["searchResults"]]
        if SEARCH[1] not in found:
            problems.append(f"searching {SEARCH[0]!r} did not find {SEARCH[1]} (found {found[:8]})")
    print(f"\n{rel}: {seen['maths']} formulas, {len(seen['views'])} widgets, "
          f"{len(seen['links'])} links")
    assert not problems, f"{rel}:\n- " + "\n- ".join(problems)


def test_widgets_were_checked(visits):
    """The widget checks above ran on every lesson that shows a widget."""
    with_widgets = {rel for rel, v in _pages(visits) if v.seen and v.seen["views"]}
    expected = {f"notebooks/{p.stem}.html" for p in NOTEBOOKS
                if "application/vnd.jupyter.widget-view+json" in p.read_text(encoding="utf-8")}
    assert expected and with_widgets == expected


def test_every_internal_link_leads_somewhere(visits, site_url, browser):
    """Every link from one page of the site to another (or to a file: a notebook to download)
    answers, and a link to a place in a page finds it."""
    targets: dict[str, set[str]] = {}
    for rel, v in _pages(visits):
        for href in (v.seen["links"] if v.seen else []):
            if not href.startswith(site_url):
                continue
            url, fragment = urldefrag(href)
            url = url.split("?")[0]  # search.html?q=..., a page?highlight=...
            targets.setdefault(url, set())
            if fragment:
                targets[url].add(fragment)
    ids = {site_url + rel: set(v.seen["ids"]) for rel, v in _pages(visits) if v.seen}
    ids[site_url] = ids.get(site_url + "index.html", set())
    problems = []
    context = browser.new_context()
    try:
        for url, fragments in sorted(targets.items()):
            path = urlparse(url).path.lstrip("/")
            if url in ids:
                missing = sorted(f for f in fragments if f not in ids[url])
                problems += [f"{path}#{f}: no such place in the page" for f in missing]
                continue
            response = context.request.get(url)
            if not response.ok:
                problems.append(f"{path}: HTTP {response.status}")
            elif path.endswith(".html"):
                problems.append(f"{path}: a page the test did not open")
    finally:
        context.close()
    print(f"\n{len(targets)} link targets followed")
    assert len(targets) > len(PAGES), "too few links found"
    assert not problems, "\n".join(problems)
