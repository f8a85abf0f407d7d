"""The routes of one bandit: decision, reward, stats, timeline, log.

A bandit's state missing from the store (:class:`~.stores.StateMissing`) or unusable
(:class:`~.models.StateUnusable`) and an unknown bandit are answered by the app's
handlers (503, 503, 404), wherever they are raised.

Each exists as ``/bandits/{name}/...`` for every bandit, and the first four also as
``/decision``, ``/reward``, ``/stats`` and ``/timeline`` for the default bandit (the
routes of the single-bandit service, kept).
"""
from __future__ import annotations

import math
import time

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from ..posteriors import BetaPosterior
from .errors import ApiError, ErrorBody, parse_json, validation_error
from .runtime import read_for_decision
from .schemas import (NAME_PATTERN, DecisionRequest, DecisionResponse, LogResponse,
                      RewardRequest, RewardResponse, StatsResponse, TimelineResponse)
from .stores import ArmMismatch, RewardConflict, UnknownDecision

__all__ = ["bandit_router", "Service"]

MAX_TIMELINE = 10_000
MAX_LOG = 10_000


def _errors(*codes, busy=True):
    """The ``responses`` of a route: each status with the error body."""
    text = {400: "Bad request", 401: "No valid API key", 403: "The key's scope does not allow "
            "this", 404: "No such bandit, decision or resource",
            409: "Fits the schema but not this bandit (an arm it does not have, a context of "
                 "another length, a fraction for a 0/1 bandit), or conflicts with what is "
                 "stored (a second, different reward; a retired bandit), or with another "
                 "field (until before since)",
            413: "The body is larger than the limit",
            422: "The request does not fit the schema (the message says which field and what "
                 "is allowed)",
            503: "The store does not answer (retry after Retry-After seconds) or the bandit's "
                 "state is missing from it"}
    out = {}
    for code in codes + ((503,) if busy else ()):
        out[code] = {"model": ErrorBody, "description": text[code]}
        if code == 503:
            out[code]["headers"] = {"Retry-After": {"description": "seconds to wait",
                                                    "schema": {"type": "string"}}}
    return out


