"""The shared store: a Redis server that several service instances use at once. The rules
it follows are in :mod:`.base`.

Keys of bandit ``NAME`` (prefix ``bandit-lab``; every key of one bandit shares the hash tag
``{NAME}``, so each script touches one cluster slot):

    {NAME}:meta     hash: config (JSON spec), status, created
    {NAME}:prior    hash: v<arm>.<i> -- the prior, kept apart from the state
    {NAME}:state    hash: gen, k (number of arms: the state exists), v<arm>.<i>,
                    n<arm> decisions, r<arm> rewards, s<arm> reward sum, t<arm> last reward
    {NAME}:d:<id>   hash: one decision (arm, ctx, created, exp, p, el, reward, rtime),
                    expiring after max(ttl, retention)
    {NAME}:log      sorted set: decision ids by time (the log's index)
    {NAME}:tb       sorted set of bucket numbers; {NAME}:t:<bucket> hash of counts per arm,
                    expiring after ``timeline_retention``
    bandits         set of the bandits' names

Every change of the state runs in a Lua script that first checks that the state exists
(field ``k``): if the key was evicted or deleted, the script refuses and the store raises
:class:`~.base.StateMissing` rather than recreating a state without its prior. Run Redis
with ``maxmemory-policy noeviction`` and ``appendonly yes``.
"""
from __future__ import annotations

import json
import time

import numpy as np

from ..models import _short, spec_from_config
from .base import (ArmMismatch, ArmState, BanditInfo, RewardConflict, RewardResult,
                   SpecMismatch, StateMissing, Store, UnknownBandit, UnknownDecision, _check_ttl,
                   check_bandit_name, new_decision_id, DEFAULT_RETENTION, DEFAULT_TIMELINE_RETENTION)

__all__ = ["RedisStore"]

from .redis_reads import _RedisReads
from .redis_scripts import DECISION_FIELDS as _DECISION_FIELDS, LUA as _LUA, client_options as _client_options


