"""A sandbox per submission: the kernel that runs a learner's notebook, under bubblewrap.

What the kernel sees (Linux, ``bwrap``): the system's programs and libraries read-only
(``/usr`` and the few files of ``/etc`` that loading libraries needs), the Python
installation and its site-packages read-only, the course package's own folder read-only,
one private writable working folder (its sockets, its copy of the notebook, its home) and
a private ``/tmp`` of bounded size. Nothing else of the file system exists inside: not the
key folder, not the submissions, not the grade sheet or the feedback, not the course
repository, not anyone's home. It has no network (its own empty network namespace), its
own process namespace (it sees only its own processes; killing its first process ends them
all) and ``--die-with-parent``, so nothing it starts outlives the grading of that notebook.
Its environment is made up from scratch; only its standard streams (a log file the grader
reads) are inherited.

Limits (``Limits``; flags of ``bandit-lab grade``): address space, CPU seconds and file size
per process, and a number of processes counted for the sandbox alone: run as root, the
kernel gives up root for a user id of its own before the learner's code runs (the process
limit does not bind root), and otherwise the limit is set inside the sandbox's user
namespace, where it counts only the sandbox's processes. The grader also watches the
sandbox from outside and stops it when its processes together use more memory than the
limit.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Limits",
    "SandboxUnavailable",
    "sandbox_problem",
    "bwrap_command",
    "private_folder",
    "environment",
]

_ETC = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "nsswitch.conf",
    "passwd",
    "group",
    "fonts",
    "mime.types",
    "matplotlibrc",
)


@dataclass(frozen=True)
class Limits:
    """What one submission's kernel may use."""

    memory: int = 4 << 30  # bytes of address space per process, and of RSS in all
    cpu: int = 600  # CPU seconds per process
    file_size: int = 64 << 20  # bytes per file written
    processes: int = 128  # processes and threads in the sandbox
    tmp_size: int = 256 << 20  # bytes of the private /tmp
    output: int = 5 << 20  # bytes of output one cell may print before it is stopped
    disk: int = 1 << 30  # bytes the kernel's working folder may hold (files written in all)

    def check(self):
        for name in ("memory", "cpu", "file_size", "processes", "tmp_size", "output", "disk"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} == {value!r}, must be a whole number >= 1.")
        if self.memory < 512 << 20:
            raise ValueError(
                f"memory == {self.memory}, must be at least 512 MiB (a Python "
                "kernel with NumPy needs about 300 MiB)."
            )
        if self.processes < 16:
            raise ValueError(
                f"processes == {self.processes}, must be at least 16 (the "
                "kernel itself runs about ten threads)."
            )
        return self