class Service:
    """What the handlers share (set on ``app.state.service`` by :func:`create_app`)."""

    def __init__(self, *, caller, bandits, decider, metrics, ttl, level):
        self.caller = caller
        self.bandits = bandits
        self.decider = decider
        self.metrics = metrics
        self.ttl = ttl
        self.level = level

    # -- the work of each route -------------------------------------------------------
    async def decide(self, name, body: bytes):
        started = time.perf_counter()
        try:
            req = DecisionRequest.model_validate(parse_json(body, required=False))
        except ValidationError as err:
            raise validation_error(err) from None
        b, vectors = await read_for_decision(self.caller, self.bandits, name)
        spec = b.spec
        vectors = spec.check_state(vectors)
        if b.status != "active":
            raise ApiError(409, f"bandit {name!r} is retired: it makes no new decisions (its "
                                "rewards, stats and log remain).", "name")
        try:
            context = spec.check_context(req.context)
        except (TypeError, ValueError) as err:
            raise ApiError(409, str(err), "context") from None
        mask = self.decider.eligible(spec, req.arms)
        arm = self.decider.choose(spec, vectors, context, mask)
        p = self.decider.probability(spec, vectors, context, mask, arm)
        eligible = None if mask is None else mask.nonzero()[0].tolist()
        did = await self.caller("record_decision", name, arm, context=context, ttl=self.ttl,
                                propensity=p, eligible=eligible)
        elapsed = time.perf_counter() - started
        self.metrics.decisions.labels(name, spec.arms[arm]).inc()
        self.metrics.decision_seconds.labels(name).observe(elapsed)
        # W3C Server-Timing: how long the decision itself took (read, draw, write)
        return JSONResponse(
            {"decision_id": did, "bandit": name, "arm": spec.arms[arm], "arm_index": arm,
             "propensity": p, "expires_in": self.ttl},
            headers={"Server-Timing": f"decide;dur={elapsed * 1e3:.3f}"})

    async def reward(self, name, body: bytes):
        b = await self.bandits.get(name)
        data = parse_json(body, required=True)
        try:
            req = RewardRequest.model_validate(data)
        except ValidationError as err:
            raise validation_error(err, {"reward": _reward_rule(b.spec)}) from None
        try:
            value = b.spec.check_reward(req.reward)
        except (TypeError, ValueError) as err:
            raise ApiError(409, str(err), "reward") from None
        arm = None
        if req.arm is not None:
            try:
                arm = b.spec.arm_index(req.arm)
            except (TypeError, ValueError) as err:
                b = await self.bandits.refresh(name)  # an arm added elsewhere?
                try:
                    arm = b.spec.arm_index(req.arm)
                except (TypeError, ValueError):
                    raise ApiError(409, str(err), "arm") from None
        try:
            result = await self.caller("record_reward", name, req.decision_id, value, arm=arm)
        except UnknownDecision as err:
            raise ApiError(404, str(err), "decision_id") from None
        except RewardConflict as err:
            raise ApiError(409, str(err), "reward") from None
        except ArmMismatch as err:
            raise ApiError(409, str(err), "arm") from None
        spec = b.spec if result.arm < b.spec.n_arms else (await self.bandits.refresh(name)).spec
        arm_name = spec.arms[result.arm]
        self.metrics.rewards.labels(name, arm_name, "duplicate" if result.duplicate
                                    else "recorded").inc()
        if not result.duplicate:
            self.metrics.reward_sum.labels(name, arm_name).inc(result.reward)
        return JSONResponse({"status": "duplicate" if result.duplicate else "recorded",
                             "decision_id": result.decision_id, "bandit": name, "arm": arm_name,
                             "reward": result.reward, "duplicate": result.duplicate})

    async def stats(self, name):
        b = await self.bandits.get(name)
        state = await self.caller("read", name)
        if state.vectors.shape[0] != b.spec.n_arms:
            b = await self.bandits.refresh(name)
            state = await self.caller("read", name)
        b.spec.check_state(state.vectors)
        return JSONResponse(stats_body(state, b, self.level))

    async def timeline(self, name, since, until, limit):
        b = await self.bandits.get(name)
        _check_range(since, until)
        tl = await self.caller("timeline", name, since=since, until=until, limit=limit)
        return JSONResponse({
            "bandit": name, "arms": list(b.spec.arms), "bucket_seconds": tl.bucket_seconds,
            "starts": tl.starts.tolist(), "decisions": tl.decisions.tolist(),
            "rewards": tl.rewards.tolist(), "reward_sums": tl.reward_sums.tolist(),
            "truncated": tl.truncated})

    async def log_page(self, name, since, until, after, limit):
        b = await self.bandits.get(name)
        _check_range(since, until)
        try:
            page = await self.caller("log", name, since=since, until=until, after=after,
                                     limit=limit)
        except ValueError as err:
            raise ApiError(422, str(err), "after") from None
        if any(r["arm_index"] >= b.spec.n_arms for r in page.rows):
            b = await self.bandits.refresh(name)
        return JSONResponse({"bandit": name, "rows": [log_row(r, b.spec) for r in page.rows],
                             "next_after": page.next_after})


def _reward_rule(spec):
    return ("must be 0 or 1 (this bandit counts conversions: 1 converted, 0 did not)"
            if spec.binary else "must be a number in [0, 1]")


def _check_range(since, until):
    """``until`` before ``since`` is refused (409: each fits the schema, not together): a
    swapped range would otherwise answer an empty page that looks like no traffic. An empty
    range is asked with ``since == until``."""
    if since is not None and until is not None and until < since:
        raise ApiError(409, f"until == {until!r} is before since == {since!r}, must be at "
                            "least since (the range is [since, until)).", "until")


def log_row(row, spec) -> dict:
    """A stored log row with arm names (the API's and the export's row)."""
    el = row["eligible"]
    return {"decision_id": row["decision_id"], "bandit": row["bandit"], "time": row["time"],
            "arm": spec.arms[row["arm_index"]], "arm_index": row["arm_index"],
            "propensity": row["propensity"],
            "eligible": None if el is None else [spec.arms[k] for k in el],
            "context": row["context"], "reward": row["reward"],
            "reward_time": row["reward_time"]}


def _float_or_none(x):
    x = float(x)
    return None if math.isnan(x) else x


def stats_body(state, b, level) -> dict:
    spec = b.spec
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
    return {"bandit": b.name, "kind": spec.kind, "status": b.status, "level": level,
            "now": time.time(), "decisions": total, "rewards": int(state.rewards.sum()),
            "arms": arms}


