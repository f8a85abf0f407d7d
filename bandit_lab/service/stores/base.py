"""What every store keeps and promises: the interface, its errors and its records.

Both stores (:mod:`.sqlite`, :mod:`.redis`) keep the same things for every named bandit
and follow the same rules (the source article's store broke the first four):

1. **The prior is stored with the first write**, separately from the state it starts:
   :meth:`Store.create` writes the spec, every arm's prior and the state (prior plus
   nothing yet) in one atomic step. Nothing ever reads "missing" as zero, and a state
   that disappeared (a Redis key evicted or deleted) is reported as
   :class:`StateMissing`, never silently created again.
2. **Updates are atomic increments** inside the store (SQLite ``value = value + ?`` in one
   write transaction; Redis Lua scripts of ``HINCRBYFLOAT``): several instances never
   overwrite each other's updates.
3. **Rewards are keyed by decision.** :meth:`Store.record_decision` stores the chosen arm,
   its propensity, the context and the eligible arms under a random id;
   :meth:`Store.record_reward` counts a reward only if that decision exists, is younger
   than its ``ttl`` and has no reward yet. A retry is recognised and counted once.
4. **State is JSON and numbers, never pickle.**
5. **Nothing grows without bound.** Decisions are kept for the log for ``retention``
   seconds (at least their ``ttl``), timeline buckets for ``timeline_retention``
   seconds; :meth:`Store.purge` deletes what is older, in small batches, and every
   service instance calls it at start and then every few minutes, so retention does not
   depend on one process living long.
6. **Every instance sees the same bandits.** A bandit's spec, its status (active or
   retired) and a *generation* number live in the store; adding an arm or retiring the
   bandit bumps the generation, which every decision reads with the state, so another
   instance notices at its next decision.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import numpy as np

from ..models import _short

__all__ = [
    "Store", "ArmState", "Timeline", "RewardResult", "BanditInfo", "LogPage",
    "StoreError", "UnknownBandit", "SpecMismatch", "UnknownDecision", "RewardConflict",
    "ArmMismatch", "StateMissing", "BanditRetired", "StoreBusy", "StoreGone", "check_bandit_name",
    "check_decision_id", "new_decision_id", "DEFAULT_RETENTION", "DEFAULT_TIMELINE_RETENTION",
    "LOG_COLUMNS",
]

#: Seconds a decision stays in the log (7 days); never less than its ttl.
DEFAULT_RETENTION = 7 * 86_400.0
#: Seconds a timeline bucket is kept (31 days).
DEFAULT_TIMELINE_RETENTION = 31 * 86_400.0

#: The columns of the decision log (``GET /bandits/{name}/log``, ``bandit-lab export-log``);
#: a linear bandit's log adds ``x0 .. x{d-1}``. See :mod:`bandit_lab.service.decision_log`.
LOG_COLUMNS = ("decision_id", "bandit", "time", "arm", "arm_index", "propensity", "eligible",
               "reward", "reward_time")


class StoreError(Exception):
    """Base of the errors a store raises about the data it was given or holds."""


class UnknownBandit(StoreError, LookupError):
    pass


class SpecMismatch(StoreError, ValueError):
    pass


class UnknownDecision(StoreError, LookupError):
    pass


class RewardConflict(StoreError, ValueError):
    pass


class ArmMismatch(StoreError, ValueError):
    pass


class BanditRetired(StoreError):
    """The bandit was retired: it makes no new decisions (its log and stats stay)."""


class StateMissing(StoreError):
    """The bandit's spec is stored but its state is gone (a Redis key evicted or deleted):
    the store refuses to recreate it, which would silently drop the prior and the data."""


class StoreGone(StoreError):
    """The store's file was deleted or replaced while in use: what is written would be lost,
    so nothing is (the service answers 503 until it is restarted on the restored file)."""


class StoreBusy(Exception):
    """A call asked not to wait (``nonblocking``) found the store locked by someone else."""


@dataclass
class ArmState:
    """Everything stored about a bandit's arms, read in one go.

    ``vectors`` has shape ``(n_arms, spec.width)`` (Beta: ``alpha``, ``beta``);
    ``decisions``, ``rewards`` and ``reward_sums`` count per arm; ``last_reward_at`` is a
    Unix time per arm (NaN before the first reward).
    """

    vectors: np.ndarray
    decisions: np.ndarray
    rewards: np.ndarray
    reward_sums: np.ndarray
    last_reward_at: np.ndarray


@dataclass
class Timeline:
    """Traffic per time bucket: ``starts`` (Unix times, shape ``(B,)``) and per-arm counts
    of shape ``(B, n_arms)``: ``decisions``, ``rewards``, ``reward_sums``. ``truncated``:
    more buckets were in the range than the ``limit`` (the latest ones are returned)."""

    bucket_seconds: float
    starts: np.ndarray
    decisions: np.ndarray
    rewards: np.ndarray
    reward_sums: np.ndarray
    truncated: bool = False


@dataclass(frozen=True)
class RewardResult:
    decision_id: str
    arm: int
    reward: float
    duplicate: bool


@dataclass
class BanditInfo:
    """What the store holds about one bandit besides its numbers."""

    name: str
    spec: object
    status: str            # "active" or "retired"
    created_at: float
    generation: int

    def to_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "created_at": self.created_at,
                "generation": self.generation, "description": self.spec.describe(),
                "config": self.spec.to_config()}


@dataclass
class LogPage:
    """One page of the decision log: ``rows`` (dicts with :data:`LOG_COLUMNS` and
    ``context``), ordered by time then id; ``next_after`` is the cursor of the next page
    (None on the last one)."""

    rows: list = field(default_factory=list)
    next_after: str | None = None


def new_decision_id() -> str:
    """128 random bits as 32 hex characters (an identifier, not a statistical draw)."""
    return secrets.token_hex(16)


def check_bandit_name(name) -> str:
    """A bandit's name: 1 to 64 characters among letters, digits, ``_``, ``-`` and ``.``
    (it appears in URLs and store keys)."""
    if not isinstance(name, str) or not 0 < len(name) <= 64 or not name.isascii() or \
            not all(c.isalnum() or c in "_-." for c in name):
        raise ValueError(f"name == {_short(name)}, must be 1 to 64 characters among letters, "
                         "digits, '_', '-' and '.'.")
    return name


def check_decision_id(decision_id) -> str:
    """A decision id as :func:`new_decision_id` makes them: 32 lowercase hex digits. Anything
    else is refused before it reaches a store."""
    if not isinstance(decision_id, str) or len(decision_id) != 32 or \
            any(c not in "0123456789abcdef" for c in decision_id):
        raise ValueError(f"decision_id == {_short(decision_id, 40)}, must be the 32 hex "
                         "digits POST /decision returned.")
    return decision_id


def _check_ttl(ttl) -> float:
    ttl = float(ttl)
    if not (ttl > 0 and np.isfinite(ttl)):
        raise ValueError(f"ttl == {ttl!r}, must be a finite number of seconds > 0.")
    return ttl


def parse_cursor(after):
    """``"time,decision_id"`` (a log page's ``next_after``) -> ``(time, id)``."""
    if after is None:
        return None
    try:
        t, did = after.split(",")
        return float(t), check_decision_id(did)
    except (ValueError, AttributeError):
        raise ValueError(f"after == {_short(after, 40)}, must be the next_after of a previous "
                         "log page.") from None


def make_cursor(row) -> str:
    return f"{row['time']!r},{row['decision_id']}"


def timeline_from_rows(spec, rows, truncated=False) -> Timeline:
    """Rows of ``(bucket, arm, decisions, rewards, reward_sum)`` -> :class:`Timeline`."""
    buckets = sorted({r[0] for r in rows})
    index = {b: j for j, b in enumerate(buckets)}
    shape = (len(buckets), spec.n_arms)
    dec, rew, sums = np.zeros(shape, np.int64), np.zeros(shape, np.int64), np.zeros(shape)
    for bucket, arm, d, r, s in rows:
        if arm >= spec.n_arms:
            continue
        j = index[bucket]
        dec[j, arm] += d
        rew[j, arm] += r
        sums[j, arm] += s
    starts = np.array(buckets, dtype=float) * spec.bucket_seconds
    return Timeline(spec.bucket_seconds, starts, dec, rew, sums, truncated)


class Store:
    """The interface both stores implement (see the module docstring for the rules)."""

    url: str
    #: How the service should call this store: "inline" (short local calls, run on the
    #: event loop, handed to a thread only when the store is busy), "async" (coroutine
    #: methods ``aread_vectors``, ``arecord_decision``, ``arecord_reward``) or "threads".
    store_calls = "threads"
    #: Seconds a decision stays in the log, and a timeline bucket in the timeline.
    retention = DEFAULT_RETENTION
    timeline_retention = DEFAULT_TIMELINE_RETENTION

    # -- bandits -----------------------------------------------------------------------
    def create(self, name, spec):
        """Store ``spec``, its prior and its state if ``name`` is new; return the stored spec.

        If ``name`` exists, the stored spec is returned when it equals ``spec``, extends it
        (arms were added since), or ``spec`` is None; a different ``spec`` raises
        :class:`SpecMismatch`, because changing a bandit's arms or prior under its data
        would corrupt it.
        """
        raise NotImplementedError

    def info(self, name) -> BanditInfo | None:
        """Spec, status and generation of ``name`` (read from the store), or None."""
        raise NotImplementedError

    def spec(self, name):
        """The stored spec of ``name``, or None."""
        info = self.info(name)
        return None if info is None else info.spec

    def bandits(self) -> list:
        """Every bandit in the store, as :class:`BanditInfo`, sorted by name."""
        raise NotImplementedError

    def add_arm(self, name, arm, **prior) -> BanditInfo:
        """Add an arm (with its own prior: ``alpha0``/``beta0`` or ``prior_var``) to a
        stored bandit, atomically; decisions in flight are unaffected."""
        raise NotImplementedError

    def retire(self, name) -> BanditInfo:
        """Mark ``name`` retired: no new decisions; pending rewards, stats and log stay."""
        raise NotImplementedError

    def generation(self, name) -> int:
        raise NotImplementedError

    # -- numbers -----------------------------------------------------------------------
    def read(self, name) -> ArmState:
        """All arms' numbers and counts, in one read."""
        raise NotImplementedError

    def read_vectors(self, name, *, with_generation=False):
        """Just the posterior numbers, shape ``(n_arms, width)``: what a decision needs
        (with the bandit's generation if asked: ``(vectors, generation)``)."""
        raise NotImplementedError

    def read_arm(self, name, arm) -> np.ndarray:
        """One arm's numbers (one store round trip per arm, as the source article did)."""
        raise NotImplementedError

    def prior(self, name) -> np.ndarray:
        """The stored prior, shape ``(n_arms, width)``."""
        raise NotImplementedError

    # -- decisions and rewards ---------------------------------------------------------
    def record_decision(self, name, arm, *, context=None, ttl=3600.0, propensity=None,
                        eligible=None) -> str:
        """Count a decision for ``arm`` and log it (with the probability it had,
        ``propensity``, and the indices of the ``eligible`` arms when restricted); it
        accepts its reward for ``ttl`` seconds. Returns its id."""
        raise NotImplementedError

    def record_reward(self, name, decision_id, reward, *, arm=None) -> RewardResult:
        """Add ``reward`` for the decision ``decision_id``, once.

        Raises :class:`UnknownDecision` if the id is unknown or expired,
        :class:`RewardConflict` if it already has a *different* reward and
        :class:`ArmMismatch` if ``arm`` is given and is not the decision's arm; in each case
        nothing is written. A repeat of the same reward returns ``duplicate=True`` and
        changes nothing.
        """
        raise NotImplementedError

    def decision(self, name, decision_id):
        """The stored decision as a dict (``arm``, ``context``, ``reward``, ``created_at``,
        ``propensity``, ``eligible``), or None if unknown or expired."""
        raise NotImplementedError

    def log(self, name, *, since=None, until=None, after=None, limit=1000) -> LogPage:
        """Decisions made in ``[since, until)`` (Unix times), oldest first, at most
        ``limit``, continuing after the cursor ``after``."""
        raise NotImplementedError

    def timeline(self, name, *, since=None, until=None, limit=None) -> Timeline:
        """Buckets that overlap ``[since, until)`` (the one holding ``since`` included; none
        when ``until <= since``); at most ``limit`` (the latest)."""
        raise NotImplementedError

    def purge(self, now=None) -> dict:
        """Delete decisions older than ``retention`` and buckets older than
        ``timeline_retention``; returns how many of each went."""
        raise NotImplementedError

    def drop(self, name) -> None:
        """Delete everything stored about ``name`` (for tests and notebooks)."""
        raise NotImplementedError

    def ping(self) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        pass

    # -- shared helpers --------------------------------------------------------------
    def _stored_spec(self, name):
        spec = self._specs.get(name)
        if spec is None:
            spec = self.spec(name)
            if spec is None:
                raise UnknownBandit(f"bandit {name!r} is not in this store; create it first.")
            self._specs[name] = spec
        return spec

    def _accept(self, name, stored, wanted):
        """The spec to serve when ``wanted`` meets ``stored``: refused unless equal, or
        ``stored`` grew from ``wanted`` by added arms."""
        if wanted is None or stored.extends(wanted):
            return stored
        raise SpecMismatch(
            f"bandit {name!r} is stored with {_short(stored.to_config(), 150)}, not "
            f"{_short(wanted.to_config(), 150)}; use the stored spec, another bandit name, or "
            "drop the old one.")

    @staticmethod
    def _check_retention(ttl):
        return _check_ttl(ttl)

    def _new_arm_spec(self, spec, arm, prior):
        from ..models import BetaSpec

        allowed = ("alpha0", "beta0") if isinstance(spec, BetaSpec) else ("prior_var",)
        extra = sorted(set(prior) - set(allowed))
        if extra:
            raise ValueError(f"{extra[0]} is not a prior of a {spec.kind} arm, must be one of "
                             f"{list(allowed)}.")
        if arm in spec.arms:
            raise SpecMismatch(f"arm {_short(arm)} is already an arm of bandit; arm names are "
                               "unique.")
        return spec.with_arm(arm, **{k: v for k, v in prior.items() if v is not None})

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"{type(self).__name__}({self.url!r})"