def size_text(n):
    """``4G``, ``512M``, ``64k`` or a number of bytes: how a size is written on the command line."""
    for unit, scale in (("G", 2**30), ("M", 2**20), ("k", 2**10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale}{unit}"
    return str(n)


class SandboxUnavailable(RuntimeError):
    """No sandbox can be made here; the message says why and what to do."""


def sandbox_problem():
    """None if a bubblewrap sandbox works here, else a sentence saying why not and the fix."""
    if not sys.platform.startswith("linux"):
        return (
            f"no sandbox on {sys.platform}: `bandit-lab grade` sandboxes each kernel with "
            "bubblewrap, which needs Linux. Grade on a Linux machine (a virtual machine "
            "will do), or pass --no-sandbox to grade without one (the learners' code then "
            "runs with your permissions)."
        )
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return (
            "bubblewrap (`bwrap`) is not installed: `sudo apt-get install bubblewrap` "
            "(Debian, Ubuntu), `sudo dnf install bubblewrap` (Fedora), or pass "
            "--no-sandbox to grade without a sandbox."
        )
    probe = [
        bwrap,
        "--unshare-all",
        "--die-with-parent",
        "--ro-bind",
        "/",
        "/",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "true",
    ]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not be started ({exc}); pass --no-sandbox to grade without it."
    if done.returncode != 0:
        why = (
            done.stderr.strip().splitlines()[-1]
            if done.stderr.strip()
            else f"exit {done.returncode}"
        )
        return (
            f"bubblewrap cannot make a sandbox here ({why}). Unprivileged user namespaces "
            "are probably switched off: `sudo sysctl kernel.unprivileged_userns_clone=1` "
            "(Debian), or on Ubuntu 24.04 and later `sudo sysctl "
            "kernel.apparmor_restrict_unprivileged_userns=0`; inside a container, run it "
            "with user namespaces allowed. Or pass --no-sandbox to grade without a sandbox."
        )
    return None


def _editable_dirs(site_dirs):
    """Folders of packages installed in editable mode (setuptools' finder mappings)."""
    found = []
    for site in site_dirs:
        for finder in Path(site).glob("__editable__*finder.py"):
            text = finder.read_text(encoding="utf-8", errors="replace")
            m = re.search(r"^MAPPING[^=]*=\s*(\{.*?\})\s*$", text, re.M | re.S)
            if m:
                try:
                    found += [Path(p) for p in json.loads(m.group(1).replace("'", '"')).values()]
                except ValueError:
                    pass
        for pth in Path(site).glob("*.pth"):
            for line in pth.read_text(encoding="utf-8", errors="replace").splitlines():
                line = line.strip()
                if line and not line.startswith(("#", "import ")) and Path(line).is_dir():
                    found.append(Path(line))
    return found


def python_paths():
    """The folders the kernel's Python needs to read: installation, site-packages, and
    the folders of packages installed in editable mode."""
    import site

    paths = {Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    sites = [Path(p) for p in site.getsitepackages() if Path(p).is_dir()]
    paths.update(sites)
    paths.update(_editable_dirs(sites))
    paths.add(Path(__file__).resolve().parent.parent)  # the bandit_lab package itself
    real = Path(os.path.realpath(sys.executable)).parent.parent
    paths.add(real)
    return sorted({p.resolve() for p in paths if p.exists()})


def _inside(path, folder):
    try:
        Path(path).relative_to(folder)
        return True
    except ValueError:
        return False


def bwrap_command(work, argv, *, limits, hide=(), uid=None):
    """The bubblewrap command line that runs ``argv`` in a sandbox around ``work``."""
    # as root the sandbox keeps the host's user namespace (its kernel then gives up root
    # for ``uid``); otherwise bubblewrap makes a user namespace, in which the process limit
    # counts the sandbox's processes alone
    cmd = [
        shutil.which("bwrap") or "bwrap",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--clearenv",
    ]
    if uid is None:
        cmd.insert(1, "--unshare-user")
    binds = [Path("/usr")] + python_paths()
    binds = [b for b in binds if not any(_inside(b, o) and b != o for o in binds)]
    made = set()

    def parents(path):
        for parent in reversed(Path(path).parents):
            if str(parent) != "/" and parent not in made:
                made.add(parent)
                cmd.extend(["--perms", "0755", "--dir", str(parent)])

    for link in ("bin", "lib", "lib64", "lib32", "sbin"):
        target = Path("/") / link
        if target.is_symlink():
            cmd.extend(["--symlink", os.readlink(target), str(target)])
        elif target.is_dir():
            binds.append(target)
    for name in _ETC:
        if (Path("/etc") / name).exists():
            cmd.extend(["--ro-bind", f"/etc/{name}", f"/etc/{name}"])
    # the private /tmp first: what is bound below may lie inside /tmp (a course cloned or a
    # virtual environment made there) and must show through it, not be hidden by it
    cmd.extend(["--perms", "1777", "--size", str(limits.tmp_size), "--tmpfs", "/tmp"])
    made.add(Path("/tmp"))
    for b in binds:
        parents(b)
        cmd.extend(["--ro-bind", str(b), str(b)])
    parents(work)
    cmd.extend(["--bind", str(work), str(work), "--chdir", str(work)])
    for secret in hide:  # anything private that happens to lie inside a bound folder
        secret = Path(secret).resolve()
        if any(_inside(secret, b) for b in binds) and secret.exists():
            cmd.extend(
                ["--tmpfs", str(secret)]
                if secret.is_dir()
                else ["--ro-bind", "/dev/null", str(secret)]
            )
    for key, value in environment(work).items():
        cmd.extend(["--setenv", key, value])
    if uid is not None:
        cmd.extend(["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"])
    return cmd + ["--"] + argv


def environment(work):
    bin_dir = str(Path(sys.executable).parent)
    return {
        "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(work),
        "USER": "learner",
        "LOGNAME": "learner",
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(Path(work) / ".matplotlib"),
        "IPYTHONDIR": str(Path(work) / ".ipython"),
        "JUPYTER_CONFIG_DIR": str(Path(work) / ".jupyter"),
        "JUPYTER_DATA_DIR": str(Path(work) / ".jupyter"),
        "JUPYTER_RUNTIME_DIR": str(Path(work) / ".jupyter"),
        "XDG_CACHE_HOME": str(Path(work) / ".cache"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "NUMEXPR_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
    }


def private_folder():
    """A new private working folder for one kernel (the caller removes it)."""
    return Path(tempfile.mkdtemp(prefix="bandit-lab-"))
