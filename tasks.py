#!/usr/bin/env python3
"""Bandit Lab's task runner: needs nothing but Python 3.10+ (standard library only).

    python3 tasks.py lab        set up .venv if needed, then open JupyterLab on notebook 01
    python3 tasks.py test       set up .venv if needed, then run every test (pytest + nbval)

Also:
    python3 tasks.py setup      only create/refresh the virtual environment
    python3 tasks.py execute    re-execute every course notebook in place (after a change)
    python3 tasks.py bench      run the benchmarks in benchmarks/
    python3 tasks.py site       build the course website into _site/ (open _site/index.html)
    python3 tasks.py lock       re-resolve constraints.txt (then run `execute`, review, commit)

Arguments after `test` go to pytest, e.g. `python3 tasks.py test tests/test_policies.py -x`.
`python3 tasks.py test --fast` is the everyday lane: the package's tests and doctests and the
lint, without the notebooks, the browser and the slow tests (about two minutes).
The environment is reused while pyproject.toml and constraints.txt are unchanged.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".bandit-lab-installed"
CONSTRAINTS = ROOT / "constraints.txt"
EXTRAS = "dev,grading,service,e2e,cluster,site"
# Debian packages the tests need (installed with apt-get when missing and we are root):
# {command that must exist: package that provides it}.
APT_NEEDS: dict[str, str] = {"redis-server": "redis-server", "chromium": "chromium",
                             "npm": "npm", "bwrap": "bubblewrap"}


def say(msg: str) -> None:
    print(f"[tasks] {msg}", flush=True)


def run(cmd, **kw) -> None:
    say(" ".join(str(c) for c in cmd))
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def fingerprint() -> str:
    h = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        h.update((ROOT / name).read_bytes())
    h.update(EXTRAS.encode())
    h.update(sys.version.split()[0].encode())
    return h.hexdigest()


def make_venv() -> None:
    try:
        run([sys.executable, "-m", "venv", VENV])
    except subprocess.CalledProcessError:
        # Debian and Ubuntu ship venv's pip bootstrap separately (python3-venv).
        if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
            shutil.rmtree(VENV, ignore_errors=True)
            ver = f"{sys.version_info.major}.{sys.version_info.minor}"
            run(["apt-get", "update", "-q"])
            subprocess.run(["apt-get", "install", "-y", "-q", f"python{ver}-venv"], check=False)
            run(["apt-get", "install", "-y", "-q", "python3-venv"])
            run([sys.executable, "-m", "venv", VENV])
        else:
            sys.exit("[tasks] could not create a virtual environment: install your system's "
                     "python3-venv package (e.g. `sudo apt-get install python3-venv`) and retry.")


def setup() -> None:
    if sys.version_info < (3, 10):  # noqa: UP036 - tasks.py runs on any python3 to say so
        sys.exit(f"[tasks] Python {sys.version.split()[0]} is too old: Bandit Lab needs 3.10 or newer.")
    want = fingerprint()
    if PY.exists() and STAMP.exists() and STAMP.read_text() == want:
        say(f"environment up to date ({VENV.name})")
        return
    if not PY.exists():
        make_venv()
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    run([PY, "-m", "pip", "install", "-q", "-c", CONSTRAINTS, "-e", f".[{EXTRAS}]"], cwd=ROOT, env=env)
    STAMP.write_text(want)
    say("environment ready")


def ensure_apt() -> None:
    """Install the Debian packages the tests need, when missing and apt-get can run."""
    missing = sorted({pkg for cmd, pkg in APT_NEEDS.items() if not shutil.which(cmd)})
    if not missing:
        return
    if not (shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0):
        say(f"cannot install {' '.join(missing)} (needs apt-get as root); the tests that need "
            "them will be skipped with a reason")
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    say(f"installing {' '.join(missing)} with apt-get")
    ok = subprocess.run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL).returncode == 0
    ok = ok and subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
                               env=env, stdout=subprocess.DEVNULL).returncode == 0
    if not ok:
        say(f"apt-get could not install {' '.join(missing)}; the tests that need them will be "
            "skipped with a reason")


def lab(args) -> None:
    setup()
    target = args[0] if args else "notebooks/01_explore_exploit.ipynb"
    extra = list(args[1:])
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
        say("running as root (a container?): passing --allow-root to JupyterLab")
        extra.append("--allow-root")
    os.chdir(ROOT)
    os.execv(str(BIN / "jupyter"), [str(BIN / "jupyter"), "lab", target, *extra])


def test(args) -> int:
    setup()
    ensure_apt()
    # No MPLBACKEND here: the notebooks' kernels would inherit it and lose their inline
    # figures (tests/conftest.py picks Agg for the test process itself).
    env = dict(os.environ, PYTHONHASHSEED="0")
    env.pop("MPLBACKEND", None)
    # One worker per core; a notebook's cells share one kernel, so a file stays on one worker.
    if "--fast" in args:  # the everyday lane: no notebooks, no browser, nothing slow
        args = [a for a in args if a != "--fast"]
        args = ["-m", "not slow and not notebooks and not browser", "tests", "bandit_lab", *args]
    parallel = [] if any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in args) else [
        "-n", str(min(4, os.cpu_count() or 1)), "--dist", "loadfile"]
    return subprocess.run([str(PY), "-m", "pytest", *parallel, *args], cwd=ROOT, env=env).returncode


def execute(args) -> None:
    """Re-execute notebooks in place, so their stored outputs match the code."""
    setup()
    nbs = args or sorted(str(p.relative_to(ROOT)) for p in (ROOT / "notebooks").glob("*.ipynb"))
    for nb in nbs:
        run([BIN / "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace",
             "--ExecutePreprocessor.timeout=600", nb], cwd=ROOT)


def bench(args) -> int:
    setup()
    code = 0
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        code |= subprocess.run([str(PY), str(script), *args], cwd=ROOT).returncode
    return code


def site(args) -> None:
    """Build the course website into _site/ from the notebooks' stored outputs (nothing is
    executed; MathJax and the widget manager come from npm, pinned in package-lock.json)."""
    setup()
    run([PY, ROOT / "docs" / "site" / "build.py", *args], cwd=ROOT)


def lock(args) -> None:
    """Resolve the newest compatible versions on the oldest supported Python (3.10)."""
    base = shutil.which("python3.10") or sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="bandit-lab-lock-"))
    run([base, "-m", "venv", tmp])
    tpy = tmp / ("Scripts" if os.name == "nt" else "bin") / "python"
    run([tpy, "-m", "pip", "install", "-q", "--upgrade", "pip"])
    run([tpy, "-m", "pip", "install", "-q", f".[{EXTRAS}]", *args], cwd=ROOT)
    frozen = subprocess.run([str(tpy), "-m", "pip", "freeze", "--exclude-editable"],
                            check=True, capture_output=True, text=True).stdout.splitlines()
    header = [line for line in CONSTRAINTS.read_text().splitlines() if line.startswith("#")]
    body = [line for line in frozen if not line.startswith(("bandit-lab", "-e "))]
    CONSTRAINTS.write_text("\n".join(header + body) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)
    say("constraints.txt rewritten: now run `python3 tasks.py execute` and review the diff")


def main(argv) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    cmd, args = argv[0], argv[1:]
    try:
        if cmd == "lab":
            lab(args)
        elif cmd == "test":
            return test(args)
        elif cmd == "setup":
            setup()
        elif cmd == "execute":
            execute(args)
        elif cmd == "bench":
            return bench(args)
        elif cmd == "site":
            site(args)
        elif cmd == "lock":
            lock(args)
        else:
            print(f"unknown command {cmd!r}\n{__doc__}", file=sys.stderr)
            return 2
    except subprocess.CalledProcessError as err:
        say(f"failed: {err}")
        return err.returncode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
