"""Running the service and a private Redis in the background (notebooks, tests, benchmarks).

:func:`start_service` runs ``bandit-lab serve`` in a subprocess and returns once it answers;
:func:`start_redis` runs a private ``redis-server`` on a loopback port.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["start_service", "start_redis", "ServiceProcess", "RedisProcess", "free_port"]


# ----------------------------------------------------------------------------------------
# Running things in the background (notebook, tests, benchmark)
# ----------------------------------------------------------------------------------------
def free_port(host="127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host``."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class _Background:
    """A child process with its output in a log file; stops on exit of a ``with`` block."""

    def __init__(self, proc, log_path):
        self.proc = proc
        self.log_path = Path(log_path)

    @property
    def pid(self):
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout=10.0) -> int:
        """Ask the process to finish (SIGTERM), wait, and return its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> int:
        """End the process at once (SIGKILL), as a crash or an OOM killer would."""
        if self.proc.poll() is None:
            self.proc.kill()
        return self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class ServiceProcess(_Background):
    """A ``bandit-lab serve`` running in a subprocess; ``url`` is its address."""

    def __init__(self, proc, log_path, url):
        super().__init__(proc, log_path)
        self.url = url

    def wait_ready(self, timeout=60.0):
        """Wait until the service prints its address and ``/health`` answers; return self."""
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bandit-lab serve exited with code {self.proc.returncode}:\n"
                                   + self.log())
            if self.url is None:
                m = _LISTENING.search(self.log())
                if m:
                    self.url = m.group(1)
            if self.url is not None:
                try:
                    if httpx.get(self.url + "/health", timeout=2.0).status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"bandit-lab serve did not answer within {timeout} s:\n" + self.log())

    def __repr__(self):
        return f"ServiceProcess(pid={self.pid}, url={self.url!r})"


_LISTENING = re.compile(r"listening on (http://\S+)")


def start_service(*args, store=None, cwd=None, timeout=60.0, env=None, wait=True) -> ServiceProcess:
    """Run ``bandit-lab serve ARGS`` in a subprocess on 127.0.0.1 and a free port.

    Returns when ``/health`` answers (with ``wait=False`` at once: call ``.wait_ready()``,
    which lets several instances start side by side). ``store`` is a store URL
    (``--store``); other options are passed as strings, e.g.
    ``start_service("--seed", "1", store="sqlite:///s.db")``. Use it as a context manager,
    or call ``.stop()`` (SIGTERM) or ``.kill()`` (SIGKILL).
    """
    argv = [sys.executable, "-m", "bandit_lab.service.cli", "--host", "127.0.0.1",
            "--port", "0", *[str(a) for a in args]]
    if store is not None:
        argv += ["--store", str(store)]
    log_dir = Path(tempfile.mkdtemp(prefix="bandit-lab-serve-"))
    log_path = log_dir / "service.log"
    child_env = dict(os.environ if env is None else env)
    child_env.setdefault("PYTHONUNBUFFERED", "1")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                                env=child_env, stdin=subprocess.DEVNULL)
    service = ServiceProcess(proc, log_path, None)
    if wait:
        service.wait_ready(timeout)
    return service


class RedisProcess(_Background):
    """A private ``redis-server``; ``url`` is ``redis://127.0.0.1:PORT/0``."""

    def __init__(self, proc, log_path, url, directory, appendfsync="always"):
        super().__init__(proc, log_path)
        self.url = url
        self.directory = Path(directory)
        self.appendfsync = appendfsync

    def restart(self, timeout=10.0) -> RedisProcess:
        """Start the server again on the same port and directory (after :meth:`kill` or
        :meth:`stop`): it reloads its append-only file."""
        self.kill()
        port = int(self.url.rsplit(":", 1)[1].split("/")[0])
        again = start_redis(self.directory, port=port, timeout=timeout,
                            appendfsync=self.appendfsync)
        self.proc, self.log_path = again.proc, again.log_path
        return self

    def __repr__(self):
        return f"RedisProcess(pid={self.pid}, url={self.url!r})"


def start_redis(directory=None, *, executable=None, timeout=10.0, appendfsync="always",
                port=None):
    """Start ``redis-server`` on 127.0.0.1 and a free port, with its files in ``directory``.

    Persistence is the append-only file with ``appendfsync`` (``"always"``: every write
    reaches the disk before Redis answers; ``"everysec"``: at most a second can be lost if
    Redis itself dies). Returns a :class:`RedisProcess`; raises FileNotFoundError when no
    ``redis-server`` is installed.
    """
    import redis

    exe = executable or shutil.which("redis-server")
    if exe is None:
        raise FileNotFoundError("redis-server was not found on PATH; install it (Debian/Ubuntu: "
                                "apt-get install redis-server).")
    directory = Path(directory or tempfile.mkdtemp(prefix="bandit-lab-redis-"))
    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory / "redis.log"
    fixed = port
    for _attempt in range(5 if fixed is None else 50):
        port = fixed or free_port()
        proc = subprocess.Popen(
            [exe, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(directory),
             "--save", "", "--appendonly", "yes", "--appendfsync", appendfsync,
             "--daemonize", "no", "--protected-mode", "yes", "--logfile", str(log_path),
             "--maxmemory-policy", "noeviction"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if client.ping():
                    client.close()
                    return RedisProcess(proc, log_path, url, directory, appendfsync)
            except redis.exceptions.ConnectionError:
                time.sleep(0.02)
        client.close()
        if proc.poll() is None:
            proc.kill()
        proc.wait()  # port taken between free_port() and the bind: try another one
        if fixed is not None:
            time.sleep(0.1)  # the old server's port is not free yet: wait
    raise RuntimeError(f"redis-server did not start:\n"
                       + (log_path.read_text(errors="replace") if log_path.exists() else ""))


