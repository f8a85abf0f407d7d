"""The SQLite store's reads of the log and the timeline, and its purge in small batches
(a mixin of :class:`~.sqlite.SQLiteStore`)."""
from __future__ import annotations

import json
import time

import numpy as np

from .base import LogPage, make_cursor, parse_cursor, timeline_from_rows

__all__ = []

_PURGE_BATCH = 500


class _SQLiteReads:
    def log(self, name, *, since=None, until=None, after=None, limit=1000):
        self._stored_spec(name)
        cursor = parse_cursor(after) or (-np.inf, "")
        # what is older than the retention is gone (or about to be: purged in batches)
        since = max(time.time() - self.retention, -np.inf if since is None else float(since))
        until = np.inf if until is None else float(until)
        rows = self._conn().execute(
            "SELECT id, created_at, arm, propensity, eligible, context, reward, reward_at "
            "FROM decisions WHERE bandit = ? AND created_at >= ? AND created_at < ? "
            "AND (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?",
            (name, max(since, -1e300), min(until, 1e300), max(cursor[0], -1e300), cursor[1],
             int(limit) + 1)).fetchall()
        out = [{"decision_id": r[0], "bandit": name, "time": r[1], "arm_index": r[2],
                "propensity": r[3], "eligible": None if r[4] is None else json.loads(r[4]),
                "context": None if r[5] is None else json.loads(r[5]), "reward": r[6],
                "reward_time": r[7]} for r in rows]
        more = len(out) > limit
        out = out[:limit]
        return LogPage(out, make_cursor(out[-1]) if more and out else None)

    def timeline(self, name, *, since=None, until=None, limit=None):
        spec = self._stored_spec(name)
        lo = -2**62 if since is None else int(np.floor(float(since) / spec.bucket_seconds))
        hi = 2**62 if until is None else int(np.ceil(float(until) / spec.bucket_seconds))
        if since is not None and until is not None and float(until) <= float(since):
            hi = lo  # an empty range overlaps no bucket
        conn = self._conn()
        truncated = False
        if limit is not None:
            latest = conn.execute(
                "SELECT DISTINCT bucket FROM traffic WHERE bandit = ? AND bucket >= ? AND "
                "bucket < ? ORDER BY bucket DESC LIMIT ?", (name, lo, hi, int(limit) + 1)).fetchall()
            if len(latest) > limit:
                lo, truncated = latest[limit - 1][0], True
        rows = conn.execute(
            "SELECT bucket, arm, decisions, rewards, reward_sum FROM traffic WHERE bandit = ? "
            "AND bucket >= ? AND bucket < ? ORDER BY bucket, arm", (name, lo, hi)).fetchall()
        return timeline_from_rows(spec, rows, truncated)

    def purge(self, now=None):
        now = time.time() if now is None else float(now)
        gone = {"decisions": 0, "buckets": 0}
        while True:  # small batches: the write lock is never held long
            with self._write() as conn:
                n = conn.execute(
                    "DELETE FROM decisions WHERE id IN (SELECT id FROM decisions WHERE "
                    "created_at < ? AND expires_at < ? LIMIT ?)",
                    (now - self.retention, now, _PURGE_BATCH)).rowcount
            gone["decisions"] += n
            if n < _PURGE_BATCH:
                break
        for info in self.bandits():
            cutoff = int((now - self.timeline_retention) // info.spec.bucket_seconds)
            with self._write() as conn:
                gone["buckets"] += conn.execute(
                    "DELETE FROM traffic WHERE bandit = ? AND bucket < ?",
                    (info.name, cutoff)).rowcount
        return gone

