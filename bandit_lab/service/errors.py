"""One error body for every refusal, and one sentence for every mistake.

Every 4xx and 5xx the service sends has the body ``{"status": 422, "message": "...",
"field": "reward"}``: the HTTP status again, one sentence that names the field, quotes at
most a short prefix of what was sent and says what is allowed, and the field (a dotted
path such as ``"context[3]"``; null when the whole request is at fault). A store that
cannot be reached answers 503 with a ``Retry-After`` header.
"""
from __future__ import annotations

import json
import logging

from pydantic import BaseModel, Field, ValidationError

from .linear_spec import MAX_CONTEXT, VAR_RANGE
from .models import _short

__all__ = ["ApiError", "ErrorBody", "error_response", "sentence", "parse_json", "ALLOWED",
           "validation_error"]

log = logging.getLogger("bandit_lab.service")


class ErrorBody(BaseModel):
    """What every refusal carries."""

    status: int = Field(..., description="the HTTP status, repeated", examples=[422])
    message: str = Field(..., description="one sentence: the field, what was sent (a short "
                                          "prefix) and what is allowed",
                         examples=["reward == 5, must be 0 or 1 (this bandit counts "
                                   "conversions: 1 converted, 0 did not)."])
    field: str | None = Field(None, description="the field at fault, as a dotted path "
                                                "(e.g. context[3]); null for the whole request")


class ApiError(Exception):
    """A refusal: raised anywhere in a handler, answered with :class:`ErrorBody`."""

    def __init__(self, status, message, field=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = headers or {}


def error_response(status, message, field=None, headers=None):
    from starlette.responses import JSONResponse

    return JSONResponse({"status": status, "message": message, "field": field},
                        status_code=status, headers=headers)


#: What each field accepts, for the messages (keyed by the field's last name).
ALLOWED = {
    "decision_id": "must be the 32 hex digits POST /decision returned",
    "reward": "must be a number in [0, 1]",
    "arm": "must be an arm name (1 to 200 printable characters) or an arm index (integer >= 0)",
    "arms": "must be a non-empty list of arm names",
    "arm_name": "must be 1 to 200 printable characters (no control characters)",
    "context": "must be a list of finite numbers (one per feature)",
    "context_item": f"must be a finite number in [-{MAX_CONTEXT:g}, {MAX_CONTEXT:g}]",
    "prior_var": f"must be a number in [{VAR_RANGE[0]:g}, {VAR_RANGE[1]:g}]",
    "noise_var": f"must be a number in [{VAR_RANGE[0]:g}, {VAR_RANGE[1]:g}]",
    "name": "must be 1 to 64 characters among letters, digits, '_', '-' and '.'",
    "kind": "must be 'beta' or 'linear'",
    "since": "must be a Unix time in seconds",
    "until": "must be a Unix time in seconds",
    "limit": "must be an integer in the range the API documents",
    "after": "must be the next_after of a previous log page",
    "format": "must be 'json' or 'csv'",
    "level": "must be a number strictly between 0 and 1",
}

_FIELDS = {"context", "arms", "decision_id", "reward", "arm", "name", "kind", "alpha0", "beta0",
           "binary", "bucket_seconds", "n_features", "prior_var", "noise_var", "feature_names",
           "since", "until", "limit", "after"}

_JSON_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean",
               "NoneType": "null", "list": "array", "dict": "object"}


def _path(loc) -> str:
    out = ""
    for part in loc:
        if part in ("body", "query", "path", "header"):
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in _FIELDS:  # a union member's tag, e.g. 'constrained-str' or 'beta'
            continue
        else:
            out += ("." if out else "") + str(part)
    return out


def sentence(err, allowed=None) -> tuple[str, str | None]:
    """``(message, field)`` for one pydantic error dict."""
    allowed = {**ALLOWED, **(allowed or {})}
    kind = err.get("type", "")
    loc = err.get("loc", ())
    field = _path(loc) or None
    if kind == "missing":
        return f"field {field!r} is missing, it is required.", field
    if kind in ("union_tag_invalid", "union_tag_not_found"):  # the discriminator: kind
        if kind == "union_tag_not_found":
            return f"field 'kind' is missing, it is required ({allowed['kind']}).", "kind"
        tag = _short(err.get("ctx", {}).get("tag"), 40)
        return f"kind == {tag}, {allowed['kind']}.", "kind"
    if kind == "extra_forbidden":
        field = _path(loc[:-1]) + ("." if _path(loc[:-1]) else "") + str(loc[-1])
        return (f"field {_short(field, 40)} is not allowed; the body takes only the fields the "
                "API documents (see /docs).", field)
    if not field:
        return "the body must be a JSON object (see /docs for its fields).", None
    names = [p for p in loc if p in _FIELDS]
    key = names[-1] if names else field
    if key == "arms" and loc and isinstance(loc[-1], int):
        key = "arm_name"
    if key == "context" and loc and isinstance(loc[-1], int):
        key = "context_item"
    if kind == "enum" or kind == "literal_error":
        expected = err.get("ctx", {}).get("expected")
        rule = f"must be one of {_short(expected, 120)}" if expected else allowed.get(key)
    else:
        rule = allowed.get(key, "is not valid: " + str(err.get("msg", "")).lower())
    value = err.get("input")
    if kind.endswith("_type") or kind in ("string_unicode",):
        got = _JSON_TYPES.get(type(value).__name__, type(value).__name__)
        if kind == "string_unicode":
            return f"{field} holds a lone surrogate or bytes that are not text, {rule}.", field
        return f"{field} == {_short(value)} is of type {got}, {rule}.", field
    if kind == "finite_number":
        return f"{field} == {_short(value)}, must be a finite number.", field
    if kind in ("too_short", "too_long") and isinstance(value, list):
        return f"{field} has {len(value)} entries, {rule}.", field
    return f"{field} == {_short(value)}, {rule}.", field


def validation_error(exc: ValidationError | list, allowed=None) -> ApiError:
    errors = exc.errors() if hasattr(exc, "errors") else exc
    message, field = sentence(errors[0], allowed)
    return ApiError(422, message, field)


def _no_constants(name):
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes, *, required: bool):
    """The JSON object in ``body``, or an :class:`ApiError` 422 that says what is wrong."""
    if not body.strip():
        if required:
            raise ApiError(422, "the body is missing, must be a JSON object (see /docs for its "
                                "fields).")
        return {}
    try:
        data = json.loads(body, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise ApiError(422, "the body is not valid JSON (UTF-8, no NaN or Infinity), must be "
                            "a JSON object sent with Content-Type: application/json.") from None
    if not isinstance(data, dict):
        got = _JSON_TYPES.get(type(data).__name__, type(data).__name__)
        raise ApiError(422, f"the body is a JSON {got}, must be a JSON object (see /docs for "
                            "its fields).")
    return data
