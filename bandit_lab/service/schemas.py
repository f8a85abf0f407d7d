"""The service's contract: typed request and response bodies.

Requests are validated against these models (then against the bandit: its arm names, its
context length, its reward set); responses are built to match them, and the schema at
``/openapi.json`` is generated from them. For the single-bandit routes (``/decision``,
``/reward``) the schema is that of the default bandit exactly (its arm names, its number
of features, its reward set): :func:`decision_schema` and :func:`reward_schema`.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from .linear_spec import MAX_CONTEXT, VAR_RANGE
from .models import MAX_ARM_NAME

#: Pattern of a bandit's name (it appears in URLs and store keys).
NAME_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"
#: Pattern of a decision id.
DECISION_ID_PATTERN = r"^[0-9a-f]{32}$"
ARM_PATTERN = r"^[^\u0000-\u001f\u007f]+$"
MAX_FEATURES = 256
MAX_ARMS = 100

def _json_int(value):
    """JSON Schema calls 3.0 an integer; Python's json reads it as a float."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def JsonInt(low, high):  # noqa: N802 (a type)
    """An integer in [low, high], as JSON Schema counts integers (3.0 included)."""
    return Annotated[int, Field(strict=True, ge=low, le=high), BeforeValidator(_json_int)]


ContextItem = Annotated[float, Field(strict=True, ge=-MAX_CONTEXT, le=MAX_CONTEXT,
                                     allow_inf_nan=False)]
ArmName = Annotated[str, Field(min_length=1, max_length=MAX_ARM_NAME, pattern=ARM_PATTERN,
                               description="an arm's name: 1 to 200 printable characters")]
BanditName = Annotated[str, Field(pattern=NAME_PATTERN,
                                  description="1 to 64 letters, digits, '_', '-' or '.'")]
Positive = Annotated[float, Field(strict=True, gt=0, le=1e9, allow_inf_nan=False)]
Variance = Annotated[float, Field(strict=True, ge=VAR_RANGE[0], le=VAR_RANGE[1],
                                  allow_inf_nan=False)]

ArmList = Annotated[list[ArmName], Field(min_length=1, max_length=MAX_ARMS,
                                         json_schema_extra={"uniqueItems": True})]
BucketSeconds = Annotated[float, Field(strict=True, ge=0.01, le=2_678_400, allow_inf_nan=False,
                                       description="width of the timeline's buckets")]

_FORBID = ConfigDict(extra="forbid")


class DecisionRequest(BaseModel):
    """A decision request. The body may be empty (a Beta bandit)."""

    model_config = _FORBID
    context: list[ContextItem] | None = Field(
        None, max_length=MAX_FEATURES,
        description="the customer's features, one number per feature (linear bandit only; "
                    "absent, null or [] for a Beta bandit)")
    arms: list[ArmName] | None = Field(
        None, min_length=1, max_length=MAX_ARMS,
        description="optional: choose among these arms only (the propensity is then over "
                    "them)")


class RewardRequest(BaseModel):
    """The reward of one decision."""

    model_config = _FORBID
    decision_id: str = Field(..., pattern=DECISION_ID_PATTERN,
                             description="the id POST /decision returned")
    reward: Annotated[float, Field(strict=True, ge=0, le=1, allow_inf_nan=False)] = Field(
        ..., description="0 or 1 (or any number in [0, 1] if the bandit accepts fractions)")
    arm: ArmName | JsonInt(0, MAX_ARMS) | None = Field(
        None, description="optional: the arm the decision chose (name or index), checked")


class DecisionResponse(BaseModel):
    decision_id: str = Field(..., description="send it back with the reward")
    bandit: str
    arm: str = Field(..., description="the chosen arm's name")
    arm_index: int
    propensity: float | None = Field(
        ..., description="the probability with which the policy chose this arm, given the "
                         "eligible arms (null when propensity logging is off)")
    expires_in: float = Field(..., description="seconds the decision accepts its reward")


class RewardResponse(BaseModel):
    status: Literal["recorded", "duplicate"]
    decision_id: str
    bandit: str
    arm: str
    reward: float
    duplicate: bool = Field(..., description="true when this reward had been recorded before "
                                             "(a retry): it was counted once")


class ArmStats(BaseModel):
    name: str
    index: int
    decisions: int
    share: float | None
    rewards: int
    reward_sum: float
    conversion: float | None
    conversion_low: float
    conversion_high: float
    last_reward_at: float | None
    alpha: float | None = Field(None, description="Beta bandit: posterior alpha")
    beta: float | None = Field(None, description="Beta bandit: posterior beta")
    mean: float | None = Field(None, description="Beta bandit: posterior mean")
    low: float | None = None
    high: float | None = None
    weights_mean: list[float] | None = Field(None, description="linear bandit")
    weights_sd: list[float] | None = None


class StatsResponse(BaseModel):
    bandit: str
    kind: Literal["beta", "linear"]
    status: Literal["active", "retired"]
    level: float
    now: float
    decisions: int
    rewards: int
    arms: list[ArmStats]


