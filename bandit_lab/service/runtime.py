"""What one service instance knows and does between HTTP and the store.

* :class:`StoreCaller` makes every store call the right way (on the event loop for SQLite,
  handed to a thread when the file is locked by someone else; as ``redis.asyncio``
  coroutines for Redis) and turns an unreachable store into a 503 with ``Retry-After``.
* :class:`Bandits` caches each bandit's spec, status and generation; a decision reads the
  generation with the state, so an arm added or a bandit retired by another instance is
  noticed at the next decision.
* :class:`Decider` draws the Thompson-sampling choice and its exact propensity.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np
from starlette.concurrency import run_in_threadpool

from ..scores import argmax_random
from .errors import ApiError
from .stores import (BanditInfo, StoreBusy, StoreError, StoreGone, UnknownBandit,
                     check_bandit_name)

__all__ = ["StoreCaller", "Bandits", "Decider", "PROPENSITY_MODES"]

log = logging.getLogger("bandit_lab.service")

#: How decisions get their logged propensity: exactly (1-D integration, the default),
#: by Monte Carlo (250,000 draws: standard error <= 1e-3), or not at all.
PROPENSITY_MODES = ("exact", "monte-carlo", "off")
RETRY_AFTER = "1"


def _outage_types():
    import sqlite3

    types = [sqlite3.Error, OSError, TimeoutError, ConnectionError]
    try:
        import redis

        types.append(redis.RedisError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(types)


class StoreCaller:
    """Calls store methods from handlers: ``await caller("read", name)``."""

    def __init__(self, store, mode, metrics=None):
        self.store = store
        self.mode = mode
        self.kind = type(store).__name__.removesuffix("Store").lower()
        self.metrics = metrics
        self._outages = _outage_types()
        self._nonblocking = getattr(store, "nonblocking", None)

    async def __call__(self, method, *args, **kwargs):
        try:
            return await self._call(method, args, kwargs)
        except StoreGone as err:  # the file is gone: retrying soon will not help
            if self.metrics is not None:
                self.metrics.store_errors.labels(self.kind, method).inc()
            log.error("store %s unusable in %s: %s", self.kind, method, err)
            raise ApiError(503, str(err), headers={"Retry-After": "60"}) from None
        except (StoreError, ApiError, ValueError, TypeError, LookupError):
            raise
        except self._outages as err:
            if self.metrics is not None:
                self.metrics.store_errors.labels(self.kind, method).inc()
            log.warning("store %s unavailable in %s: %s", self.kind, method, err)
            raise ApiError(503, f"the {self.kind} store does not answer ({type(err).__name__}); "
                                "try again shortly.", headers={"Retry-After": RETRY_AFTER}
                           ) from None

    async def _call(self, method, args, kwargs):
        if self.mode == "async":
            coro = getattr(self.store, "a" + method, None)
            if coro is not None:
                return await coro(*args, **kwargs)
            return await run_in_threadpool(getattr(self.store, method), *args, **kwargs)
        fn = getattr(self.store, method)
        if self.mode == "inline":
            if self._nonblocking is None:
                return fn(*args, **kwargs)
            try:
                with self._nonblocking():
                    return fn(*args, **kwargs)
            except StoreBusy:  # locked elsewhere: wait for it in a thread, not on the loop
                pass
        return await run_in_threadpool(fn, *args, **kwargs)


@dataclass
class Bandit:
    """One bandit as this instance last saw it."""

    name: str
    spec: object
    status: str
    generation: int
    created_at: float

    @classmethod
    def from_info(cls, info: BanditInfo):
        return cls(info.name, info.spec, info.status, info.generation, info.created_at)


class Bandits:
    """The bandits this instance serves, read from the store on first use."""

    def __init__(self, caller: StoreCaller, default=None):
        self.caller = caller
        self.default = default
        self._cache: dict = {}

    def known(self):
        return dict(self._cache)

    async def get(self, name) -> Bandit:
        b = self._cache.get(name)
        if b is None:
            b = await self.refresh(name)
        return b

    async def refresh(self, name) -> Bandit:
        try:
            check_bandit_name(name)
        except ValueError as err:
            raise ApiError(422, str(err), "name") from None
        info = await self.caller("info", name)
        if info is None:
            self._cache.pop(name, None)
            raise ApiError(404, f"bandit {name!r} does not exist; the admin API creates "
                                "bandits (POST /admin/bandits).", "name")
        return self.put(info)

    def put(self, info: BanditInfo) -> Bandit:
        b = Bandit.from_info(info)
        self._cache[info.name] = b
        if self.caller.metrics is not None:
            self.caller.metrics.track(b.name, b.spec.arms)
        return b


class Decider:
    """Thompson-sampling draws from one seeded stream, and the propensity of each choice."""

    def __init__(self, rng, propensity="exact", cache_size=256):
        if propensity not in PROPENSITY_MODES:
            raise ValueError(f"propensity == {propensity!r}, must be one of "
                             f"{list(PROPENSITY_MODES)}.")
        self.rng = rng
        self.propensity = propensity
        self._lock = threading.Lock()  # a numpy Generator is not safe to share between threads
        self._cache: dict = {}
        self._cache_size = cache_size

    def eligible(self, spec, arms):
        """Names -> boolean mask (None: every arm); a 409 naming the unknown arm."""
        if arms is None:
            return None
        mask = np.zeros(spec.n_arms, dtype=bool)
        for i, a in enumerate(arms):
            try:
                mask[spec.arm_index(a, f"arms[{i}]")] = True
            except (TypeError, ValueError) as err:
                raise ApiError(409, str(err), f"arms[{i}]") from None
        return mask

    def choose(self, spec, vectors, context, mask):
        with self._lock:
            scores = spec.scores(vectors, context, self.rng)
            if mask is not None:
                scores = np.where(mask, scores, -np.inf)
            return int(argmax_random(scores, self.rng))

    def probability(self, spec, vectors, context, mask, arm) -> float | None:
        if self.propensity == "off":
            return None
        if self.propensity == "monte-carlo":
            with self._lock:
                p, _ = spec.propensities_monte_carlo(vectors, context, mask, rng=self.rng)
            return float(p[arm])
        key = None
        if context is None:  # a Beta bandit: the same state gives the same probabilities
            key = (id(spec), vectors.tobytes(), None if mask is None else mask.tobytes())
            p = self._cache.get(key)
            if p is not None:
                return float(p[arm])
        p = spec.propensities(vectors, context, mask)
        if key is not None:
            if len(self._cache) >= self._cache_size:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = p
        return float(p[arm])


async def read_for_decision(caller, bandits, name):
    """``(bandit, vectors)``: the state and a bandit whose spec matches it."""
    b = await bandits.get(name)
    for _attempt in range(3):
        try:
            vectors, gen = await caller("read_vectors", name, with_generation=True)
        except UnknownBandit:
            b = await bandits.refresh(name)  # dropped meanwhile: 404 from refresh
            continue
        if gen == b.generation and vectors.shape[0] == b.spec.n_arms:
            return b, vectors
        b = await bandits.refresh(name)  # another instance changed it: learn the new spec
    raise ApiError(503, f"bandit {name!r} kept changing while a decision was made; try again.",
                   headers={"Retry-After": RETRY_AFTER})
