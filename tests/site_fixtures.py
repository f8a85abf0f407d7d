"""The course website, built once per test run (import ``built_site`` into a test module).

The build is the one ``python3 tasks.py site`` runs (docs/site/build.py: npm ci when
node_modules/ lacks the locked packages, then Sphinx with warnings as errors), into
build/site-test/. Test workers share it: the first to get the lock builds, the others find
the build stamped with this run's id (pytest-xdist gives every worker of a run the same
``PYTEST_XDIST_TESTRUNUID``) and reuse it, or its failure.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "docs" / "site" / "build.py"
BASE = ROOT / "build" / "site-test"
BUILD_TIMEOUT = 900  # seconds: npm ci on a new machine, then Sphinx on two busy cores


@dataclass
class BuiltSite:
    html: Path      # the site's folder (what a web server serves)
    log: str        # Sphinx's output
    seconds: float  # how long the build took (npm ci included when it ran)


def _skip(reason: str):
    warnings.warn(f"skipped: {reason}", UserWarning, stacklevel=2)
    pytest.skip(reason)


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        try:
            import fcntl
        except ImportError:  # not POSIX: workers may build side by side, each its own copy
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex


@pytest.fixture(scope="session")
def built_site() -> BuiltSite:
    if sys.version_info < (3, 11):
        _skip("the website's tools (MyST-Parser for Sphinx 8 with the pinned markdown-it-py) "
              "need Python 3.11 or newer")
    try:
        import myst_nb  # noqa: F401
        import sphinx_book_theme  # noqa: F401
    except ImportError as err:
        _skip(f"the website needs the 'site' extra (pip install -e '.[site]'): {err}")
    locked = (ROOT / "node_modules" / ".bandit-lab-lock").exists()
    if not locked and shutil.which("npm") is None:
        _skip("the website needs npm to install MathJax and the widget manager (Debian: "
              "apt-get install npm; `python3 tasks.py test` installs it when run as root)")
    stamp = BASE / "stamp.json"
    with _locked(BASE / "lock"):
        done = json.loads(stamp.read_text()) if stamp.exists() else {}
        if done.get("run") != _RUN_ID:
            html = BASE / "html"
            proc = subprocess.run([sys.executable, str(BUILD), "--out", str(html),
                                   "--work", str(BASE / "work")],
                                  cwd=ROOT, capture_output=True, text=True,
                                  timeout=BUILD_TIMEOUT)
            done = {"run": _RUN_ID, "ok": proc.returncode == 0, "log": proc.stdout + proc.stderr,
                    "html": str(html)}
            seconds = next((float(line.split()[3]) for line in proc.stdout.splitlines()
                            if line.startswith("[site] built in ")), 0.0)
            done["seconds"] = seconds
            stamp.write_text(json.dumps(done))
    if not done["ok"]:
        pytest.fail("the website did not build (docs/site/build.py, warnings are errors):\n"
                    + "\n".join(done["log"].splitlines()[-60:]), pytrace=False)
    return BuiltSite(Path(done["html"]), done["log"], done["seconds"])
