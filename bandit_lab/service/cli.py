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
import socket
import sys

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
        if keys.configured and not keys:
            raise ValueError(f"the API keys ({opts['api_keys_file'] or '$BANDIT_LAB_API_KEYS'}) "
                             "hold no key, so every request would be refused; add a key "
                             "(bandit-lab serve --new-key prints one).")
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
                         ttl=opts["ttl"], propensity=opts["propensity"], keys=keys if keys else None,
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


from .background import (RedisProcess, ServiceProcess, _Background, free_port,  # noqa: E402,F401
                         start_redis, start_service)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
