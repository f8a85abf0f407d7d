"""Where a served bandit keeps its state: SQLite (embedded, the default) or Redis (shared).

Taught in notebooks/10_serving_a_bandit.ipynb.

Both stores keep the same things for a named bandit, and both follow four rules the source
article's store broke:

1. **The prior is stored with the first write.** :meth:`Store.create` writes the spec and
   every arm's starting vector (the prior) in one atomic step; a second instance starting
   later finds them and keeps them. Nothing ever reads "missing" as zero.
2. **Updates are atomic increments.** A reward *adds* its increment to its arm's numbers
   inside the store (SQLite ``value = value + ?`` in one write transaction; a Redis Lua
   script of ``HINCRBYFLOAT``). No instance reads the whole state, changes it and writes it
   back, so several instances never overwrite each other's updates.
3. **Rewards are keyed by decision.** :meth:`Store.record_decision` stores the chosen arm
   (and context) under a random id with an expiry; :meth:`Store.record_reward` counts a
   reward only if that decision exists, has not expired and has no reward yet. A retried
   reward is recognised and counted once; a reward for an unknown or expired decision is
   refused.
4. **State is JSON and numbers, never pickle**, so it survives upgrades of Python, NumPy
   and this package.

Open a store with :func:`open_store` and a URL: ``sqlite:///path/to/file.sqlite3`` or
``redis://127.0.0.1:6379/0``.

Examples
--------
>>> import tempfile, os
>>> from bandit_lab.service.models import BetaSpec
>>> store = open_store("sqlite:///" + os.path.join(tempfile.mkdtemp(), "doc.sqlite3"))
>>> _ = store.create("offers", BetaSpec(["a", "b"], alpha0=2.0, beta0=40.0))
>>> store.read("offers").vectors.tolist()
[[2.0, 40.0], [2.0, 40.0]]
>>> did = store.record_decision("offers", 1, ttl=60)
>>> store.record_reward("offers", did, 1.0).duplicate
False
>>> store.record_reward("offers", did, 1.0).duplicate   # a retry: recognised, not counted
True
>>> store.read("offers").vectors.tolist()
[[2.0, 40.0], [3.0, 40.0]]
>>> store.close()
"""
from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .models import spec_from_config

__all__ = [
    "Store", "SQLiteStore", "RedisStore", "open_store", "DEFAULT_STORE_URL",
    "ArmState", "Timeline", "RewardResult",
    "StoreError", "UnknownBandit", "SpecMismatch", "UnknownDecision", "RewardConflict",
    "ArmMismatch",
]

#: Where the service keeps its state when nothing is configured.
DEFAULT_STORE_URL = "sqlite:///bandit-lab-state.sqlite3"


class StoreError(Exception):
    """Base of the errors a store raises about the data it was given."""


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
    of shape ``(B, n_arms)``: ``decisions``, ``rewards``, ``reward_sums``."""

    bucket_seconds: float
    starts: np.ndarray
    decisions: np.ndarray
    rewards: np.ndarray
    reward_sums: np.ndarray


@dataclass(frozen=True)
class RewardResult:
    decision_id: str
    arm: int
    reward: float
    duplicate: bool


def new_decision_id() -> str:
    """128 random bits as 32 hex characters (an identifier, not a statistical draw)."""
    return secrets.token_hex(16)


def _check_ttl(ttl) -> float:
    ttl = float(ttl)
    if not (ttl > 0 and np.isfinite(ttl)):
        raise ValueError(f"ttl == {ttl!r}, must be a finite number of seconds > 0.")
    return ttl


class Store:
    """The interface both stores implement (see the module docstring for the rules)."""

    url: str
    #: How the service should call this store: "inline" (short local calls, run on the
    #: event loop), "async" (the store has coroutine methods ``aread_vectors``,
    #: ``arecord_decision``, ``arecord_reward`` that wait without blocking the loop) or
    #: "threads" (blocking calls, run in the thread pool).
    store_calls = "threads"

    def create(self, name, spec):
        """Store ``spec`` and its prior if ``name`` is new; return the stored spec.

        If ``name`` exists, the stored spec is returned when it equals ``spec`` (or
        ``spec`` is None); a different ``spec`` raises :class:`SpecMismatch`, because
        changing a bandit's arms or prior under its data would corrupt it.
        """
        raise NotImplementedError

    def spec(self, name):
        """The stored spec of ``name``, or None."""
        raise NotImplementedError

    def read(self, name) -> ArmState:
        """All arms' numbers and counts, in one read."""
        raise NotImplementedError

    def read_vectors(self, name) -> np.ndarray:
        """Just the posterior numbers, shape ``(n_arms, width)``: what a decision needs."""
        raise NotImplementedError

    def read_arm(self, name, arm) -> np.ndarray:
        """One arm's numbers (one store round trip per arm, as the source article did)."""
        raise NotImplementedError

    def record_decision(self, name, arm, *, context=None, ttl=3600.0) -> str:
        """Count a decision for ``arm`` and remember it for ``ttl`` seconds; return its id."""
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
        """The stored decision as a dict (``arm``, ``context``, ``reward``, ``created_at``),
        or None if unknown or expired."""
        raise NotImplementedError

    def timeline(self, name) -> Timeline:
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

    @staticmethod
    def _mismatch(name, stored, wanted):
        return SpecMismatch(
            f"bandit {name!r} is stored with {stored.to_config()}, not {wanted.to_config()}; "
            "use the stored spec, another bandit name, or drop the old one.")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"{type(self).__name__}({self.url!r})"


