"""Fixtures for the browser tests: one JupyterLab server and one headless Chromium per session.

The server runs on a free loopback port, without a token, in a temporary copy of the
notebooks (plus any folder beside them that a notebook reads as ``../name``), with
settings that keep every cell in the page (no virtual scrolling) and no news or update
checks. Chromium is Debian's (``/usr/bin/chromium``), driven by Playwright; when either is
missing every browser test is skipped with the reason.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CHROMIUM = os.environ.get("BANDIT_LAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SERVER_START_TIMEOUT = 90  # seconds; the machine's cores are shared

# User settings for the test server (JupyterLab settings ids -> values).
LAB_SETTINGS = {
    # Render every cell: with virtual scrolling, cells out of view are not in the page.
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    # No "would you like news?" toast over the notebook, no network calls for it.
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                     "checkForUpdates": False},
}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def folders_read_by(nb_dir: Path) -> set[str]:
    """Names of the folders beside ``notebooks/`` that a notebook's code reads (``../name``)."""
    names = set()
    for nb in nb_dir.glob("*.ipynb"):
        cells = json.loads(nb.read_text())["cells"]
        for cell in cells:
            if cell["cell_type"] == "code":
                names |= set(re.findall(r"\.\./([\w.-]+)", "".join(cell["source"])))
    return {n for n in names if (ROOT / n).exists() and n not in (".", "..")}


def _write_settings(settings_dir: Path) -> None:
    for plugin, values in LAB_SETTINGS.items():
        package, _, name = plugin.rpartition("/")
        path = settings_dir / package / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


class LabServer:
    """A running JupyterLab: ``url``, ``root`` (its copy of the course), ``notebooks``."""

    def __init__(self, base: Path):
        self.base = base
        self.root = base / "course"
        self.notebooks = self.root / "notebooks"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = base / "jupyterlab.log"
        self.proc = None

    def start(self) -> None:
        shutil.copytree(NOTEBOOKS, self.notebooks)
        for name in folders_read_by(NOTEBOOKS):
            src = ROOT / name
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, self.root / name)
        settings = self.base / "settings"
        _write_settings(settings)
        env = {k: v for k, v in os.environ.items()
               # the kernel must use matplotlib's inline backend, as a learner's does
               if k not in ("MPLBACKEND", "JUPYTER_TOKEN", "JUPYTER_PORT")}
        # One BLAS thread per kernel: kernels run side by side on few cores, and spinning
        # BLAS threads would only fight over them.
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = "1"
        for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                         ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")):
            env[var] = str(self.base / sub)  # no user configuration leaks in
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
               "--ServerApp.port_retries=0", "--IdentityProvider.token=",
               "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
               f"--ServerApp.root_dir={self.notebooks}",
               "--ServerApp.terminals_enabled=False",
               f"--LabApp.user_settings_dir={settings}",
               f"--LabApp.workspaces_dir={self.base / 'workspaces'}",
               "--LabApp.extension_manager=readonly",
               "--LabApp.news_url=None"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.notebooks, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.proc.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer on {self.url} within "
                           f"{SERVER_START_TIMEOUT} s:\n{self.log_tail()}")

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def api(self, method: str, path: str, timeout: float = 10):
        req = urllib.request.Request(f"{self.url}{path}", method=method)
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
        return json.loads(body) if body else None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # JupyterLab shuts its kernels down on SIGTERM
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if getattr(self, "_log", None):
            self._log.close()


def _skip(reason: str):
    # A warning too: pytest lists warnings by default, skip reasons only with -rs.
    warnings.warn(f"skipped: {reason}", UserWarning, stacklevel=2)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright_api():
    """The ``playwright.sync_api`` module, or a visible skip."""
    try:
        import playwright.sync_api as api
    except ImportError as err:
        _skip(f"browser tests need Playwright (pip install -e '.[e2e]'): {err}")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _skip(f"browser tests need Chromium at {CHROMIUM} (Debian: apt-get install "
              "chromium; `python3 tasks.py test` installs it when run as root)")
    return api


@pytest.fixture(scope="session")
def lab_server(playwright_api, tmp_path_factory):
    server = LabServer(tmp_path_factory.mktemp("jupyterlab"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser(playwright_api):
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                     headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def browser_context(browser):
    """One context for the session, so JupyterLab's scripts are fetched once and cached."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, device_scale_factor=1)
    try:
        yield context
    finally:
        context.close()
