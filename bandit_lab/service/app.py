"""The decision service: a FastAPI app in front of a store.

Taught in notebooks/10_serving_a_bandit.ipynb.

Endpoints
---------
``POST /decision``  body ``{}`` (Beta bandit) or ``{"context": [x1, ..., xd]}`` (linear
    bandit), optionally ``"arms": [names]`` to choose among eligible arms only. Returns the
    chosen ``arm`` (name), its ``arm_index``, a ``decision_id`` and ``expires_in`` seconds;
    the ``Server-Timing`` header says how long the decision took inside the service.
``POST /reward``    body ``{"decision_id": ..., "reward": 0 or 1}`` (optionally ``"arm"``,
    checked against the decision). The reward is counted once per decision: a retry
    returns ``"duplicate": true``; an unknown or expired decision gets 404, a second,
    different reward 409. Malformed payloads get 422 with a one-sentence ``detail``, and
    the state is untouched.
``GET /stats``      per arm: decisions and traffic share, rewards, observed conversion,
    posterior mean and credible interval (Beta) or weights (linear), last reward time.
``GET /timeline``   decisions and rewards per arm per time bucket (for monitoring).
``GET /health``     ``{"status": "ok", ...}`` when the store answers.

Where store calls run. A call that waits on the network must never block the event loop,
the one thread that accepts and answers every request: the source article's ``async def``
handlers made blocking Redis calls, which serialises all requests behind the slowest round
trip. The Redis store therefore offers coroutines (``redis.asyncio``) that the handlers
await: while one request waits for Redis, the loop serves the others. The embedded SQLite
store is different: its calls are local and take about a tenth of a millisecond, and its
writes are serialised anyway (one writer at a time), so they run directly on the loop; a
hand-off to a thread costs more than it saves. Any store can also be called from the thread
pool (``store_calls="threads"``); ``benchmarks/bench_service.py`` measures the three.
"""
from __future__ import annotations

import contextlib
import math
import threading
import time
from typing import Any

import numpy as np
from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field


from .._rng import resolve_rng
from .._validation import check_probability
from ..posteriors import BetaPosterior
from ..scores import argmax_random
from .models import _short
from .stores import ArmMismatch, RewardConflict, Store, UnknownDecision

__all__ = ["create_app", "DEFAULT_TTL"]

#: How long a decision waits for its reward, in seconds (one day).
DEFAULT_TTL = 86_400.0