# ----------------------------------------------------------------------------------------
# SQLite
# ----------------------------------------------------------------------------------------
_SCHEMA = """
CREATE TABLE IF NOT EXISTS bandits (
    name TEXT PRIMARY KEY, config TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS arms (
    bandit TEXT NOT NULL, arm INTEGER NOT NULL,
    decisions INTEGER NOT NULL DEFAULT 0, rewards INTEGER NOT NULL DEFAULT 0,
    reward_sum REAL NOT NULL DEFAULT 0, last_reward_at REAL,
    PRIMARY KEY (bandit, arm)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS params (
    bandit TEXT NOT NULL, arm INTEGER NOT NULL, i INTEGER NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (bandit, arm, i)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS decisions (
    id TEXT PRIMARY KEY, bandit TEXT NOT NULL, arm INTEGER NOT NULL, context TEXT,
    created_at REAL NOT NULL, expires_at REAL NOT NULL, reward REAL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS decisions_expiry ON decisions (expires_at);
CREATE TABLE IF NOT EXISTS traffic (
    bandit TEXT NOT NULL, bucket INTEGER NOT NULL, arm INTEGER NOT NULL,
    decisions INTEGER NOT NULL DEFAULT 0, rewards INTEGER NOT NULL DEFAULT 0,
    reward_sum REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (bandit, bucket, arm)) WITHOUT ROWID;
"""


