"""The embedded store: one SQLite file in WAL mode, shared by threads and by processes on
one machine. The rules it follows are in :mod:`.base`."""
from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
import time
from contextlib import contextmanager

import numpy as np

from ..models import _short, spec_from_config
from .base import (ArmMismatch, ArmState, BanditInfo, RewardConflict, RewardResult,
                   Store, StoreBusy, StoreGone, UnknownBandit, UnknownDecision, _check_ttl,
                   check_bandit_name, new_decision_id, DEFAULT_RETENTION, DEFAULT_TIMELINE_RETENTION)

from .sqlite_reads import _SQLiteReads

__all__ = ["SQLiteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS bandits (
    name TEXT PRIMARY KEY, config TEXT NOT NULL, created_at REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'active', generation INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS arms (
    bandit TEXT NOT NULL, arm INTEGER NOT NULL,
    decisions INTEGER NOT NULL DEFAULT 0, rewards INTEGER NOT NULL DEFAULT 0,
    reward_sum REAL NOT NULL DEFAULT 0, last_reward_at REAL,
    PRIMARY KEY (bandit, arm)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS params (
    bandit TEXT NOT NULL, arm INTEGER NOT NULL, i INTEGER NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (bandit, arm, i)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS priors (
    bandit TEXT NOT NULL, arm INTEGER NOT NULL, i INTEGER NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (bandit, arm, i)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS decisions (
    id TEXT PRIMARY KEY, bandit TEXT NOT NULL, arm INTEGER NOT NULL, context TEXT,
    created_at REAL NOT NULL, expires_at REAL NOT NULL, reward REAL,
    propensity REAL, eligible TEXT, reward_at REAL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS decisions_log ON decisions (bandit, created_at, id);
CREATE INDEX IF NOT EXISTS decisions_age ON decisions (created_at);
CREATE TABLE IF NOT EXISTS traffic (
    bandit TEXT NOT NULL, bucket INTEGER NOT NULL, arm INTEGER NOT NULL,
    decisions INTEGER NOT NULL DEFAULT 0, rewards INTEGER NOT NULL DEFAULT 0,
    reward_sum REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (bandit, bucket, arm)) WITHOUT ROWID;
"""

# Columns added since the first release: a file written by it is brought up to date.
_ADDED_COLUMNS = {
    "bandits": [("status", "TEXT NOT NULL DEFAULT 'active'"),
                ("generation", "INTEGER NOT NULL DEFAULT 0")],
    "decisions": [("propensity", "REAL"), ("eligible", "TEXT"), ("reward_at", "REAL")],
}

_PURGE_BATCH = 500


def _locked(err) -> bool:
    return isinstance(err, sqlite3.OperationalError) and (
        "locked" in str(err) or "busy" in str(err))


class SQLiteStore(_SQLiteReads, Store):
    """The embedded store: one SQLite file in WAL mode, shared safely by threads and by
    several processes on the same machine.

    Every write is one ``BEGIN IMMEDIATE`` transaction of increments. ``synchronous``
    is SQLite's durability setting: ``"NORMAL"`` (default) keeps every committed write
    through a crash or kill of the process; ``"FULL"`` also through a power cut, at the
    price of an fsync per write.

    Inside :meth:`nonblocking` (how the service calls it from its event loop) a call
    that would wait for a lock held by another thread or process raises
    :class:`~.base.StoreBusy` at once instead; the service then repeats it in a thread,
    so a long write lock elsewhere never stalls the event loop.

    Parameters
    ----------
    path : str or Path
        The database file (created if missing).
    timeout : float, default 30.0
        Seconds a writer waits for another process's write lock.
    synchronous : {"NORMAL", "FULL"}
    retention, timeline_retention : float
        Seconds decisions stay in the log and buckets in the timeline (see :meth:`purge`).
    """

    store_calls = "inline"

    def __init__(self, path, *, timeout=30.0, synchronous="NORMAL",
                 retention=DEFAULT_RETENTION, timeline_retention=DEFAULT_TIMELINE_RETENTION):
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous == {synchronous!r}, must be 'NORMAL' or 'FULL'.")
        self.path = str(path)
        if self.path == ":memory:" or self.path.startswith("file::memory:"):
            raise ValueError("path == ':memory:', must be a file: an in-memory database "
                             "cannot be shared by threads or processes.")
        self.url = "sqlite:///" + self.path
        self.timeout = float(timeout)
        self.synchronous = synchronous
        self.retention = _check_ttl(retention)
        self.timeline_retention = _check_ttl(timeline_retention)
        self._specs: dict = {}
        self._lock = threading.Lock()  # writers of this process queue here, not in SQLite
        self._local = threading.local()
        self._conns: list = []
        self._pid = os.getpid()
        self._identity = None  # (device, inode) of the file, once it exists
        with self._write() as conn:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            self._migrate(conn)
        self._identity = self._file_identity()

    def _file_identity(self):
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def _check_file(self):
        """Refuse to go on if the file was deleted or replaced under the open connections:
        SQLite would keep writing into the deleted file, and every write would be lost."""
        if self._identity is not None and self._file_identity() != self._identity:
            raise StoreGone(f"the SQLite file {self.path!r} was deleted or replaced while in "
                            "use; nothing more is written to it (it would be lost). Restore "
                            "the file and restart the service.")

    @staticmethod
    def _migrate(conn):
        for table, columns in _ADDED_COLUMNS.items():
            have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            for column, kind in columns:
                if column not in have:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        # a bandit stored before priors had their own table: its prior is its spec's
        for name, config in conn.execute(
                "SELECT name, config FROM bandits WHERE name NOT IN "
                "(SELECT DISTINCT bandit FROM priors)").fetchall():
            SQLiteStore._insert_prior(conn, name, spec_from_config(json.loads(config)).prior())

    # -- connections -----------------------------------------------------------------
    def _conn(self):
        if os.getpid() != self._pid:  # forked: never reuse the parent's connections
            self._local = threading.local()
            self._conns = []
            self._lock = threading.Lock()
            self._pid = os.getpid()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            self._check_file()  # a new connection must not create a new, empty file
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            self._local.conn = conn
            self._conns.append(conn)
        return conn

    @contextmanager
    def nonblocking(self):
        """Calls in this block raise :class:`StoreBusy` instead of waiting for a lock."""
        conn = self._conn()
        self._local.nonblocking = True
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            yield
        except sqlite3.OperationalError as err:
            if _locked(err):
                raise StoreBusy(str(err)) from None
            raise
        finally:
            self._local.nonblocking = False
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")

    @contextmanager
    def _write(self):
        conn = self._conn()
        self._check_file()
        if getattr(self._local, "nonblocking", False):
            if not self._lock.acquire(blocking=False):
                raise StoreBusy("another thread of this process is writing")
        else:
            self._lock.acquire()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            self._lock.release()

    @contextmanager
    def _snapshot(self):
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    # -- bandits ---------------------------------------------------------------------
    @staticmethod
    def _insert_prior(conn, name, prior, first_arm=0):
        rows = [(name, first_arm + k, i, float(prior[k, i]))
                for k in range(prior.shape[0]) for i in range(prior.shape[1])]
        conn.executemany("INSERT INTO priors VALUES (?, ?, ?, ?)", rows)
        return rows

    def _insert_arms(self, conn, name, spec, first_arm=0):
        prior = spec.prior()[first_arm:]
        rows = self._insert_prior(conn, name, prior, first_arm)
        conn.executemany("INSERT INTO params VALUES (?, ?, ?, ?)", rows)
        conn.executemany("INSERT INTO arms (bandit, arm) VALUES (?, ?)",
                         [(name, k) for k in range(first_arm, spec.n_arms)])

    def create(self, name, spec):
        name = check_bandit_name(name)
        with self._write() as conn:
            row = conn.execute("SELECT config FROM bandits WHERE name = ?", (name,)).fetchone()
            if row is not None:
                stored = self._accept(name, spec_from_config(json.loads(row[0])), spec)
            else:
                if spec is None:
                    raise UnknownBandit(f"bandit {name!r} is not in this store and no spec was "
                                        "given to create it.")
                stored = spec
                conn.execute("INSERT INTO bandits (name, config, created_at) VALUES (?, ?, ?)",
                             (name, json.dumps(spec.to_config()), time.time()))
                self._insert_arms(conn, name, spec)
        self._specs[name] = stored
        return stored

    @staticmethod
    def _info(row):
        name, config, created, status, gen = row
        return BanditInfo(name, spec_from_config(json.loads(config)), status, created, gen)

    def info(self, name):
        row = self._conn().execute(
            "SELECT name, config, created_at, status, generation FROM bandits WHERE name = ?",
            (name,)).fetchone()
        if row is None:
            return None
        info = self._info(row)
        self._specs[name] = info.spec
        return info

    def bandits(self):
        rows = self._conn().execute("SELECT name, config, created_at, status, generation "
                                    "FROM bandits ORDER BY name").fetchall()
        return [self._info(r) for r in rows]

    def add_arm(self, name, arm, **prior):
        with self._write() as conn:
            row = conn.execute("SELECT name, config, created_at, status, generation FROM bandits"
                               " WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise UnknownBandit(f"bandit {name!r} is not in this store.")
            info = self._info(row)
            new = self._new_arm_spec(info.spec, arm, prior)
            conn.execute("UPDATE bandits SET config = ?, generation = generation + 1 "
                         "WHERE name = ?", (json.dumps(new.to_config()), name))
            self._insert_arms(conn, name, new, first_arm=info.spec.n_arms)
        self._specs[name] = new
        return BanditInfo(name, new, info.status, info.created_at, info.generation + 1)

    def retire(self, name):
        with self._write() as conn:
            n = conn.execute("UPDATE bandits SET status = 'retired', generation = generation + 1"
                             " WHERE name = ?", (name,)).rowcount
            if not n:
                raise UnknownBandit(f"bandit {name!r} is not in this store.")
        return self.info(name)

    def generation(self, name):
        row = self._conn().execute("SELECT generation FROM bandits WHERE name = ?",
                                   (name,)).fetchone()
        if row is None:
            raise UnknownBandit(f"bandit {name!r} is not in this store.")
        return row[0]

    # -- numbers -----------------------------------------------------------------------
    def _vectors(self, conn, name, spec, arm=None, table="params"):
        if arm is None:
            rows = conn.execute(f"SELECT value FROM {table} WHERE bandit = ? ORDER BY arm, i",
                                (name,)).fetchall()
            n = len(rows) // spec.width
            return np.fromiter((r[0] for r in rows), float, len(rows)).reshape(n, spec.width)
        rows = conn.execute(f"SELECT value FROM {table} WHERE bandit = ? AND arm = ? ORDER BY i",
                            (name, arm)).fetchall()
        return np.array(rows, dtype=float).reshape(spec.width)

    def read_vectors(self, name, *, with_generation=False):
        spec = self._stored_spec(name)
        if not with_generation:
            return self._vectors(self._conn(), name, spec)
        with self._snapshot() as conn:
            gen = conn.execute("SELECT generation FROM bandits WHERE name = ?",
                               (name,)).fetchone()
            vectors = self._vectors(conn, name, spec)
        if gen is None:
            raise UnknownBandit(f"bandit {name!r} is not in this store.")
        return vectors, gen[0]

    def read_arm(self, name, arm):
        spec = self._stored_spec(name)
        return self._vectors(self._conn(), name, spec, int(arm))

    def prior(self, name):
        spec = self._stored_spec(name)
        return self._vectors(self._conn(), name, spec, table="priors")

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
    def record_decision(self, name, arm, *, context=None, ttl=3600.0, propensity=None,
                        eligible=None):
        spec = self._stored_spec(name)
        arm = spec.arm_index(arm)
        ttl = _check_ttl(ttl)
        did = new_decision_id()
        ctx = None if context is None else json.dumps(np.asarray(context, float).tolist())
        el = None if eligible is None else json.dumps([int(k) for k in eligible])
        p = None if propensity is None else float(propensity)
        with self._write() as conn:
            # the time is read while holding the write lock and made larger than the
            # bandit's last one: the log's order is the order of the commits, so a reader
            # paging up to "now" never misses a decision stored after its page
            now = time.time()
            last = conn.execute("SELECT max(created_at) FROM decisions WHERE bandit = ?",
                                (name,)).fetchone()[0]
            if last is not None and now <= last:
                now = math.nextafter(last, math.inf)
            bucket = int(now // spec.bucket_seconds)
            conn.execute("INSERT INTO decisions (id, bandit, arm, context, created_at, expires_at,"
                         " propensity, eligible) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (did, name, arm, ctx, now, now + ttl, p, el))
            conn.execute("UPDATE arms SET decisions = decisions + 1 WHERE bandit = ? AND arm = ?",
                         (name, arm))
            conn.execute("INSERT INTO traffic (bandit, bucket, arm, decisions) VALUES (?, ?, ?, 1)"
                         " ON CONFLICT (bandit, bucket, arm) DO UPDATE SET"
                         " decisions = decisions + 1", (name, bucket, arm))
        return did

    def record_reward(self, name, decision_id, reward, *, arm=None):
        spec = self._stored_spec(name)
        reward = spec.check_reward(reward)
        expected = None if arm is None else spec.arm_index(arm)
        unknown = UnknownDecision(f"decision_id == {decision_id[:40]!r} is unknown or has "
                                  "expired." if isinstance(decision_id, str) else
                                  "decision_id is unknown.")
        if not isinstance(decision_id, str) or not decision_id.isascii():
            raise unknown  # never reaches SQLite (a lone surrogate cannot be encoded)
        now = time.time()
        with self._write() as conn:
            row = conn.execute("SELECT arm, context, reward, expires_at FROM decisions "
                               "WHERE id = ? AND bandit = ?", (decision_id, name)).fetchone()
            if row is None or row[3] <= now:
                raise unknown
            d_arm, ctx, stored_reward, _ = row
            if d_arm >= spec.n_arms:  # an arm added by another instance: learn of it
                spec = self.info(name).spec
            if expected is not None and expected != d_arm:
                raise ArmMismatch(f"arm == {_short(spec.arms[expected])}, but decision {decision_id!r} "
                                  f"chose {_short(spec.arms[d_arm])}.")
            if stored_reward is not None:
                if stored_reward == reward:
                    return RewardResult(decision_id, d_arm, reward, True)
                raise RewardConflict(f"reward == {reward!r}, but decision {decision_id!r} already "
                                     f"has reward {stored_reward!r}; a decision gets one reward.")
            inc = spec.increment(None if ctx is None else json.loads(ctx), reward)
            conn.execute("UPDATE decisions SET reward = ?, reward_at = ? WHERE id = ?",
                         (reward, now, decision_id))
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
        if not isinstance(decision_id, str) or not decision_id.isascii():
            return None
        row = self._conn().execute(
            "SELECT arm, context, reward, created_at, expires_at, propensity, eligible "
            "FROM decisions WHERE id = ? AND bandit = ?", (decision_id, name)).fetchone()
        if row is None or row[4] <= time.time():
            return None
        return {"arm": row[0], "context": None if row[1] is None else json.loads(row[1]),
                "reward": row[2], "created_at": row[3], "propensity": row[5],
                "eligible": None if row[6] is None else json.loads(row[6])}

    def drop(self, name):
        with self._write() as conn:
            for table, col in (("bandits", "name"), ("arms", "bandit"), ("params", "bandit"),
                               ("priors", "bandit"), ("decisions", "bandit"),
                               ("traffic", "bandit")):
                conn.execute(f"DELETE FROM {table} WHERE {col} = ?", (name,))
        self._specs.pop(name, None)

    def ping(self):
        self._check_file()
        return self._conn().execute("SELECT 1").fetchone() == (1,)

    def close(self):
        if os.getpid() == self._pid:
            for conn in self._conns:
                conn.close()
        self._conns = []
        self._local = threading.local()
