"""One kernel process for one submission: started in its sandbox, watched, stopped.

The kernel is started by a small launcher that sets the resource limits (and, run as root,
gives up root for a user id of its own) and then becomes ``python -m ipykernel_launcher``.
Its connection file and sockets live in the submission's private folder, which the sandbox
binds at the same path, so the grader connects to the kernel's Unix sockets from outside.
The grader looks at the sandbox's processes through ``/proc``: the kernel, what it started,
how much memory they use together; stopping the sandbox's first process ends them all.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from .sandbox import bwrap_command, environment

__all__ = ["Kernel"]

_UID_BASE = 1_500_000_000  # the user ids the sandbox takes when the grader runs as root
_uids = itertools.count()

_LAUNCHER = """\
import os, resource, sys
for name, value in {limits!r}:
    resource.setrlimit(getattr(resource, name), (value, value))
uid = {uid!r}
if uid is not None:
    os.setgroups([]); os.setgid(uid); os.setuid(uid)
os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", {connection!r},
                          "--HistoryManager.enabled=False", "--IPKernelApp.quiet=True"])
"""


def _font_cache(work):
    """Copy matplotlib's font list into the kernel's home, so it is not rebuilt each time."""
    homes = [
        os.environ.get("MPLCONFIGDIR"),
        Path.home() / ".cache" / "matplotlib",
        Path.home() / ".matplotlib",
    ]
    for home in filter(None, homes):
        caches = sorted(Path(home).glob("fontlist-v*.json"))
        if caches:
            target = Path(work) / ".matplotlib"
            target.mkdir(exist_ok=True)
            shutil.copy(caches[-1], target / caches[-1].name)
            return


DISK_ENTRIES = 20_000  # files and folders a kernel's working folder may hold


class Kernel:
    """One kernel process for one submission, in its sandbox (or, if asked, without one)."""

    def __init__(self, work, *, limits, sandbox=True, hide=(), log=None):
        from jupyter_client.connect import write_connection_file

        self.work, self.limits, self.sandbox = Path(work), limits, sandbox
        self.connection_file = str(self.work / "kernel.json")
        _font_cache(self.work)
        for sub in (".ipython", ".jupyter", ".cache"):
            (self.work / sub).mkdir(exist_ok=True)
        transport = "ipc" if os.name == "posix" else "tcp"
        ip = str(self.work / "k") if transport == "ipc" else "127.0.0.1"
        write_connection_file(
            self.connection_file, ip=ip, transport=transport, key=secrets.token_hex(32).encode()
        )
        uid = None
        if sandbox and os.geteuid() == 0:
            uid = _UID_BASE + (os.getpid() * 64 + next(_uids)) % 500_000_000
        rlimits = [
            ("RLIMIT_AS", limits.memory),
            ("RLIMIT_CPU", limits.cpu),
            ("RLIMIT_FSIZE", limits.file_size),
            ("RLIMIT_CORE", 0),
        ]
        if sandbox:
            rlimits.append(("RLIMIT_NPROC", limits.processes))
        launcher = _LAUNCHER.format(limits=rlimits, uid=uid, connection=self.connection_file)
        argv = [sys.executable, "-c", launcher]
        if uid is not None:
            for path in [self.work, *self.work.rglob("*")]:
                os.chown(path, uid, uid)
        self.info_read, info_write = os.pipe()
        if sandbox:
            cmd = bwrap_command(self.work, argv, limits=limits, hide=hide, uid=uid)
            cmd[1:1] = ["--info-fd", str(info_write)]
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(info_write,),
                cwd=str(self.work),
            )
        else:
            env = dict(
                os.environ,
                **{k: v for k, v in environment(self.work).items() if k not in ("TMPDIR",)},
            )
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=str(self.work),
                env=env,
                start_new_session=True,
            )
        os.close(info_write)
        self.init_pid, self.kernel_pid = None, None
        if sandbox:
            with os.fdopen(self.info_read, "rb") as f:
                data = f.read()
            try:
                self.init_pid = int(json.loads(data or b"{}")["child-pid"])
            except (ValueError, KeyError, TypeError):
                self.init_pid = None
        else:
            os.close(self.info_read)
            self.kernel_pid = self.proc.pid

    # -- what is running -------------------------------------------------------------------

    def alive(self):
        return self.proc.poll() is None

    def pids(self):
        """Every process of this kernel's sandbox (its own, and whatever it started).

        In a PID namespace every process descends from the namespace's first process (an
        orphan is adopted by it), so walking its children finds them all."""
        top = self.init_pid if self.sandbox else self.proc.pid
        if top is None or not self.alive():
            return []
        return [top, *_descendants(top)]

    def find_kernel_pid(self):
        """The host pid of the kernel process (the sandbox's first child)."""
        if self.kernel_pid is None and self.init_pid is not None:
            kids = _children(self.init_pid)
            self.kernel_pid = kids[0] if kids else None
        return self.kernel_pid

    def others(self):
        """Live processes in the sandbox other than the kernel and the sandbox's init."""
        keep = {self.init_pid, self.find_kernel_pid(), self.proc.pid}
        return [p for p in self.pids() if p not in keep and not _zombie(p)]

    def memory(self):
        """Memory, in bytes, of all the sandbox's processes together: each one's proportional
        share of the pages it maps (pages shared after a fork are not counted twice)."""
        page, total = os.sysconf("SC_PAGE_SIZE"), 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/smaps_rollup") as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            total += int(line.split()[1]) * 1024
                            break
            except OSError:
                try:
                    with open(f"/proc/{pid}/statm") as f:
                        total += int(f.read().split()[1]) * page
                except (OSError, ValueError, IndexError):
                    continue
            except (ValueError, IndexError):
                continue
        return total

    def disk_over(self, limit, max_entries=DISK_ENTRIES):
        """Whether the working folder holds more than ``limit`` bytes (or more than
        ``max_entries`` files and folders): a bounded look, which stops as soon as it knows."""
        used, seen, stack = 0, 0, [str(self.work)]
        while stack:
            try:
                with os.scandir(stack.pop()) as entries:
                    for entry in entries:
                        seen += 1
                        if seen > max_entries:
                            return True
                        try:
                            if entry.is_dir(follow_symlinks=False):
                                stack.append(entry.path)
                            else:
                                used += entry.stat(follow_symlinks=False).st_blocks * 512
                        except OSError:
                            continue
                        if used > limit:
                            return True
            except OSError:
                continue
        return False

    # -- stopping it -----------------------------------------------------------------------

    def interrupt(self):
        pid = self.find_kernel_pid()
        if pid:
            try:
                os.kill(pid, signal.SIGINT)
            except OSError:
                pass

    def kill_others(self):
        """Stop every process the learner's code started; the number stopped."""
        stopped = set()
        for _ in range(50):
            others = self.others()
            if not others:
                break
            for pid in others:
                try:
                    os.kill(pid, signal.SIGKILL)
                    stopped.add(pid)
                except OSError:
                    pass
        return len(stopped)

    def kill(self):
        for pid in (self.init_pid, self.proc.pid):
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        if not self.sandbox:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def exit_reason(self):
        """In words, how the kernel process ended (if it did)."""
        code = self.proc.poll()
        if code is None:
            return "it is still running"
        if code < 0:
            name = signal.Signals(-code).name
            return f"killed by {name}" + (" (out of CPU time)" if name == "SIGXCPU" else "")
        if code > 128 and code - 128 in signal.Signals._value2member_map_:
            name = signal.Signals(code - 128).name
            return f"killed by {name}" + (" (out of CPU time)" if name == "SIGXCPU" else "")
        return f"exit code {code}"


def _zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True


def _children(pid):
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def _descendants(pid):
    out, todo = [], _children(pid)
    while todo:
        p = todo.pop()
        out.append(p)
        todo += _children(p)
    return out
