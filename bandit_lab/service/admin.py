"""The admin API: create, list, describe and retire bandits; add arms to a running one.

Everything it changes lives in the store, so every instance sharing the store sees it
(another instance learns of a change at its next decision: the bandit's generation
number moved). When the service has API keys, these routes need a key of scope ``admin``.
"""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError

from .errors import ApiError, parse_json, validation_error
from .models import BetaSpec, LinearSpec
from .routes import NameParam, _body, _errors
from .schemas import MAX_ARMS, ArmCreate, BanditCreate, BanditDescription, BanditList
from .stores import SpecMismatch

__all__ = ["admin_router", "describe", "spec_from_request"]

_CREATE = TypeAdapter(BanditCreate)
#: The most numbers (arms x (d*d + d)) a linear bandit made by the admin API may keep.
MAX_NUMBERS = 50_000


def describe(info) -> dict:
    spec = info.spec
    return {"name": info.name, "status": info.status, "kind": spec.kind,
            "arms": list(spec.arms), "created_at": info.created_at,
            "generation": info.generation, "description": spec.describe(),
            "config": spec.to_config()}


def spec_from_request(req):
    """A spec from a validated :class:`BetaCreate` or :class:`LinearCreate`."""
    if req.kind == "beta":
        return BetaSpec(tuple(req.arms), alpha0=req.alpha0, beta0=req.beta0, binary=req.binary,
                        bucket_seconds=req.bucket_seconds)
    return LinearSpec(tuple(req.arms), n_features=req.n_features, prior_var=req.prior_var,
                      noise_var=req.noise_var, binary=req.binary,
                      bucket_seconds=req.bucket_seconds,
                      feature_names=None if req.feature_names is None else
                      tuple(req.feature_names))


def admin_router() -> APIRouter:
    r = APIRouter(prefix="/admin", tags=["admin"])

    def svc(request):
        return request.app.state.service

    @r.get("/bandits", response_model=BanditList, responses=_errors(401, 403),
           summary="Every bandit in the store")
    async def list_bandits(request: Request):
        s = svc(request)
        infos = await s.caller("bandits")
        for info in infos:
            s.bandits.put(info)
        return JSONResponse({"bandits": [describe(i) for i in infos]})

    @r.post("/bandits", response_model=BanditDescription, status_code=201,
            responses={200: {"model": BanditDescription,
                             "description": "The bandit existed with this spec already"},
                       **_errors(401, 403, 409, 413, 422)},
            openapi_extra=_body("BanditCreate", True),
            summary="Create a bandit (its prior is stored with it)")
    async def create(request: Request):
        s = svc(request)
        data = parse_json(await request.body(), required=True)
        try:
            req = _CREATE.validate_python(data)
        except ValidationError as err:
            raise validation_error(err) from None
        try:
            spec = spec_from_request(req)
        except (TypeError, ValueError) as err:
            raise ApiError(409 if "feature_names" in str(err) else 422, str(err),
                           "feature_names" if "feature_names" in str(err) else "arms") from None
        if spec.kind == "linear" and spec.n_arms * spec.width > MAX_NUMBERS:
            raise ApiError(409, f"a linear bandit of {spec.n_arms} arms and {spec.n_features} "
                                f"features keeps {spec.n_arms * spec.width} numbers, more than "
                                f"the admin API creates ({MAX_NUMBERS}); use fewer arms or "
                                "features, or the config file.", "n_features")
        existed = await s.caller("info", req.name)
        try:
            await s.caller("create", req.name, spec)
        except SpecMismatch as err:
            raise ApiError(409, str(err), "name") from None
        info = await s.caller("info", req.name)
        s.bandits.put(info)
        return JSONResponse(describe(info), status_code=200 if existed is not None else 201)

    @r.get("/bandits/{name}", response_model=BanditDescription, responses=_errors(401, 403, 404,
                                                                                 422),
           summary="One bandit: spec, status, generation")
    async def describe_one(request: Request, name: str = NameParam):
        s = svc(request)
        b = await s.bandits.refresh(name)
        info = await s.caller("info", b.name)
        return JSONResponse(describe(info))

    @r.post("/bandits/{name}/arms", response_model=BanditDescription,
            responses=_errors(401, 403, 404, 409, 413, 422), openapi_extra=_body("ArmCreate", True),
            summary="Add an arm, with its own prior, to a running bandit")
    async def add_arm(request: Request, name: str = NameParam):
        s = svc(request)
        b = await s.bandits.refresh(name)
        data = parse_json(await request.body(), required=True)
        try:
            req = ArmCreate.model_validate(data)
        except ValidationError as err:
            raise validation_error(err, {"name": "must be 1 to 200 printable characters"}) \
                from None
        prior = {k: v for k, v in (("alpha0", req.alpha0), ("beta0", req.beta0),
                                   ("prior_var", req.prior_var)) if v is not None}
        wrong = [k for k in prior if (k == "prior_var") != (b.spec.kind == "linear")]
        if wrong:
            raise ApiError(409, f"{wrong[0]} is not a prior of an arm of a {b.spec.kind} bandit, "
                                "must be " + ("prior_var" if b.spec.kind == "linear" else
                                              "alpha0 and/or beta0") + ".", wrong[0])
        if req.name in b.spec.arms:
            raise ApiError(409, f"arm {req.name[:60]!r} is already an arm of bandit {name!r}.",
                           "name")
        if b.spec.n_arms >= MAX_ARMS:  # what a decision's "arms" and a reward's "arm" reach
            raise ApiError(409, f"bandit {name!r} has {b.spec.n_arms} arms, the most a bandit "
                                f"takes ({MAX_ARMS}); retire it and create another.", "name")
        numbers = (b.spec.n_arms + 1) * b.spec.width
        if b.spec.kind == "linear" and numbers > MAX_NUMBERS:
            raise ApiError(409, f"another arm would make bandit {name!r} keep {numbers} numbers, "
                                f"more than the admin API allows ({MAX_NUMBERS}).", "name")
        try:
            info = await s.caller("add_arm", name, req.name, **prior)
        except SpecMismatch as err:
            raise ApiError(409, str(err), "name") from None
        except ValueError as err:
            raise ApiError(422, str(err), "name") from None
        s.bandits.put(info)
        return JSONResponse(describe(info))

    @r.post("/bandits/{name}/retire", response_model=BanditDescription,
            responses=_errors(401, 403, 404, 409, 422),
            summary="Retire a bandit: no new decisions; rewards, stats and log remain")
    async def retire(request: Request, name: str = NameParam):
        s = svc(request)
        await s.bandits.refresh(name)
        if name == request.app.state.name:
            raise ApiError(409, f"bandit {name!r} is the default bandit of this service (its "
                                "/decision route serves it); serve another default, then retire "
                                "it.", "name")
        info = await s.caller("retire", name)
        s.bandits.put(info)
        return JSONResponse(describe(info))

    return r
