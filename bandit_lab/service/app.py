"""The decision service: a FastAPI app in front of a store.

Taught in notebooks/10_serving_a_bandit.ipynb.

Routes (the contract is at ``/openapi.json``; every refusal has the body
``{"status", "message", "field"}``, see :mod:`.errors`)
-------------------------------------------------------------------------------------------
``POST /bandits/{name}/decision``  body ``{}`` (Beta bandit) or ``{"context": [x1, ..., xd]}``
    (linear bandit), optionally ``"arms": [names]`` to choose among eligible arms only.
    Returns the chosen ``arm`` (name), its ``arm_index``, a ``decision_id``, the
    ``propensity`` (the probability the policy had of choosing that arm) and ``expires_in``;
    the ``Server-Timing`` header says how long the decision took inside the service.
``POST /bandits/{name}/reward``    body ``{"decision_id": ..., "reward": 0 or 1}``
    (optionally ``"arm"``, checked). Counted once per decision: a retry returns
    ``"duplicate": true``; an unknown or expired decision gets 404, a second, different
    reward 409.
``GET /bandits/{name}/stats``      per arm: traffic, conversion, posterior.
``GET /bandits/{name}/timeline``   ``?since=&until=&limit=``: counts per time bucket.
``GET /bandits/{name}/log``        ``?since=&until=&after=&limit=``: the decision log.
``POST /decision``, ``POST /reward``, ``GET /stats``, ``GET /timeline``: the same for the
    default bandit.
``/admin/bandits...``              create, list, describe, retire, add arms (:mod:`.admin`).
``GET /health``  alive; ``GET /ready``  the store answers and every active bandit can
    decide; ``GET /metrics``  Prometheus (:mod:`.ops`).

Where store calls run. A call that waits on the network must never block the event loop,
the one thread that accepts and answers every request: the source article's ``async def``
handlers made blocking Redis calls, which serialises all requests behind the slowest round
trip. The Redis store therefore offers coroutines (``redis.asyncio``) that the handlers
await. The embedded SQLite store is different: its calls are local and take about a tenth
of a millisecond, so they run directly on the loop, but *without waiting*: if another
process holds the write lock, the call is handed to a thread, so ``/health`` and every
request not waiting for that lock keep being answered (``store_calls="threads"`` hands
every call to a thread; ``benchmarks/bench_service.py`` measures the modes).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.concurrency import run_in_threadpool

from .. import __version__
from .._rng import resolve_rng
from .._validation import check_probability
from .admin import admin_router
from .auth import ApiKeys
from .errors import ApiError, ErrorBody, error_response, validation_error
from .ops import DEFAULT_MAX_BODY, Metrics, OpsMiddleware
from .routes import Service, _errors, bandit_router
from .runtime import Bandits, Decider, StoreCaller, PROPENSITY_MODES
from .schemas import (ArmCreate, BanditCreate, DecisionRequest, HealthResponse, ReadyResponse,
                      RewardRequest, decision_schema, reward_schema)
from .models import StateUnusable
from .stores import StateMissing, Store, UnknownBandit

__all__ = ["create_app", "DEFAULT_TTL", "PURGE_EVERY"]

log = logging.getLogger("bandit_lab.service")

#: How long a decision waits for its reward, in seconds (one day).
DEFAULT_TTL = 86_400.0
#: Seconds between two purges of old decisions and buckets (and one at start).
PURGE_EVERY = 300.0


def create_app(store: Store, name: str | None = "offers", spec=None, *, rng=None,
               ttl: float = DEFAULT_TTL, level: float = 0.95, store_calls=None,
               bandits=None, keys: ApiKeys | None = None, propensity: str = "exact",
               max_body: int = DEFAULT_MAX_BODY, access_log: bool = True,
               purge_every: float | None = PURGE_EVERY) -> FastAPI:
    """A FastAPI app serving the bandits of ``store``.

    Parameters
    ----------
    store : Store
        Where the state lives (:class:`~bandit_lab.service.stores.SQLiteStore` or
        :class:`~bandit_lab.service.stores.RedisStore`).
    name : str or None
        The default bandit, served by the single-bandit routes. None: only
        ``/bandits/{name}/...``.
    spec : BetaSpec or LinearSpec, optional
        Created with its prior if the store does not hold ``name`` yet; must equal the stored
        spec (or have grown into it by added arms) if it does. None: use the stored spec.
    bandits : dict of name -> spec, optional
        More bandits to create (or check) at start, e.g. from a config file.
    rng : None, int or numpy.random.Generator
        Source of the posterior draws (one stream, shared by all requests under a lock).
    ttl : float
        Seconds a decision accepts its reward.
    level : float
        Credible level of the intervals in ``/stats``.
    store_calls : {"inline", "async", "threads"}, optional
        How store calls are made (default: the store's ``store_calls``; see the module
        docstring).
    keys : ApiKeys, optional
        API keys; when given (and configured: a file, the environment variable or keys)
        every route but ``/health``, ``/ready`` and the docs needs one, and ``/admin`` one
        of scope admin, also while no key is valid (a key file emptied during a rotation).
    propensity : {"exact", "monte-carlo", "off"}
        How the logged propensity of each decision is computed.
    max_body : int
        Largest request body accepted, in bytes (413 above).
    access_log : bool
        One JSON line per request to the ``bandit_lab.service.access`` logger.
    purge_every : float or None
        Seconds between purges of decisions and buckets older than the store's retention
        (one also runs at start); None: never (tests).

    Examples
    --------
    >>> import os, tempfile
    >>> from fastapi.testclient import TestClient
    >>> from bandit_lab.service.models import BetaSpec
    >>> from bandit_lab.service.stores import SQLiteStore
    >>> store = SQLiteStore(os.path.join(tempfile.mkdtemp(), "app.sqlite3"))
    >>> client = TestClient(create_app(store, "offers", BetaSpec(["a", "b"]), rng=0))
    >>> d = client.post("/decision").json()
    >>> round(d["propensity"], 12)          # two arms with the same prior: a coin flip
    0.5
    >>> client.post("/reward", json={"decision_id": d["decision_id"], "reward": 1}).json()["status"]
    'recorded'
    >>> client.post("/reward", json={"decision_id": d["decision_id"], "reward": 7}).json()
    {'status': 422, 'message': 'reward == 7, must be 0 or 1 (this bandit counts conversions: 1 converted, 0 did not).', 'field': 'reward'}
    >>> store.close()
    """
    level = check_probability("level", level, open_low=True, open_high=True)
    ttl = float(ttl)
    if not (ttl > 0 and math.isfinite(ttl)):
        raise ValueError(f"ttl == {ttl!r}, must be a finite number of seconds > 0.")
    if propensity not in PROPENSITY_MODES:
        raise ValueError(f"propensity == {propensity!r}, must be one of "
                         f"{list(PROPENSITY_MODES)}.")
    store_calls = _store_calls(store, store_calls)
    default_spec = None
    for other, other_spec in (bandits or {}).items():
        store.create(other, other_spec)
    if name is not None:
        default_spec = store.create(name, spec)
    metrics = Metrics()
    for other in bandits or {}:
        metrics.track(other, store.spec(other).arms)
    if default_spec is not None:
        metrics.track(name, default_spec.arms)
    caller = StoreCaller(store, store_calls, metrics)
    service = Service(caller=caller, bandits=Bandits(caller, name),
                      decider=Decider(resolve_rng(rng), propensity), metrics=metrics,
                      ttl=ttl, level=level)
    store_kind = caller.kind

    description = ("Thompson sampling behind HTTP, with state that loses nothing. "
                   + (f"Default bandit {name!r} ({default_spec.describe()})."
                      if name is not None else ""))
    app = FastAPI(title="bandit-lab decision service", description=description,
                  version=__version__, lifespan=_lifespan(store, purge_every))
    app.state.store, app.state.service, app.state.name = store, service, name
    app.state.spec = default_spec
    app.state.started = time.time()
    app.state.keys = keys if keys is not None and keys.configured else None
    _install_error_handlers(app)
    app.add_middleware(OpsMiddleware, metrics=metrics, max_body=max_body, keys=keys,
                       access=access_log)
    app.include_router(bandit_router(name))
    app.include_router(admin_router())
    _ops_routes(app, service, store_kind)
    app.openapi = lambda: _openapi(app)
    return app


def _store_calls(store, store_calls):
    if store_calls is None:
        store_calls = getattr(store, "store_calls", "threads")
    if store_calls not in ("inline", "async", "threads"):
        raise ValueError(f"store_calls == {store_calls!r}, must be 'inline', 'async' or "
                         "'threads'.")
    if store_calls == "async" and not hasattr(store, "aread_vectors"):
        raise ValueError(f"store_calls == 'async', but {type(store).__name__} has no coroutine "
                         "methods; use 'inline' or 'threads'.")
    return store_calls


def _lifespan(store, purge_every):
    async def purge_now():
        try:
            gone = await run_in_threadpool(store.purge)
            if gone["decisions"] or gone["buckets"]:
                log.info("purged %(decisions)d decisions and %(buckets)d buckets", gone)
        except Exception as err:  # the store is down: try again next time
            log.warning("purge failed: %s", err)

    async def purge_loop():
        while True:
            await asyncio.sleep(purge_every)
            await purge_now()

    @contextlib.asynccontextmanager
    async def lifespan(app):
        task = None
        if purge_every is not None:  # at start (whatever ran before), then every so often
            await purge_now()
            task = asyncio.create_task(purge_loop())
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if hasattr(store, "aclose"):  # the async client lives on this loop: close it here
                await store.aclose()

    return lifespan


def _install_error_handlers(app):
    @app.exception_handler(ApiError)
    async def _refused(request: Request, exc: ApiError):
        return error_response(exc.status, exc.message, exc.field, exc.headers)

    @app.exception_handler(StateMissing)
    async def _missing(request: Request, exc: StateMissing):
        return error_response(503, str(exc), None, {"Retry-After": "60"})

    @app.exception_handler(UnknownBandit)
    async def _unknown(request: Request, exc: UnknownBandit):
        return error_response(404, str(exc), "name")

    @app.exception_handler(StateUnusable)
    async def _unusable(request: Request, exc: StateUnusable):
        name = request.path_params.get("name", request.app.state.name)
        return error_response(503, f"bandit {name!r} cannot decide: {exc}", None,
                              {"Retry-After": "60"})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        err = validation_error(list(exc.errors()))
        return error_response(422, err.message, err.field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        messages = {404: f"no route {request.url.path[:80]!r}; see /docs for the routes.",
                    405: f"method {request.method} is not allowed on {request.url.path[:80]!r}; "
                         "see /docs."}
        message = messages.get(exc.status_code, str(exc.detail)[:200] + ".")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:  # every method the path answers, not just the first route's
            from starlette.routing import Match

            methods = set()
            for route in request.app.routes:
                match, _ = route.matches({**request.scope, "method": "GET"})
                if match != Match.NONE and getattr(route, "methods", None):
                    methods |= set(route.methods)
            headers["Allow"] = ", ".join(sorted(methods))
        return error_response(exc.status_code, message, None, headers)


def _ops_routes(app, service, store_kind):
    @app.get("/health", response_model=HealthResponse, tags=["operations"],
             summary="Liveness: the process answers (touches no store)")
    async def health():
        return JSONResponse({"status": "ok", "version": __version__,
                             "uptime": time.time() - app.state.started})

    @app.get("/ready", response_model=ReadyResponse, tags=["operations"],
             responses=_errors(busy=True),
             summary="Readiness: the store answers and every active bandit can decide")
    async def ready():
        try:
            await asyncio.wait_for(service.caller("ping"), 5.0)
            infos = await asyncio.wait_for(service.caller("bandits"), 5.0)
            active = [i for i in infos if i.status == "active"]
            for info in active:  # a decision can be made: the posterior of every arm
                vectors = await asyncio.wait_for(service.caller("read_vectors", info.name), 5.0)
                try:
                    info.spec.summary(vectors)
                except ValueError as err:
                    raise ApiError(503, f"bandit {info.name!r} cannot decide: {err}",
                                   headers={"Retry-After": "60"}) from None
        except (StateMissing, UnknownBandit) as err:  # not ready, whatever the reason
            raise ApiError(503, str(err), headers={"Retry-After": "60"}) from None
        except asyncio.TimeoutError:
            raise ApiError(503, f"the {store_kind} store did not answer within 5 s.",
                           headers={"Retry-After": "1"}) from None
        if app.state.name is not None and app.state.name not in {i.name for i in active}:
            raise ApiError(503, f"the default bandit {app.state.name!r} is missing or retired.",
                           headers={"Retry-After": "60"})
        return JSONResponse({"status": "ready", "store": store_kind,
                             "bandits": [i.name for i in active]})

    @app.get("/metrics", tags=["operations"], response_class=Response,
             responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                              "description": "Prometheus text format"},
                        **_errors(401, busy=False)},
             summary="Prometheus metrics: decisions, rewards, latency, store errors")
    async def metrics():
        body, content_type = service.metrics.render()
        return Response(body, media_type=content_type)


def _openapi(app):
    """FastAPI's schema, with the request bodies the handlers validate (the default
    bandit's exactly), the error body everywhere, and the API-key scheme when keys are set."""
    if app.openapi_schema is not None and app.state.spec_seen == app.state.spec:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    ref = "#/components/schemas/{model}"
    for model in (DecisionRequest, RewardRequest, ArmCreate, ErrorBody):
        s = model.model_json_schema(ref_template=ref)
        components.update(s.pop("$defs", {}))
        components[model.__name__] = s
    from pydantic import TypeAdapter

    s = TypeAdapter(BanditCreate).json_schema(ref_template=ref)
    components.update(s.pop("$defs", {}))
    components["BanditCreate"] = s
    spec = app.state.spec
    if spec is not None:
        components["DefaultDecisionRequest"] = decision_schema(spec)
        components["DefaultRewardRequest"] = reward_schema(spec)
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    if app.state.keys is not None:
        schema["components"]["securitySchemes"] = {
            "apiKey": {"type": "http", "scheme": "bearer",
                       "description": "an API key: Authorization: Bearer KEY"}}
        for path, ops in schema["paths"].items():
            if path in ("/health", "/ready"):
                continue
            for op in ops.values():
                op["security"] = [{"apiKey": []}]
                op.setdefault("responses", {}).setdefault(
                    "401", {"description": "No valid API key",
                            "content": {"application/json": {"schema": {
                                "$ref": "#/components/schemas/ErrorBody"}}}})
                if path.startswith("/admin"):
                    op["responses"].setdefault("403", {
                        "description": "The key's scope is not admin",
                        "content": {"application/json": {"schema": {
                            "$ref": "#/components/schemas/ErrorBody"}}}})
    else:  # no keys: nothing answers 401 or 403
        for ops in schema["paths"].values():
            for op in ops.values():
                op.get("responses", {}).pop("401", None)
                op.get("responses", {}).pop("403", None)
    app.openapi_schema = schema
    app.state.spec_seen = spec
    return schema
