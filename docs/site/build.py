#!/usr/bin/env python3
"""Build the course website from the notebooks' stored outputs (nothing is executed).

    python3 tasks.py site                 # the usual way: sets up .venv, then runs this
    .venv/bin/python docs/site/build.py [--out DIR] [--work DIR]

1. ``npm ci`` installs the scripts the site serves (MathJax, the widget manager, RequireJS),
   exactly as package-lock.json pins them, when node_modules/ does not hold that lock yet.
2. The sources are gathered into a staging folder (``--work``, default build/site/src):
   this folder's landing page, every notebook in notebooks/, every exercise in exercises/
   as handed out, and docs/instructors.md. Only these: no solutions, no exercise masters.
3. Sphinx builds the site from scratch into ``--out`` (default _site/) with warnings as
   errors.

Open _site/index.html in a browser, or serve the folder with any static web server.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NODE_MODULES = ROOT / "node_modules"
LOCK = ROOT / "package-lock.json"
INSTALLED = NODE_MODULES / ".bandit-lab-lock"   # a copy of the lock file npm ci installed

# What the site is built from: (glob under ROOT, folder in the staging area). Globs, so a
# new notebook or exercise is on the site as soon as it is in its folder.
SOURCES = [
    ("notebooks/*.ipynb", "notebooks"),
    ("exercises/*.ipynb", "exercises"),
    ("docs/instructors.md", "docs"),
]


def say(msg: str) -> None:
    print(f"[site] {msg}", flush=True)


def npm_ci() -> None:
    """Install the npm packages exactly as locked, unless node_modules/ already has them."""
    if INSTALLED.exists() and INSTALLED.read_bytes() == LOCK.read_bytes():
        return
    npm = shutil.which("npm")
    if not npm:
        sys.exit("[site] the website needs npm (Node.js) to install MathJax and the widget "
                 "manager it serves: install Node.js (Debian: apt-get install npm) and retry.")
    cmd = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"]
    say("npm ci --ignore-scripts (the versions in package-lock.json)")
    subprocess.run(cmd, cwd=ROOT, check=True)
    INSTALLED.write_bytes(LOCK.read_bytes())


def stage(src: Path) -> list[Path]:
    """Copy the site's sources into ``src`` (emptied first); return what was copied."""
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    shutil.copy2(HERE / "index.md", src / "index.md")
    copied = [src / "index.md"]
    for pattern, folder in SOURCES:
        for path in sorted(ROOT.glob(pattern)):
            if ".ipynb_checkpoints" in path.parts:
                continue
            (src / folder).mkdir(exist_ok=True)
            copied.append(Path(shutil.copy2(path, src / folder / path.name)))
    return copied


def build(out: Path, work: Path, quiet: bool = False) -> float:
    """Build the site into ``out``; return the seconds Sphinx took. Raises on any warning."""
    npm_ci()
    # Sphinx writes into work/html (myst-nb keeps the notebooks' images beside it, in
    # work/jupyter_execute), then the finished site moves to ``out``.
    src, doctrees, html = work / "src", work / "doctrees", work / "html"
    stage(src)
    for folder in (doctrees, html, work / "jupyter_execute"):
        if folder.exists():
            shutil.rmtree(folder)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-j", "1",
           "-c", str(HERE), "-d", str(doctrees), str(src), str(html)]
    if quiet:
        cmd.insert(3, "-q")
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True)
    seconds = time.perf_counter() - t0
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(html, out)
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_site", help="the site (default _site/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "site",
                        help="staged sources and Sphinx's cache (default build/site/)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    args = parser.parse_args(argv)
    if sys.version_info < (3, 11):
        sys.exit("[site] the website's tools (MyST-Parser for Sphinx 8 with the pinned "
                 "markdown-it-py 4) need Python 3.11 or newer: run tasks.py with python3.11.")
    try:
        import myst_nb  # noqa: F401
        import sphinx_book_theme  # noqa: F401
    except ImportError as err:
        sys.exit(f"[site] {err}: install the 'site' extra (python3 tasks.py site does).")
    try:
        seconds = build(args.out.resolve(), args.work.resolve(), quiet=args.quiet)
    except subprocess.CalledProcessError as err:
        say(f"failed ({err.cmd[0]} exited with {err.returncode})")
        return err.returncode or 1
    say(f"built in {seconds:.1f} s: open {args.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
