"""``bandit-lab serve``: run the decision service, and helpers to run it in the background.

Taught in notebooks/10_serving_a_bandit.ipynb.

    bandit-lab serve                                  Beta bandit over the five offers,
                                                      SQLite file ./bandit-lab-state.sqlite3,
                                                      http://127.0.0.1:8000
    bandit-lab serve --store redis://127.0.0.1:6379/0 --port 8001
    bandit-lab serve --arms a,b,c --alpha0 2 --beta0 40 --bandit banners
    bandit-lab serve --contextual --n-features 3 --bandit personal
    bandit-lab serve --config bandit-lab.toml         several bandits (bandit_lab.service.config)
    bandit-lab serve --host 0.0.0.0 --api-keys keys.txt   keys are required off loopback

A bandit already in the store is served with its stored spec; spec options that disagree
with it are refused (changing a prior under existing data would corrupt it). ``--port 0``
picks a free port; the first line printed names the address.

From Python, :func:`start_service` runs the same command in a subprocess and returns once it
answers; :func:`start_redis` runs a private ``redis-server`` on a loopback port.
"""
from __future__ import annotations

import argparse
import ipaddress
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

__all__ = ["main", "build_parser", "start_service", "start_redis", "ServiceProcess",
           "RedisProcess", "free_port"]


def build_parser() -> argparse.ArgumentParser:
    from ..environments import OFFER_NAMES

    p = argparse.ArgumentParser(
        prog="bandit-lab serve",
        description="Serve Thompson-sampling bandits over HTTP (FastAPI + uvicorn).")
    p.add_argument("--config", default=None,
                   help="a TOML file with [service] options and [bandits.NAME] tables "
                        "(see bandit_lab.service.config); options given here override it")
    p.add_argument("--store", default=None,
                   help="sqlite:///path or redis://host:port/db "
                        "(default: $BANDIT_LAB_STORE or sqlite:///bandit-lab-state.sqlite3)")
    p.add_argument("--bandit", default=None,
                   help="the default bandit's name (default: the config's, or 'offers')")
    p.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 8000; 0: a free one)")
    p.add_argument("--arms", default=None,
                   help=f"comma-separated arm names (default: {','.join(OFFER_NAMES)})")
    p.add_argument("--alpha0", type=float, default=None, help="Beta prior alpha (default 1)")
    p.add_argument("--beta0", type=float, default=None, help="Beta prior beta (default 1)")
    p.add_argument("--fractional", action="store_true",
                   help="accept rewards anywhere in [0, 1] (default: only 0 and 1)")
    p.add_argument("--contextual", action="store_true", help="serve a linear TS bandit")
    p.add_argument("--n-features", type=int, default=None, help="context length (contextual)")
    p.add_argument("--prior-var", type=float, default=None, help="weight prior variance")
    p.add_argument("--noise-var", type=float, default=None, help="reward noise variance")
    p.add_argument("--bucket-seconds", type=float, default=None,
                   help="width of the monitoring time buckets (default 60)")
    p.add_argument("--ttl", type=float, default=None,
                   help="seconds a decision waits for its reward (default 86400)")
    p.add_argument("--retention", type=float, default=None,
                   help="seconds a decision stays in the log (default 604800, at least --ttl)")
    p.add_argument("--timeline-retention", type=float, default=None,
                   help="seconds a timeline bucket is kept (default 2678400)")
    p.add_argument("--propensity", choices=["exact", "monte-carlo", "off"], default=None,
                   help="how each decision's logged probability is computed (default exact)")
    p.add_argument("--api-keys", default=None, metavar="FILE",
                   help="API keys, one per line ('KEY' or 'KEY admin'); also read from "
                        "$BANDIT_LAB_API_KEYS. Required when --host is not a loopback address")
    p.add_argument("--new-key", action="store_true", help="print a fresh API key and exit")
    p.add_argument("--max-body", type=int, default=None,
                   help="largest request body in bytes (default 1048576; 413 above)")
    p.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=None,
                   help="one JSON line per request on stderr (default: on)")
    p.add_argument("--seed", type=int, default=None, help="seed of the posterior draws")
    p.add_argument("--store-calls", choices=["auto", "inline", "async", "threads"],
                   default=None,
                   help="how store calls are made: on the event loop, as coroutines, or in "
                        "the thread pool (default: inline for SQLite, async for Redis)")
    p.add_argument("--log-level", default=None,
                   choices=["critical", "error", "warning", "info", "debug"])
    return p


