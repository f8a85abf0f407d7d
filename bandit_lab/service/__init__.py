"""The decision service: a bandit behind HTTP, with state that loses nothing.

Taught in notebooks/10_serving_a_bandit.ipynb. Needs the ``service`` extra
(``pip install bandit-lab[service]``: fastapi, uvicorn, redis, httpx).

Specs (``bandit_lab.service.models``) -- what is stored for one bandit
    BetaSpec       Beta-Bernoulli Thompson sampling: arms, prior, accepted rewards
    LinearSpec     linear Thompson sampling on a context vector

Stores (``bandit_lab.service.stores``: base, sqlite, redis) -- prior stored with the first
write and kept apart from the state, atomic increments, decisions with ids, propensities and
expiry, idempotent rewards, many bandits, retention, JSON only
    SQLiteStore    embedded, WAL mode: the default, runs anywhere
    RedisStore     a Redis server shared by several service instances
    open_store     a store from a URL: sqlite:///file or redis://host:port/db

Service
    create_app     the FastAPI app (``bandit_lab.service.app``): /bandits/{name}/decision,
                   /reward, /stats, /timeline, /log; /decision etc. for the default bandit;
                   /admin/bandits; /health /ready /metrics
    start_service  run ``bandit-lab serve`` in the background on 127.0.0.1, free port
    start_redis    run a private redis-server on a loopback port in a directory
    ApiKeys        API keys with scopes (``bandit_lab.service.auth``)
    load_config    the TOML configuration file (``bandit_lab.service.config``)
    export_log     the decision log as CSV or Parquet (``bandit_lab.service.decision_log``)

The contract (request and response models, one error body) is in ``schemas`` and
``errors``; what runs between HTTP and the store in ``runtime``, ``routes`` and ``admin``;
metrics, access log and request limits in ``ops``.

Monitoring (``bandit_lab.service.monitoring``) -- what can be observed in production
    plot_traffic, plot_conversion, plot_freshness, plot_dashboard, dashboard_widget
"""
from .models import BetaSpec, LinearSpec
from .stores import DEFAULT_STORE_URL, RedisStore, SQLiteStore, Store, open_store

__all__ = ["BetaSpec", "LinearSpec", "Store", "SQLiteStore", "RedisStore", "open_store",
           "DEFAULT_STORE_URL", "create_app", "start_service", "start_redis", "ApiKeys",
           "load_config", "export_log"]


def __getattr__(name):  # the web stack is imported only when asked for
    if name == "create_app":
        from .app import create_app

        return create_app
    if name in ("start_service", "start_redis"):
        from . import background

        return getattr(background, name)
    if name == "ApiKeys":
        from .auth import ApiKeys

        return ApiKeys
    if name == "load_config":
        from .config import load_config

        return load_config
    if name == "export_log":
        from .decision_log import export_log

        return export_log
    raise AttributeError(f"module 'bandit_lab.service' has no attribute {name!r}")