class _Refused(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class DecisionRequest(BaseModel):
    """What a caller may send with a decision request."""

    model_config = ConfigDict(extra="forbid")
    context: Any = Field(None, description="the customer's features (linear bandit only): a "
                                           "list of n_features numbers")
    arms: Any = Field(None, description="optional: the arm names eligible for this decision")


class RewardRequest(BaseModel):
    """A reward for one decision."""

    model_config = ConfigDict(extra="forbid")
    decision_id: Any = Field(..., description="the id POST /decision returned")
    reward: Any = Field(..., description="0 or 1 (or a number in [0, 1] if the bandit "
                                         "accepts fractions)")
    arm: Any = Field(None, description="optional: the arm the decision chose, checked")


def _sentence(errors) -> str:
    """One sentence from pydantic's first error, in the package's style."""
    err = errors[0]
    kind, loc = err.get("type", ""), [str(p) for p in err.get("loc", ()) if p != "body"]
    field = ".".join(loc)
    if kind == "json_invalid":
        return "the body is not valid JSON, must be a JSON object."
    if kind == "missing" and not field:
        return "the body is missing, must be a JSON object (see /docs for its fields)."
    if kind == "missing":
        return f"field {field!r} is missing, it is required."
    if kind == "extra_forbidden":
        return f"field {field!r} is not allowed; the body takes only the fields listed in /docs."
    if kind in ("model_attributes_type", "dict_type", "model_type"):
        if isinstance(err.get("input"), (bytes, str)):
            return ("the body is not a JSON object, must be JSON sent with "
                    "Content-Type: application/json.")
        return f"the body == {_short(err.get('input'))}, must be a JSON object."
    return f"{field or 'body'}: {err.get('msg', 'invalid')}."


def _float_or_none(x):
    x = float(x)
    return None if math.isnan(x) else x


def create_app(store: Store, name: str = "offers", spec=None, *, rng=None,
               ttl: float = DEFAULT_TTL, level: float = 0.95, store_calls=None) -> FastAPI:
    """A FastAPI app serving bandit ``name`` from ``store``.

    Parameters
    ----------
    store : Store
        Where the state lives (:class:`~bandit_lab.service.stores.SQLiteStore` or
        :class:`~bandit_lab.service.stores.RedisStore`).
    name : str
        The bandit's name in the store.
    spec : BetaSpec or LinearSpec, optional
        Created with its prior if the store does not hold ``name`` yet; must equal the stored
        spec if it does. None: use the stored spec.
    rng : None, int or numpy.random.Generator
        Source of the posterior draws (one stream, shared by all requests under a lock).
    ttl : float
        Seconds a decision accepts its reward.
    level : float
        Credible level of the intervals in ``/stats``.
    store_calls : {"inline", "async", "threads"}, optional
        How store calls are made: on the event loop (``"inline"``), as coroutines of the
        store's async client (``"async"``), or in the thread pool (``"threads"``). Default:
        the store's ``store_calls`` (SQLite: inline; Redis: async).

    Examples
    --------
    >>> import os, tempfile
    >>> from fastapi.testclient import TestClient
    >>> from bandit_lab.service.models import BetaSpec
    >>> from bandit_lab.service.stores import SQLiteStore
    >>> store = SQLiteStore(os.path.join(tempfile.mkdtemp(), "app.sqlite3"))
    >>> client = TestClient(create_app(store, "offers", BetaSpec(["a", "b"]), rng=0))
    >>> d = client.post("/decision").json()
    >>> client.post("/reward", json={"decision_id": d["decision_id"], "reward": 1}).json()["status"]
    'recorded'
    >>> client.post("/reward", json={"decision_id": d["decision_id"], "reward": 7}).json()["detail"]
    'reward == 7, must be 0 or 1 (this bandit counts conversions: 1 converted, 0 did not).'
    >>> store.close()
    """
    level = check_probability("level", level, open_low=True, open_high=True)
    spec = store.create(name, spec)
    ttl = float(ttl)
    if not (ttl > 0 and math.isfinite(ttl)):
        raise ValueError(f"ttl == {ttl!r}, must be a finite number of seconds > 0.")
    gen = resolve_rng(rng)
    draw_lock = threading.Lock()  # a numpy Generator is not safe to share between threads
    store_kind = type(store).__name__.removesuffix("Store").lower()

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        if hasattr(store, "aclose"):  # the async client lives on this loop: close it here
            await store.aclose()

    app = FastAPI(title="bandit-lab decision service",
                  description=f"Thompson sampling for bandit {name!r} ({spec.describe()}).",
                  version="1", lifespan=lifespan)
    app.state.store, app.state.spec, app.state.name = store, spec, name

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return JSONResponse(status_code=422, content={"detail": _sentence(exc.errors())})

    @app.exception_handler(_Refused)
    async def _refused(request: Request, exc: _Refused):
        return JSONResponse(status_code=exc.status, content={"detail": exc.message})

    def _check(fn, *args):
        try:
            return fn(*args)
        except (TypeError, ValueError) as err:
            raise _Refused(422, str(err)) from None

    def _eligible(arms):
        if arms is None:
            return None
        if not isinstance(arms, list) or not arms:
            raise _Refused(422, f"arms == {_short(arms)}, must be a non-empty list of arm names.")
        mask = np.zeros(spec.n_arms, dtype=bool)
        for i, a in enumerate(arms):
            mask[_check(spec.arm_index, a, f"arms[{i}]")] = True
        return mask

    if store_calls is None:
        store_calls = getattr(store, "store_calls", "threads")
    if store_calls not in ("inline", "async", "threads"):
        raise ValueError(f"store_calls == {store_calls!r}, must be 'inline', 'async' or "
                         "'threads'.")
    if store_calls == "async" and not hasattr(store, "aread_vectors"):
        raise ValueError(f"store_calls == 'async', but {type(store).__name__} has no coroutine "
                         "methods; use 'inline' or 'threads'.")

    async def run(fn, *args, **kwargs):
        """A blocking store call: inline for a local store, else in the thread pool."""
        if store_calls == "inline":
            return fn(*args, **kwargs)
        return await run_in_threadpool(fn, *args, **kwargs)

    def draw(vectors, context, mask):
        with draw_lock:
            scores = spec.scores(vectors, context, gen)
            if mask is not None:
                scores = np.where(mask, scores, -np.inf)
            return int(argmax_random(scores, gen))

    def decide(context, mask):
        arm = draw(store.read_vectors(name), context, mask)  # one read for all arms
        return arm, store.record_decision(name, arm, context=context, ttl=ttl)

    async def decide_async(context, mask):
        arm = draw(await store.aread_vectors(name), context, mask)
        return arm, await store.arecord_decision(name, arm, context=context, ttl=ttl)

    @app.post("/decision")
    async def decision(response: Response, body: DecisionRequest | None = None) -> dict:
        started = time.perf_counter()
        body = body or DecisionRequest()
        context = _check(spec.check_context, body.context)
        mask = _eligible(body.arms)
        if store_calls == "async":
            arm, did = await decide_async(context, mask)
        else:
            arm, did = await run(decide, context, mask)
        # W3C Server-Timing: how long the decision itself took (store read, draw, store write)
        response.headers["Server-Timing"] = f"decide;dur={(time.perf_counter() - started) * 1e3:.3f}"
        return {"decision_id": did, "arm": spec.arms[arm], "arm_index": arm, "expires_in": ttl}

    @app.post("/reward")
    async def reward(body: RewardRequest) -> dict:
        if not isinstance(body.decision_id, str) or not body.decision_id:
            raise _Refused(422, f"decision_id == {_short(body.decision_id)}, must be the string "
                                "returned by POST /decision.")
        value = _check(spec.check_reward, body.reward)
        arm = None if body.arm is None else _check(spec.arm_index, body.arm)
        try:
            if store_calls == "async":
                result = await store.arecord_reward(name, body.decision_id, value, arm=arm)
            else:
                result = await run(store.record_reward, name, body.decision_id, value, arm=arm)
        except UnknownDecision as err:
            raise _Refused(404, str(err)) from None
        except (RewardConflict, ArmMismatch) as err:
            raise _Refused(409, str(err)) from None
        return {"status": "duplicate" if result.duplicate else "recorded",
                "decision_id": result.decision_id, "arm": spec.arms[result.arm],
                "reward": result.reward, "duplicate": result.duplicate}

    @app.get("/stats")
    async def stats() -> dict:
        return _stats(await run(store.read, name), spec, name, level)

    @app.get("/timeline")
    async def timeline() -> dict:
        tl = await run(store.timeline, name)
        return {"bandit": name, "arms": list(spec.arms), "bucket_seconds": tl.bucket_seconds,
                "starts": tl.starts.tolist(), "decisions": tl.decisions.tolist(),
                "rewards": tl.rewards.tolist(), "reward_sums": tl.reward_sums.tolist()}

    @app.get("/health")
    async def health() -> dict:
        try:
            ok = await run(store.ping)
        except Exception as err:  # the store is down: say so, with a 503
            raise _Refused(503, f"store {store_kind} does not answer: {err}") from None
        return {"status": "ok" if ok else "degraded", "bandit": name, "kind": spec.kind,
                "store": store_kind, "arms": list(spec.arms), "store_calls": store_calls}

    return app


def _stats(state, spec, name, level) -> dict:
    total = int(state.decisions.sum())
    posterior = spec.summary(state.vectors, level)
    failures = state.rewards - state.reward_sums
    # How sure are we of each arm's *observed* conversion rate (uniform prior)?
    observed = BetaPosterior(1.0 + state.reward_sums, 1.0 + failures)
    obs_low, obs_high = observed.interval(level)
    arms = []
    for k, arm in enumerate(spec.arms):
        n = int(state.rewards[k])
        arms.append({
            "name": arm, "index": k,
            "decisions": int(state.decisions[k]),
            "share": float(state.decisions[k] / total) if total else None,
            "rewards": n,
            "reward_sum": float(state.reward_sums[k]),
            "conversion": float(state.reward_sums[k] / n) if n else None,
            "conversion_low": float(obs_low[k]), "conversion_high": float(obs_high[k]),
            "last_reward_at": _float_or_none(state.last_reward_at[k]),
            **posterior[k],
        })
    return {"bandit": name, "kind": spec.kind, "level": level, "now": time.time(),
            "decisions": total, "rewards": int(state.rewards.sum()), "arms": arms}