class SQLiteStore(Store):
    """The embedded store: one SQLite file in WAL mode, shared safely by threads and by
    several processes on the same machine.

    Every write is one ``BEGIN IMMEDIATE`` transaction of increments. ``synchronous``
    is SQLite's durability setting: ``"NORMAL"`` (default) keeps every committed write
    through a crash or kill of the process; ``"FULL"`` also through a power cut, at the
    price of an fsync per write.

    Parameters
    ----------
    path : str or Path
        The database file (created if missing).
    timeout : float, default 30.0
        Seconds a writer waits for another process's write lock.
    synchronous : {"NORMAL", "FULL"}
    """

    store_calls = "inline"

    def __init__(self, path, *, timeout=30.0, synchronous="NORMAL"):
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous == {synchronous!r}, must be 'NORMAL' or 'FULL'.")
        self.path = str(path)
        if self.path == ":memory:" or self.path.startswith("file::memory:"):
            raise ValueError("path == ':memory:', must be a file: an in-memory database "
                             "cannot be shared by threads or processes.")
        self.url = "sqlite:///" + self.path
        self.timeout = float(timeout)
        self.synchronous = synchronous
        self._specs: dict = {}
        self._lock = threading.Lock()  # writers of this process queue here, not in SQLite
        self._local = threading.local()
        self._conns: list = []
        self._pid = os.getpid()
        self._n_decisions = 0
        conn = self._conn()
        with self._lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    # -- connections -----------------------------------------------------------------
    def _conn(self):
        if os.getpid() != self._pid:  # forked: never reuse the parent's connections
            self._local = threading.local()
            self._conns = []
            self._lock = threading.Lock()
            self._pid = os.getpid()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            self._local.conn = conn
            self._conns.append(conn)
        return conn

    @contextmanager
    def _write(self):
        conn = self._conn()
        with self._lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def _snapshot(self):
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    # -- bandits ---------------------------------------------------------------------
    def create(self, name, spec):
        name = _check_name(name)
        with self._write() as conn:
            row = conn.execute("SELECT config FROM bandits WHERE name = ?", (name,)).fetchone()
            if row is not None:
                stored = spec_from_config(json.loads(row[0]))
                if spec is not None and stored != spec:
                    raise self._mismatch(name, stored, spec)
            else:
                if spec is None:
                    raise UnknownBandit(f"bandit {name!r} is not in this store and no spec was "
                                        "given to create it.")
                stored = spec
                conn.execute("INSERT INTO bandits VALUES (?, ?, ?)",
                             (name, json.dumps(spec.to_config()), time.time()))
                conn.executemany("INSERT INTO arms (bandit, arm) VALUES (?, ?)",
                                 [(name, k) for k in range(spec.n_arms)])
                prior = spec.prior()
                conn.executemany("INSERT INTO params VALUES (?, ?, ?, ?)",
                                 [(name, k, i, float(prior[k, i]))
                                  for k in range(spec.n_arms) for i in range(spec.width)])
        self._specs[name] = stored
        return stored

    def spec(self, name):
        row = self._conn().execute("SELECT config FROM bandits WHERE name = ?",
                                   (name,)).fetchone()
        return None if row is None else spec_from_config(json.loads(row[0]))

    def _vectors(self, conn, name, spec, arm=None):
        if arm is None:
            rows = conn.execute("SELECT value FROM params WHERE bandit = ? ORDER BY arm, i",
                                (name,)).fetchall()
            return np.array(rows, dtype=float).reshape(spec.n_arms, spec.width)
        rows = conn.execute("SELECT value FROM params WHERE bandit = ? AND arm = ? ORDER BY i",
                            (name, arm)).fetchall()
        return np.array(rows, dtype=float).reshape(spec.width)

    def read_vectors(self, name):
        spec = self._stored_spec(name)
        return self._vectors(self._conn(), name, spec)

    def read_arm(self, name, arm):
        spec = self._stored_spec(name)
        return self._vectors(self._conn(), name, spec, int(arm))

    def read(self, name):
        spec = self._stored_spec(name)
        with self._snapshot() as conn:
            vectors = self._vectors(conn, name, spec)
            rows = conn.execute("SELECT decisions, rewards, reward_sum, last_reward_at FROM arms "
                                "WHERE bandit = ? ORDER BY arm", (name,)).fetchall()
        cols = list(zip(*rows))
        return ArmState(vectors=vectors,
                        decisions=np.array(cols[0], dtype=np.int64),
                        rewards=np.array(cols[1], dtype=np.int64),
                        reward_sums=np.array(cols[2], dtype=float),
                        last_reward_at=np.array([np.nan if t is None else t for t in cols[3]]))

    # -- decisions and rewards ---------------------------------------------------------
    def record_decision(self, name, arm, *, context=None, ttl=3600.0):
        spec = self._stored_spec(name)
        arm = spec.arm_index(arm)
        ttl = _check_ttl(ttl)
        did = new_decision_id()
        now = time.time()
        ctx = None if context is None else json.dumps(np.asarray(context, float).tolist())
        bucket = int(now // spec.bucket_seconds)
        with self._write() as conn:
            conn.execute("INSERT INTO decisions (id, bandit, arm, context, created_at, expires_at)"
                         " VALUES (?, ?, ?, ?, ?, ?)", (did, name, arm, ctx, now, now + ttl))
            conn.execute("UPDATE arms SET decisions = decisions + 1 WHERE bandit = ? AND arm = ?",
                         (name, arm))
            conn.execute("INSERT INTO traffic (bandit, bucket, arm, decisions) VALUES (?, ?, ?, 1)"
                         " ON CONFLICT (bandit, bucket, arm) DO UPDATE SET"
                         " decisions = decisions + 1", (name, bucket, arm))
            self._n_decisions += 1
            if self._n_decisions % 1000 == 0:  # forget expired decisions now and then
                conn.execute("DELETE FROM decisions WHERE expires_at < ?", (now,))
        return did

    def record_reward(self, name, decision_id, reward, *, arm=None):
        spec = self._stored_spec(name)
        reward = spec.check_reward(reward)
        expected = None if arm is None else spec.arm_index(arm)
        now = time.time()
        with self._write() as conn:
            row = conn.execute("SELECT arm, context, reward, expires_at FROM decisions "
                               "WHERE id = ? AND bandit = ?", (decision_id, name)).fetchone()
            if row is None or row[3] <= now:
                raise UnknownDecision(f"decision_id == {decision_id!r} is unknown or has expired.")
            d_arm, ctx, stored_reward, _ = row
            if expected is not None and expected != d_arm:
                raise ArmMismatch(f"arm == {spec.arms[expected]!r}, but decision {decision_id!r} "
                                  f"chose {spec.arms[d_arm]!r}.")
            if stored_reward is not None:
                if stored_reward == reward:
                    return RewardResult(decision_id, d_arm, reward, True)
                raise RewardConflict(f"reward == {reward!r}, but decision {decision_id!r} already "
                                     f"has reward {stored_reward!r}; a decision gets one reward.")
            inc = spec.increment(None if ctx is None else json.loads(ctx), reward)
            conn.execute("UPDATE decisions SET reward = ? WHERE id = ?", (reward, decision_id))
            conn.executemany("UPDATE params SET value = value + ? "
                             "WHERE bandit = ? AND arm = ? AND i = ?",
                             [(float(v), name, d_arm, i) for i, v in enumerate(inc) if v != 0.0])
            conn.execute("UPDATE arms SET rewards = rewards + 1, reward_sum = reward_sum + ?, "
                         "last_reward_at = max(coalesce(last_reward_at, 0), ?) "
                         "WHERE bandit = ? AND arm = ?", (reward, now, name, d_arm))
            conn.execute("INSERT INTO traffic (bandit, bucket, arm, rewards, reward_sum) "
                         "VALUES (?, ?, ?, 1, ?) ON CONFLICT (bandit, bucket, arm) DO UPDATE SET"
                         " rewards = rewards + 1, reward_sum = reward_sum + excluded.reward_sum",
                         (name, int(now // spec.bucket_seconds), d_arm, reward))
        return RewardResult(decision_id, d_arm, reward, False)

    def decision(self, name, decision_id):
        row = self._conn().execute(
            "SELECT arm, context, reward, created_at, expires_at FROM decisions "
            "WHERE id = ? AND bandit = ?", (decision_id, name)).fetchone()
        if row is None or row[4] <= time.time():
            return None
        return {"arm": row[0], "context": None if row[1] is None else json.loads(row[1]),
                "reward": row[2], "created_at": row[3]}

    def timeline(self, name):
        spec = self._stored_spec(name)
        rows = self._conn().execute(
            "SELECT bucket, arm, decisions, rewards, reward_sum FROM traffic WHERE bandit = ? "
            "ORDER BY bucket, arm", (name,)).fetchall()
        return _timeline(spec, rows)

    def drop(self, name):
        with self._write() as conn:
            for table, col in (("bandits", "name"), ("arms", "bandit"), ("params", "bandit"),
                               ("decisions", "bandit"), ("traffic", "bandit")):
                conn.execute(f"DELETE FROM {table} WHERE {col} = ?", (name,))
        self._specs.pop(name, None)

    def ping(self):
        return self._conn().execute("SELECT 1").fetchone() == (1,)

    def close(self):
        if os.getpid() == self._pid:
            for conn in self._conns:
                conn.close()
        self._conns = []
        self._local = threading.local()


def _timeline(spec, rows):
    buckets = sorted({r[0] for r in rows})
    index = {b: j for j, b in enumerate(buckets)}
    shape = (len(buckets), spec.n_arms)
    dec, rew, sums = np.zeros(shape, np.int64), np.zeros(shape, np.int64), np.zeros(shape)
    for bucket, arm, d, r, s in rows:
        j = index[bucket]
        dec[j, arm] += d
        rew[j, arm] += r
        sums[j, arm] += s
    starts = np.array(buckets, dtype=float) * spec.bucket_seconds
    return Timeline(spec.bucket_seconds, starts, dec, rew, sums)


def _check_name(name) -> str:
    if not isinstance(name, str) or not name or len(name) > 100 or any(c in name for c in "{}:"):
        raise ValueError(f"name == {name!r}, must be a non-empty string of at most 100 "
                         "characters without '{', '}' or ':'.")
    return name


# ----------------------------------------------------------------------------------------
# Redis
# ----------------------------------------------------------------------------------------
# Every script touches only the keys of one bandit, which share the hash tag {name}, so
# they also run on a Redis Cluster.
_LUA_CREATE = """
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1])
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return false
"""

_LUA_DECIDE = """
redis.call('HSET', KEYS[2], 'arm', ARGV[1], 'context', ARGV[2], 'created', ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('HINCRBY', KEYS[1], 'n' .. ARGV[1], 1)
redis.call('HINCRBY', KEYS[3], ARGV[5] .. ':' .. ARGV[1] .. ':n', 1)
return 1
"""

# KEYS: decision, state, traffic. ARGV: reward, arm, now, bucket, then (index, increment)*.
_LUA_REWARD = """
local d = redis.call('HMGET', KEYS[1], 'arm', 'reward')
if not d[1] then return {0} end
if d[2] then return {2, d[2]} end
if d[1] ~= ARGV[2] then return {3, d[1]} end
local arm = d[1]
redis.call('HSET', KEYS[1], 'reward', ARGV[1])
for i = 5, #ARGV, 2 do
    redis.call('HINCRBYFLOAT', KEYS[2], 'v' .. arm .. '.' .. ARGV[i], ARGV[i + 1])
end
redis.call('HINCRBY', KEYS[2], 'r' .. arm, 1)
redis.call('HINCRBYFLOAT', KEYS[2], 's' .. arm, ARGV[1])
local last = tonumber(redis.call('HGET', KEYS[2], 't' .. arm) or '0')
if tonumber(ARGV[3]) > last then redis.call('HSET', KEYS[2], 't' .. arm, ARGV[3]) end
redis.call('HINCRBY', KEYS[3], ARGV[4] .. ':' .. arm .. ':r', 1)
redis.call('HINCRBYFLOAT', KEYS[3], ARGV[4] .. ':' .. arm .. ':s', ARGV[1])
return {1}
"""

_LUA = {"create": _LUA_CREATE, "decide": _LUA_DECIDE, "reward": _LUA_REWARD}


class RedisStore(Store):
    """The shared store: a Redis server that several service instances use at once.

    All the numbers of a bandit live in one hash and change only through ``HINCRBY`` /
    ``HINCRBYFLOAT`` inside Lua scripts, which Redis runs atomically. Decisions are hashes
    with a Redis expiry (``PEXPIRE``). Redis keeps data in memory: run the server with
    ``appendonly yes`` so that a restart of Redis itself loses nothing.

    Parameters
    ----------
    url : str, default "redis://127.0.0.1:6379/0"
    namespace : str, default "bandit-lab"
        Prefix of every key.

    The decision and reward paths also exist as coroutines (``aread_vectors``,
    ``arecord_decision``, ``arecord_reward``) on ``redis.asyncio``, which the service
    awaits on its event loop: many requests wait for Redis at once, none blocks the loop.
    """

    store_calls = "async"

    def __init__(self, url="redis://127.0.0.1:6379/0", *, namespace="bandit-lab"):
        import redis

        self.url = url
        self.namespace = namespace
        self._r = redis.Redis.from_url(url, decode_responses=True)
        self._scripts = {k: self._r.register_script(v) for k, v in _LUA.items()}
        self._async = None  # (event loop, client, scripts), made on first async call
        self._specs: dict = {}
        self._fields: dict = {}

    # -- one logic, two drivers ----------------------------------------------------------
    # The decision and reward paths are generators that *yield* Redis commands and receive
    # their results; _run_sync executes them with the blocking client (thread pool, tests,
    # notebooks), _run_async with redis.asyncio on the service's event loop. A command is
    # ("hmget", key, fields) or ("script", name, keys, args).
    def _run_sync(self, steps):
        try:
            command = next(steps)
            while True:
                if command[0] == "hmget":
                    result = self._r.hmget(command[1], command[2])
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

            client = redis.asyncio.Redis.from_url(self.url, decode_responses=True)
            self._async = (loop, client, {k: client.register_script(v) for k, v in _LUA.items()})
        _, client, scripts = self._async
        try:
            command = next(steps)
            while True:
                if command[0] == "hmget":
                    result = await client.hmget(command[1], command[2])
                else:
                    result = await scripts[command[1]](keys=command[2], args=command[3])
                command = steps.send(result)
        except StopIteration as done:
            return done.value

    def _key(self, name, part):
        return f"{self.namespace}:{{{name}}}:{part}"

    def _vector_fields(self, name, spec, arm=None):
        key = (name, arm)
        if key not in self._fields:
            arms = range(spec.n_arms) if arm is None else [arm]
            self._fields[key] = [f"v{k}.{i}" for k in arms for i in range(spec.width)]
        return self._fields[key]

    def create(self, name, spec):
        name = _check_name(name)
        if spec is None:
            stored = self.spec(name)
            if stored is None:
                raise UnknownBandit(f"bandit {name!r} is not in this store and no spec was "
                                    "given to create it.")
            self._specs[name] = stored
            return stored
        prior = spec.prior()
        fields = []
        for k in range(spec.n_arms):
            for i in range(spec.width):
                fields += [f"v{k}.{i}", repr(float(prior[k, i]))]
            fields += [f"n{k}", "0", f"r{k}", "0", f"s{k}", "0"]
        existing = self._scripts["create"](keys=[self._key(name, "config"),
                                                 self._key(name, "state")],
                                           args=[json.dumps(spec.to_config()), *fields])
        if existing is not None:
            stored = spec_from_config(json.loads(existing))
            if stored != spec:
                raise self._mismatch(name, stored, spec)
        self._specs[name] = spec
        return spec

    def spec(self, name):
        text = self._r.get(self._key(name, "config"))
        return None if text is None else spec_from_config(json.loads(text))

    def _read_vectors_steps(self, name):
        spec = self._stored_spec(name)
        values = yield ("hmget", self._key(name, "state"), self._vector_fields(name, spec))
        return np.array(values, dtype=float).reshape(spec.n_arms, spec.width)

    def read_vectors(self, name):
        return self._run_sync(self._read_vectors_steps(name))

    async def aread_vectors(self, name):
        """:meth:`read_vectors` on the running event loop (redis.asyncio)."""
        return await self._run_async(self._read_vectors_steps(name))

    def read_arm(self, name, arm):
        spec = self._stored_spec(name)
        values = self._r.hmget(self._key(name, "state"), self._vector_fields(name, spec, int(arm)))
        return np.array(values, dtype=float)

    def read(self, name):
        spec = self._stored_spec(name)
        h = self._r.hgetall(self._key(name, "state"))
        k_range = range(spec.n_arms)
        vectors = np.array([float(h[f]) for f in self._vector_fields(name, spec)])
        return ArmState(
            vectors=vectors.reshape(spec.n_arms, spec.width),
            decisions=np.array([int(h[f"n{k}"]) for k in k_range], dtype=np.int64),
            rewards=np.array([int(h[f"r{k}"]) for k in k_range], dtype=np.int64),
            reward_sums=np.array([float(h[f"s{k}"]) for k in k_range]),
            last_reward_at=np.array([float(h.get(f"t{k}", "nan")) for k in k_range]))

    def _decision_steps(self, name, arm, context, ttl):
        spec = self._stored_spec(name)
        arm = spec.arm_index(arm)
        ttl_ms = max(1, int(round(_check_ttl(ttl) * 1000)))
        did = new_decision_id()
        now = time.time()
        ctx = "" if context is None else json.dumps(np.asarray(context, float).tolist())
        yield ("script", "decide", [self._key(name, "state"), self._key(name, "d:" + did),
                                    self._key(name, "traffic")],
               [arm, ctx, repr(now), ttl_ms, int(now // spec.bucket_seconds)])
        return did

    def record_decision(self, name, arm, *, context=None, ttl=3600.0):
        return self._run_sync(self._decision_steps(name, arm, context, ttl))

    async def arecord_decision(self, name, arm, *, context=None, ttl=3600.0):
        """:meth:`record_decision` on the running event loop (redis.asyncio)."""
        return await self._run_async(self._decision_steps(name, arm, context, ttl))

    def _reward_steps(self, name, decision_id, reward, arm):
        spec = self._stored_spec(name)
        reward = spec.check_reward(reward)
        expected = None if arm is None else spec.arm_index(arm)
        if not isinstance(decision_id, str) or not decision_id.isalnum():
            raise UnknownDecision(f"decision_id == {decision_id!r} is unknown or has expired.")
        dkey = self._key(name, "d:" + decision_id)
        stored = yield ("hmget", dkey, ["arm", "context", "reward"])
        if stored[0] is None:
            raise UnknownDecision(f"decision_id == {decision_id!r} is unknown or has expired.")
        d_arm = int(stored[0])
        if expected is not None and expected != d_arm:
            raise ArmMismatch(f"arm == {spec.arms[expected]!r}, but decision {decision_id!r} "
                              f"chose {spec.arms[d_arm]!r}.")
        if stored[2] is not None:
            return self._repeat(decision_id, d_arm, reward, float(stored[2]))
        inc = spec.increment(json.loads(stored[1]) if stored[1] else None, reward)
        now = time.time()
        args = [repr(reward), d_arm, repr(now), int(now // spec.bucket_seconds)]
        for i, v in enumerate(inc):
            if v != 0.0:
                args += [i, repr(float(v))]
        out = yield ("script", "reward", [dkey, self._key(name, "state"),
                                          self._key(name, "traffic")], args)
        if out[0] == 0:
            raise UnknownDecision(f"decision_id == {decision_id!r} is unknown or has expired.")
        if out[0] == 2:  # another request recorded it between our read and the script
            return self._repeat(decision_id, d_arm, reward, float(out[1]))
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

    def decision(self, name, decision_id):
        h = self._r.hgetall(self._key(name, "d:" + decision_id))
        if not h:
            return None
        return {"arm": int(h["arm"]), "context": json.loads(h["context"]) if h["context"] else None,
                "reward": float(h["reward"]) if "reward" in h else None,
                "created_at": float(h["created"])}

    def timeline(self, name):
        spec = self._stored_spec(name)
        merged: dict = {}
        for field, value in self._r.hgetall(self._key(name, "traffic")).items():
            bucket, arm, what = field.split(":")
            row = merged.setdefault((int(bucket), int(arm)), [0, 0, 0.0])
            row["nrs".index(what)] += float(value) if what == "s" else int(value)
        rows = [(b, a, *v) for (b, a), v in merged.items()]
        return _timeline(spec, rows)

    def drop(self, name):
        keys = [self._key(name, p) for p in ("config", "state", "traffic")]
        keys += list(self._r.scan_iter(match=self._key(name, "d:*"), count=1000))
        self._r.delete(*keys)
        self._specs.pop(name, None)
        self._fields = {k: v for k, v in self._fields.items() if k[0] != name}

    def ping(self):
        return bool(self._r.ping())

    async def aclose(self):
        """Close the async client (call it on the event loop that used it)."""
        import asyncio

        if self._async is not None and self._async[0] is asyncio.get_running_loop():
            await self._async[1].aclose()
        self._async = None

    def close(self):
        self._r.close()


def open_store(url=None, **kwargs) -> Store:
    """A store from its URL: ``sqlite:///relative.db``, ``sqlite:////abs/path.db`` or
    ``redis://host:port/db``. ``None`` means :data:`DEFAULT_STORE_URL`."""
    url = DEFAULT_STORE_URL if url is None else url
    if not isinstance(url, str):
        raise TypeError(f"url == {url!r} is of type {type(url).__name__}, must be a string.")
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if not path:
            raise ValueError(f"url == {url!r} names no file, must be sqlite:///path/to/file.")
        return SQLiteStore(Path(path), **kwargs)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(url, **kwargs)
    raise ValueError(f"url == {url!r}, must start with 'sqlite:///' or 'redis://'.")