class RedisStore(_RedisReads, Store):
    """The shared store: a Redis server that several service instances use at once.

    All the numbers of a bandit live in one hash and change only through ``HINCRBY`` /
    ``HINCRBYFLOAT`` inside Lua scripts, which Redis runs atomically. Redis keeps data in
    memory: run the server with ``appendonly yes`` (and ``appendfsync always`` to keep
    every acknowledged write through a crash of Redis itself) and ``maxmemory-policy
    noeviction``. A decision costs about 300 bytes of Redis memory for ``retention``.

    Parameters
    ----------
    url : str, default "redis://127.0.0.1:6379/0"
    namespace : str, default "bandit-lab"
        Prefix of every key.
    retention, timeline_retention : float
        Seconds decisions stay in the log and buckets in the timeline.

    The decision and reward paths also exist as coroutines (``aread_vectors``,
    ``arecord_decision``, ``arecord_reward``) on ``redis.asyncio``, which the service
    awaits on its event loop: many requests wait for Redis at once, none blocks the loop.
    """

    store_calls = "async"

    def __init__(self, url="redis://127.0.0.1:6379/0", *, namespace="bandit-lab",
                 retention=DEFAULT_RETENTION, timeline_retention=DEFAULT_TIMELINE_RETENTION):
        import redis

        self.url = url
        self.namespace = namespace
        self.retention = _check_ttl(retention)
        self.timeline_retention = _check_ttl(timeline_retention)
        self._r = redis.Redis.from_url(url, **_client_options())
        self._scripts = {k: self._r.register_script(v) for k, v in _LUA.items()}
        self._async = None  # (event loop, client, scripts), made on first async call
        self._specs: dict = {}
        self._fields: dict = {}

    # -- one logic, two drivers ----------------------------------------------------------
    # The decision and reward paths are generators that *yield* Redis commands and receive
    # their results; _run_sync executes them with the blocking client (thread pool, tests,
    # notebooks), _run_async with redis.asyncio on the service's event loop. A command is
    # ("hmget", key, fields), ("exists", key) or ("script", name, keys, args).
    def _run_sync(self, steps):
        try:
            command = next(steps)
            while True:
                if command[0] == "hmget":
                    result = self._r.hmget(command[1], command[2])
                elif command[0] == "exists":
                    result = self._r.exists(command[1])
                else:
                    result = self._scripts[command[1]](keys=command[2], args=command[3])
                command = steps.send(result)
        except StopIteration as done:
            return done.value

    async def _run_async(self, steps):
        import asyncio

        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop:  # clients belong to one loop
            import redis.asyncio

            client = redis.asyncio.Redis.from_url(self.url, **_client_options())
            self._async = (loop, client, {k: client.register_script(v) for k, v in _LUA.items()})
        _, client, scripts = self._async
        try:
            command = next(steps)
            while True:
                if command[0] == "hmget":
                    result = await client.hmget(command[1], command[2])
                elif command[0] == "exists":
                    result = await client.exists(command[1])
                else:
                    result = await scripts[command[1]](keys=command[2], args=command[3])
                command = steps.send(result)
        except StopIteration as done:
            return done.value

    def _key(self, name, part):
        return f"{self.namespace}:{{{name}}}:{part}"

    def _vector_fields(self, name, spec, arm=None):
        key = (name, spec.n_arms, arm)
        if key not in self._fields:
            arms = range(spec.n_arms) if arm is None else [arm]
            self._fields[key] = [f"v{k}.{i}" for k in arms for i in range(spec.width)]
        return self._fields[key]

    @staticmethod
    def _prior_fields(prior, first_arm=0):
        fields = []
        for k in range(prior.shape[0]):
            for i in range(prior.shape[1]):
                fields += [f"v{first_arm + k}.{i}", repr(float(prior[k, i]))]
        return fields

    def _missing(self, name):
        if self._r.exists(self._key(name, "meta")):
            return StateMissing(f"the state of bandit {name!r} is missing from Redis (evicted or "
                                "deleted); it is not recreated without its data. Restore it, "
                                "or reset the bandit.")
        return UnknownBandit(f"bandit {name!r} is not in this store.")

    # -- bandits ---------------------------------------------------------------------
    def create(self, name, spec):
        name = check_bandit_name(name)
        if spec is None:
            stored = self.spec(name)
            if stored is None:
                raise UnknownBandit(f"bandit {name!r} is not in this store and no spec was "
                                    "given to create it.")
            return stored
        existing = self._scripts["create"](
            keys=[self._key(name, "meta"), self._key(name, "prior"), self._key(name, "state")],
            args=[json.dumps(spec.to_config()), repr(time.time()), spec.n_arms,
                  *self._prior_fields(spec.prior())])
        if existing == -1:
            raise self._no_spec(name)
        self._r.sadd(f"{self.namespace}:bandits", name)
        stored = spec if existing is None else self._accept(
            name, spec_from_config(json.loads(existing)), spec)
        self._specs[name] = stored
        return stored

    @staticmethod
    def _no_spec(name):
        return StateMissing(f"the spec of bandit {name!r} is missing from Redis but its state "
                            "is there (a key deleted by hand?); the state is not overwritten. "
                            "Restore the key, or reset the bandit.")

    def _info(self, name, meta, gen):
        if not meta or "config" not in meta:
            if gen is not None:  # a state without its spec: half a bandit, never served
                raise self._no_spec(name)
            return None
        spec = spec_from_config(json.loads(meta["config"]))
        self._specs[name] = spec
        return BanditInfo(name, spec, meta.get("status", "active"),
                          float(meta.get("created", "nan")), int(gen) if gen else -1)

    def info(self, name):
        with self._r.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._key(name, "meta"))
            pipe.hget(self._key(name, "state"), "gen")
            meta, gen = pipe.execute()
        return self._info(name, meta, gen)

    def bandits(self):
        names = sorted(self._r.smembers(f"{self.namespace}:bandits"))
        with self._r.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(self._key(name, "meta"))
                pipe.hget(self._key(name, "state"), "gen")
            out = pipe.execute()
        infos = [self._info(n, out[2 * j], out[2 * j + 1]) for j, n in enumerate(names)]
        return [i for i in infos if i is not None]

    def add_arm(self, name, arm, **prior):
        for _attempt in range(10):  # another instance changed the config meanwhile: again
            info = self.info(name)
            if info is None:
                raise UnknownBandit(f"bandit {name!r} is not in this store.")
            new = self._new_arm_spec(info.spec, arm, prior)
            done = self._scripts["add_arm"](
                keys=[self._key(name, "meta"), self._key(name, "prior"),
                      self._key(name, "state")],
                args=[json.dumps(info.spec.to_config()), json.dumps(new.to_config()),
                      new.n_arms, *self._prior_fields(new.prior()[-1:], new.n_arms - 1)])
            if done == -1:
                raise self._missing(name)
            if done == 1:
                self._specs[name] = new
                return BanditInfo(name, new, info.status, info.created_at, info.generation + 1)
        raise SpecMismatch(f"bandit {name!r} kept changing while an arm was added (other "
                           "instances adding arms); try again.")

    def retire(self, name):
        if not self._scripts["retire"](keys=[self._key(name, "meta"), self._key(name, "state")]):
            raise UnknownBandit(f"bandit {name!r} is not in this store.")
        return self.info(name)

    def generation(self, name):
        gen = self._r.hget(self._key(name, "state"), "gen")
        if gen is None:
            raise self._missing(name)
        return int(gen)

    # -- numbers -----------------------------------------------------------------------
    def _read_vectors_steps(self, name, with_generation):
        spec = self._stored_spec(name)
        values = yield ("hmget", self._key(name, "state"),
                        ["gen", *self._vector_fields(name, spec)])
        if values[0] is None:
            meta = yield ("exists", self._key(name, "meta"))
            if meta:
                raise self._missing(name)
            raise UnknownBandit(f"bandit {name!r} is not in this store.")
        vectors = np.array(values[1:], dtype=float).reshape(spec.n_arms, spec.width)
        return (vectors, int(values[0])) if with_generation else vectors

    def read_vectors(self, name, *, with_generation=False):
        return self._run_sync(self._read_vectors_steps(name, with_generation))

    async def aread_vectors(self, name, *, with_generation=False):
        """:meth:`read_vectors` on the running event loop (redis.asyncio)."""
        return await self._run_async(self._read_vectors_steps(name, with_generation))

    def read_arm(self, name, arm):
        spec = self._stored_spec(name)
        values = self._r.hmget(self._key(name, "state"), self._vector_fields(name, spec, int(arm)))
        return np.array(values, dtype=float)

    def prior(self, name):
        spec = self._stored_spec(name)
        values = self._r.hmget(self._key(name, "prior"), self._vector_fields(name, spec))
        return np.array(values, dtype=float).reshape(spec.n_arms, spec.width)

    def read(self, name):
        spec = self._stored_spec(name)
        h = self._r.hgetall(self._key(name, "state"))
        if "k" not in h:
            raise self._missing(name)
        k_range = range(spec.n_arms)
        vectors = np.array([float(h[f]) for f in self._vector_fields(name, spec)])
        return ArmState(
            vectors=vectors.reshape(spec.n_arms, spec.width),
            decisions=np.array([int(h[f"n{k}"]) for k in k_range], dtype=np.int64),
            rewards=np.array([int(h[f"r{k}"]) for k in k_range], dtype=np.int64),
            reward_sums=np.array([float(h[f"s{k}"]) for k in k_range]),
            last_reward_at=np.array([float(h.get(f"t{k}", "nan")) for k in k_range]))

    # -- decisions and rewards ---------------------------------------------------------
    def _keep_ms(self, seconds):
        return max(1, int(round(seconds * 1000)))

    def _decision_steps(self, name, arm, context, ttl, propensity, eligible):
        spec = self._stored_spec(name)
        arm = spec.arm_index(arm)
        ttl = _check_ttl(ttl)
        did = new_decision_id()
        now = time.time()
        bucket = int(now // spec.bucket_seconds)
        ctx = "" if context is None else json.dumps(np.asarray(context, float).tolist())
        el = "" if eligible is None else json.dumps([int(k) for k in eligible])
        ok = yield ("script", "decide",
                    [self._key(name, "state"), self._key(name, "d:" + did),
                     self._key(name, "log"), self._key(name, "tb"),
                     self._key(name, f"t:{bucket}")],
                    [arm, ctx, "", repr(ttl),
                     self._keep_ms(max(ttl, self.retention)), bucket,
                     "" if propensity is None else repr(float(propensity)), el, did,
                     self._keep_ms(self.timeline_retention + spec.bucket_seconds)])
        if not ok:
            raise self._missing_async_safe(name)
        return did

    def _missing_async_safe(self, name):
        return StateMissing(f"the state of bandit {name!r} is missing from Redis (evicted or "
                            "deleted); it is not recreated without its data. Restore it, or "
                            "reset the bandit.")

    def record_decision(self, name, arm, *, context=None, ttl=3600.0, propensity=None,
                        eligible=None):
        return self._run_sync(self._decision_steps(name, arm, context, ttl, propensity, eligible))

    async def arecord_decision(self, name, arm, *, context=None, ttl=3600.0, propensity=None,
                               eligible=None):
        """:meth:`record_decision` on the running event loop (redis.asyncio)."""
        return await self._run_async(self._decision_steps(name, arm, context, ttl, propensity,
                                                          eligible))

    def _reward_steps(self, name, decision_id, reward, arm):
        spec = self._stored_spec(name)
        reward = spec.check_reward(reward)
        expected = None if arm is None else spec.arm_index(arm)
        if not isinstance(decision_id, str) or not decision_id.isascii() or \
                not decision_id.isalnum():
            raise UnknownDecision("decision_id is unknown or has expired.")
        unknown = UnknownDecision(f"decision_id == {decision_id[:40]!r} is unknown or has "
                                  "expired.")
        dkey = self._key(name, "d:" + decision_id)
        stored = yield ("hmget", dkey, ["arm", "ctx", "reward", "exp"])
        now = time.time()
        if stored[0] is None or float(stored[3]) <= now:
            raise unknown
        d_arm = int(stored[0])
        if d_arm >= spec.n_arms:  # an arm another instance added: learn of it
            spec = self.info(name).spec
        if expected is not None and expected != d_arm:
            raise ArmMismatch(f"arm == {_short(spec.arms[expected])}, but decision {decision_id!r} "
                              f"chose {_short(spec.arms[d_arm])}.")
        if stored[2] is not None:
            return self._repeat(decision_id, d_arm, reward, float(stored[2]))
        inc = spec.increment(json.loads(stored[1]) if stored[1] else None, reward)
        bucket = int(now // spec.bucket_seconds)
        args = [repr(reward), d_arm, repr(now), bucket,
                self._keep_ms(self.timeline_retention + spec.bucket_seconds)]
        for i, v in enumerate(inc):
            if v != 0.0:
                args += [i, repr(float(v))]
        out = yield ("script", "reward", [dkey, self._key(name, "state"), self._key(name, "tb"),
                                          self._key(name, f"t:{bucket}")], args)
        if out[0] == 0:
            raise unknown
        if out[0] == 2:  # another request recorded it between our read and the script
            return self._repeat(decision_id, d_arm, reward, float(out[1]))
        if out[0] == 4:
            raise self._missing_async_safe(name)
        return RewardResult(decision_id, d_arm, reward, False)

    def record_reward(self, name, decision_id, reward, *, arm=None):
        return self._run_sync(self._reward_steps(name, decision_id, reward, arm))

    async def arecord_reward(self, name, decision_id, reward, *, arm=None):
        """:meth:`record_reward` on the running event loop (redis.asyncio)."""
        return await self._run_async(self._reward_steps(name, decision_id, reward, arm))

    @staticmethod
    def _repeat(decision_id, arm, reward, stored):
        if stored == reward:
            return RewardResult(decision_id, arm, reward, True)
        raise RewardConflict(f"reward == {reward!r}, but decision {decision_id!r} already has "
                             f"reward {stored!r}; a decision gets one reward.")

    @staticmethod
    def _decision_dict(values):
        arm, ctx, created, exp, p, el, reward, rtime = values
        return {"arm": int(arm), "context": json.loads(ctx) if ctx else None,
                "reward": float(reward) if reward is not None else None,
                "created_at": float(created), "expires_at": float(exp),
                "propensity": float(p) if p else None,
                "eligible": json.loads(el) if el else None,
                "reward_at": float(rtime) if rtime else None}

    def decision(self, name, decision_id):
        if not isinstance(decision_id, str) or not decision_id.isascii():
            return None
        values = self._r.hmget(self._key(name, "d:" + decision_id), _DECISION_FIELDS)
        if values[0] is None or float(values[3]) <= time.time():
            return None
        d = self._decision_dict(values)
        d.pop("expires_at")
        d.pop("reward_at")
        return d

    def drop(self, name):
        keys = [self._key(name, p) for p in ("meta", "prior", "state", "log", "tb")]
        keys += list(self._r.scan_iter(match=self._key(name, "d:*"), count=1000))
        keys += list(self._r.scan_iter(match=self._key(name, "t:*"), count=1000))
        self._r.delete(*keys)
        self._r.srem(f"{self.namespace}:bandits", name)
        self._specs.pop(name, None)

    def ping(self):
        return bool(self._r.ping())

    async def aping(self):
        """:meth:`ping` on the running event loop."""
        import asyncio

        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop:
            return await asyncio.to_thread(self.ping)
        return bool(await self._async[1].ping())

    async def aclose(self):
        """Close the async client (call it on the event loop that used it)."""
        import asyncio

        if self._async is not None and self._async[0] is asyncio.get_running_loop():
            await self._async[1].aclose()
        self._async = None

    def close(self):
        self._r.close()