def _spec_given(args) -> bool:
    return args.contextual or args.fractional or any(
        v is not None for v in (args.arms, args.alpha0, args.beta0, args.bucket_seconds,
                                args.n_features, args.prior_var, args.noise_var))


def _spec_from_args(args, stored):
    """The spec the options ask for; None if they ask for nothing (use the stored one)."""
    from ..environments import OFFER_NAMES
    from .models import BetaSpec, LinearSpec

    linear_opts = (args.n_features, args.prior_var, args.noise_var)
    if stored is not None and not _spec_given(args):
        return None
    arms = tuple(a.strip() for a in args.arms.split(",")) if args.arms else \
        (stored.arms if stored is not None else OFFER_NAMES)
    bucket = args.bucket_seconds if args.bucket_seconds is not None else \
        (stored.bucket_seconds if stored is not None else 60.0)

    def pick(value, attr, default):
        if value is not None:
            return value
        return getattr(stored, attr, default) if stored is not None else default

    if args.contextual or isinstance(stored, LinearSpec) and any(v is not None for v in linear_opts):
        if args.alpha0 is not None or args.beta0 is not None:
            raise ValueError("--alpha0/--beta0 set a Beta prior, which a --contextual bandit "
                             "does not have (use --prior-var).")
        n_features = pick(args.n_features, "n_features", None)
        if n_features is None:
            raise ValueError("--n-features is missing, a --contextual bandit needs it.")
        return LinearSpec(arms, n_features=n_features,
                          prior_var=pick(args.prior_var, "prior_var", 1.0),
                          noise_var=pick(args.noise_var, "noise_var", 0.1),
                          binary=not args.fractional, bucket_seconds=bucket,
                          feature_names=getattr(stored, "feature_names", None)
                          if isinstance(stored, LinearSpec) else None)
    if any(v is not None for v in linear_opts):
        raise ValueError("--n-features/--prior-var/--noise-var need --contextual.")
    return BetaSpec(arms, alpha0=pick(args.alpha0, "alpha0", 1.0),
                    beta0=pick(args.beta0, "beta0", 1.0), binary=not args.fractional,
                    bucket_seconds=bucket)


def _is_loopback(host) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _options(args, config):
    """The service options: the command line over the config file over the defaults."""
    from .app import DEFAULT_TTL
    from .ops import DEFAULT_MAX_BODY
    from .stores import DEFAULT_RETENTION, DEFAULT_TIMELINE_RETENTION

    defaults = {"store": os.environ.get("BANDIT_LAB_STORE") or None, "host": "127.0.0.1",
                "port": 8000, "default": None, "ttl": DEFAULT_TTL,
                "retention": DEFAULT_RETENTION, "timeline_retention": DEFAULT_TIMELINE_RETENTION,
                "propensity": "exact", "api_keys_file": None, "max_body": DEFAULT_MAX_BODY,
                "access_log": True, "seed": None, "store_calls": "auto", "log_level": "warning"}
    flags = {"store": args.store, "host": args.host, "port": args.port, "default": args.bandit,
             "ttl": args.ttl, "retention": args.retention,
             "timeline_retention": args.timeline_retention, "propensity": args.propensity,
             "api_keys_file": args.api_keys, "max_body": args.max_body,
             "access_log": args.access_log, "seed": args.seed, "store_calls": args.store_calls,
             "log_level": args.log_level}
    opts = {**defaults, **config.service, **{k: v for k, v in flags.items() if v is not None}}
    if opts["ttl"] > opts["retention"]:
        opts["retention"] = opts["ttl"]  # a decision stays at least as long as it waits
    return opts