class TimelineResponse(BaseModel):
    bandit: str
    arms: list[str]
    bucket_seconds: float
    starts: list[float] = Field(..., description="Unix time at which each bucket starts")
    decisions: list[list[int]] = Field(..., description="per bucket, per arm")
    rewards: list[list[int]]
    reward_sums: list[list[float]]
    truncated: bool = Field(..., description="more buckets were in the range than `limit`: "
                                             "the latest ones are returned")


class LogRow(BaseModel):
    decision_id: str
    bandit: str
    time: float = Field(..., description="when the decision was made: Unix time (UTC) in "
                                         "seconds")
    arm: str
    arm_index: int
    propensity: float | None = Field(..., description="P(the policy chooses this arm), over "
                                                      "the eligible arms")
    eligible: list[str] | None = Field(..., description="the arms the decision was restricted "
                                                        "to; null: all arms")
    context: list[float] | None = Field(..., description="linear bandit: the features")
    reward: float | None = Field(..., description="null until the reward comes")
    reward_time: float | None = Field(..., description="Unix time of the reward")


class LogResponse(BaseModel):
    bandit: str
    rows: list[LogRow]
    next_after: str | None = Field(..., description="pass as `after` for the next page; null "
                                                    "on the last one")


class HealthResponse(BaseModel):
    status: Literal["ok"]
    version: str
    uptime: float


class ReadyResponse(BaseModel):
    status: Literal["ready"]
    store: str
    bandits: list[str] = Field(..., description="the active bandits, each able to decide")


class BetaCreate(BaseModel):
    model_config = _FORBID
    name: BanditName
    kind: Literal["beta"]
    arms: ArmList
    alpha0: Positive = 1.0
    beta0: Positive = 1.0
    binary: StrictBool = True
    bucket_seconds: BucketSeconds = 60.0


class LinearCreate(BaseModel):
    model_config = _FORBID
    name: BanditName
    kind: Literal["linear"]
    arms: ArmList
    n_features: JsonInt(1, 64)
    prior_var: Variance = 1.0
    noise_var: Variance = 0.1
    binary: StrictBool = True
    bucket_seconds: BucketSeconds = 60.0
    feature_names: list[ArmName] | None = Field(None, max_length=MAX_FEATURES)


BanditCreate = Annotated[BetaCreate | LinearCreate, Field(discriminator="kind")]


class ArmCreate(BaseModel):
    """An arm added to a running bandit, with its own prior (default: the bandit's)."""

    model_config = _FORBID
    name: ArmName
    alpha0: Positive | None = Field(None, description="Beta bandit")
    beta0: Positive | None = Field(None, description="Beta bandit")
    prior_var: Variance | None = Field(None, description="linear bandit")


class BanditDescription(BaseModel):
    name: str
    status: Literal["active", "retired"]
    kind: Literal["beta", "linear"]
    arms: list[str]
    created_at: float
    generation: int = Field(..., description="bumped by every change (arm added, retired)")
    description: str
    config: dict = Field(..., description="the stored spec, as JSON")


class BanditList(BaseModel):
    bandits: list[BanditDescription]


# -- the single-bandit routes: the default bandit's exact schema ------------------------
def _arms_schema(spec):
    return {"anyOf": [{"type": "array", "items": {"type": "string", "enum": list(spec.arms)},
                       "minItems": 1, "maxItems": MAX_ARMS}, {"type": "null"}],
            "description": "optional: choose among these arms only"}


def decision_schema(spec) -> dict:
    """The JSON schema of ``POST /decision`` for the default bandit ``spec``."""
    if spec.kind == "linear":
        d = spec.n_features
        context = {"type": "array", "minItems": d, "maxItems": d,
                   "items": {"type": "number", "minimum": -MAX_CONTEXT, "maximum": MAX_CONTEXT},
                   "description": f"the customer's {d} features"
                                  + (f": {', '.join(spec.feature_names)}"
                                     if spec.feature_names else "")}
        required = ["context"]
    else:
        context = {"anyOf": [{"type": "array", "maxItems": 0}, {"type": "null"}],
                   "description": "a Beta bandit takes no context"}
        required = []
    return {"type": "object", "title": "DecisionRequest", "additionalProperties": False,
            "properties": {"context": context, "arms": _arms_schema(spec)},
            "required": required}


def reward_schema(spec) -> dict:
    """The JSON schema of ``POST /reward`` for the default bandit ``spec``."""
    reward = ({"type": "number", "enum": [0, 1], "description": "1 converted, 0 did not"}
              if spec.binary else {"type": "number", "minimum": 0, "maximum": 1})
    arm = {"anyOf": [{"type": "string", "enum": list(spec.arms)},
                     {"type": "integer", "minimum": 0, "maximum": spec.n_arms - 1},
                     {"type": "null"}],
           "description": "optional: the arm the decision chose, checked"}
    return {"type": "object", "title": "RewardRequest", "additionalProperties": False,
            "properties": {"decision_id": {"type": "string", "pattern": DECISION_ID_PATTERN},
                           "reward": reward, "arm": arm},
            "required": ["decision_id", "reward"]}