# -- the routes ---------------------------------------------------------------------------
NameParam = Path(..., pattern=NAME_PATTERN, description="the bandit's name")
Since = Query(None, ge=0, le=1e11, allow_inf_nan=False,
              description="Unix time (seconds, UTC): from this time on (inclusive; the "
                          "timeline includes the bucket holding it)")
Until = Query(None, ge=0, le=1e11, allow_inf_nan=False,
              description="Unix time (seconds, UTC): before this time; at least since "
                          "(409 otherwise)")


def _body(schema_ref, required):
    return {"requestBody": {"required": required, "content": {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}}}


def bandit_router(default: str | None) -> APIRouter:
    """The bandit routes; the single-bandit ones answer for ``default`` (if given)."""
    r = APIRouter()

    def svc(request) -> Service:
        return request.app.state.service

    named = "/bandits/{name}"

    @r.post(named + "/decision", response_model=DecisionResponse, tags=["bandits"],
            responses=_errors(404, 409, 413, 422), openapi_extra=_body("DecisionRequest", False),
            summary="Choose an arm (Thompson sampling) and log the decision")
    async def decision_named(request: Request, name: str = NameParam):
        return await svc(request).decide(name, await request.body())

    @r.post(named + "/reward", response_model=RewardResponse, tags=["bandits"],
            responses=_errors(404, 409, 413, 422), openapi_extra=_body("RewardRequest", True),
            summary="Record the reward of a decision, once")
    async def reward_named(request: Request, name: str = NameParam):
        return await svc(request).reward(name, await request.body())

    @r.get(named + "/stats", response_model=StatsResponse, tags=["bandits"],
           responses=_errors(404, 422), summary="Per arm: traffic, conversion, posterior")
    async def stats_named(request: Request, name: str = NameParam):
        return await svc(request).stats(name)

    @r.get(named + "/timeline", response_model=TimelineResponse, tags=["bandits"],
           responses=_errors(404, 409, 422), summary="Decisions and rewards per time bucket")
    async def timeline_named(request: Request, name: str = NameParam, since: float | None = Since,
                             until: float | None = Until,
                             limit: int = Query(1000, ge=1, le=MAX_TIMELINE,
                                                description="at most this many buckets (the "
                                                            "latest)")):
        return await svc(request).timeline(name, since, until, limit)

    @r.get(named + "/log", response_model=LogResponse, tags=["bandits"],
           responses=_errors(404, 409, 422),
           summary="The decision log: arm, propensity, context, reward (paged by time)")
    async def log_named(request: Request, name: str = NameParam, since: float | None = Since,
                        until: float | None = Until,
                        after: str | None = Query(None, max_length=80,
                                                  pattern=r"^-?[0-9]{1,20}(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?,[0-9a-f]{32}$",
                                                  description="next_after of the previous page"),
                        limit: int = Query(1000, ge=1, le=MAX_LOG)):
        return await svc(request).log_page(name, since, until, after, limit)

    if default is None:
        return r

    @r.post("/decision", response_model=DecisionResponse, tags=["default bandit"],
            responses=_errors(404, 409, 413, 422),
            openapi_extra=_body("DefaultDecisionRequest", False),
            summary=f"Choose an arm of the default bandit ({default!r})")
    async def decision(request: Request):
        return await svc(request).decide(default, await request.body())

    @r.post("/reward", response_model=RewardResponse, tags=["default bandit"],
            responses=_errors(404, 409, 413, 422),
            openapi_extra=_body("DefaultRewardRequest", True),
            summary="Record the reward of a decision of the default bandit, once")
    async def reward(request: Request):
        return await svc(request).reward(default, await request.body())

    @r.get("/stats", response_model=StatsResponse, tags=["default bandit"],
           responses=_errors(404), summary="Stats of the default bandit")
    async def stats(request: Request):
        return await svc(request).stats(default)

    @r.get("/timeline", response_model=TimelineResponse, tags=["default bandit"],
           responses=_errors(404, 409, 422), summary="Timeline of the default bandit")
    async def timeline(request: Request, since: float | None = Since,
                       until: float | None = Until,
                       limit: int = Query(1000, ge=1, le=MAX_TIMELINE)):
        return await svc(request).timeline(default, since, until, limit)

    return r


__all__ += ["log_row", "stats_body"]