def _logging(opts):
    import logging

    level = getattr(logging, opts["log_level"].upper())
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    access = logging.getLogger("bandit_lab.service.access")
    access.propagate = False
    if opts["access_log"]:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access.addHandler(handler)
        access.setLevel(logging.INFO)


def main(argv=None) -> int:
    """Entry point of ``bandit-lab serve``; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.new_key:
        from .auth import new_key

        print(new_key())
        return 0
    import uvicorn

    from .app import create_app
    from .auth import ApiKeys
    from .config import ServiceConfig, load_config
    from .stores import StoreError, open_store

    store = None
    try:
        config = load_config(args.config) if args.config else ServiceConfig()
        opts = _options(args, config)
        keys = ApiKeys(opts["api_keys_file"])
        if not _is_loopback(opts["host"]) and not keys:
            raise ValueError(f"--host {opts['host']} is reachable from other machines, so API "
                             "keys are required: give --api-keys FILE or $BANDIT_LAB_API_KEYS "
                             "(bandit-lab serve --new-key prints a key).")
        store = open_store(opts["store"], retention=opts["retention"],
                           timeline_retention=opts["timeline_retention"])
        bandits = dict(config.bandits)
        default = opts["default"] or (next(iter(bandits)) if bandits else "offers")
        if _spec_given(args):
            spec = _spec_from_args(args, store.spec(default))
            bandits.pop(default, None)
        elif default in bandits:
            spec = bandits.pop(default)
        else:  # the stored spec, or the five offers with a flat prior for a new store
            spec = None if store.spec(default) is not None else _spec_from_args(args, None)
        app = create_app(store, default, spec, bandits=bandits, rng=opts["seed"],
                         ttl=opts["ttl"], propensity=opts["propensity"], keys=keys or None,
                         max_body=opts["max_body"], access_log=opts["access_log"],
                         store_calls=None if opts["store_calls"] == "auto"
                         else opts["store_calls"])
    except (StoreError, ValueError, TypeError) as err:
        print(f"bandit-lab serve: {err}", file=sys.stderr)
        if store is not None:
            store.close()
        return 2
    except Exception as err:  # e.g. Redis refusing the connection: say which store
        print(f"bandit-lab serve: cannot use store {opts.get('store') or 'sqlite (default)'}: "
              f"{err}", file=sys.stderr)
        return 1
    _logging(opts)
    host, port = opts["host"], opts["port"]
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only when
    # the listening socket says TCP; without it every response waits ~40 ms (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        print(f"bandit-lab serve: cannot bind {host}:{port}: {err}", file=sys.stderr)
        store.close()
        return 1
    port = sock.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    names = sorted(i.name for i in store.bandits() if i.status == "active")
    print(f"bandit-lab serve: bandit {default!r} ({app.state.spec.describe()}) on "
          f"{store.url}{', API keys required' if keys else ''}; {len(names)} active bandit"
          f"{'' if len(names) == 1 else 's'}; listening on http://{shown}:{port}", flush=True)
    config = uvicorn.Config(app, log_level=opts["log_level"], access_log=False, lifespan="on",
                            timeout_graceful_shutdown=10)
    server = _Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        store.close()
    return 0


def _server_class():
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, ending with status 0 after a SIGTERM or SIGINT: in-flight
        requests finish, the lifespan shutdown runs, the store is closed (uvicorn itself
        re-raises the signal, which kills the process before the store is closed)."""

        def handle_exit(self, sig, frame):
            super().handle_exit(sig, frame)
            self._captured_signals.clear()

    return Server


def _Server(config):  # noqa: N802 (a class made on first use: uvicorn is imported late)
    return _server_class()(config)


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

    def restart(self, timeout=10.0) -> "RedisProcess":
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
