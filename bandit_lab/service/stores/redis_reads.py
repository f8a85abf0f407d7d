"""The Redis store's reads of the log and the timeline, and its purge (a mixin of
:class:`~.redis.RedisStore`)."""
from __future__ import annotations

import time

import numpy as np

from .base import LogPage, StateMissing, make_cursor, parse_cursor, timeline_from_rows
from .redis_scripts import DECISION_FIELDS as _DECISION_FIELDS

__all__ = []


class _RedisReads:
    def log(self, name, *, since=None, until=None, after=None, limit=1000):
        self._stored_spec(name)
        cursor = parse_cursor(after)
        # entries older than the retention point at hashes that have expired (the index
        # is purged a little later): start after them, and read on past any that are gone,
        # so a page is never cut short (an empty first page once ended the whole log)
        start = [time.time() - self.retention]
        start += [float(since)] if since is not None else []
        start += [cursor[0]] if cursor is not None else []
        lo = repr(max(start))
        hi = "+inf" if until is None else "(" + repr(float(until))
        key = self._key(name, "log")
        rows, offset = [], 0
        while len(rows) <= limit:
            chunk = self._r.zrangebyscore(key, lo, hi, start=offset, num=limit + 16,
                                          withscores=True)
            if not chunk:
                break
            offset += len(chunk)
            ids = [(did, t) for did, t in chunk if cursor is None or (t, did) > cursor]
            with self._r.pipeline(transaction=False) as pipe:
                for did, _ in ids:
                    pipe.hmget(self._key(name, "d:" + did), _DECISION_FIELDS)
                found = pipe.execute()
            for (did, _t), values in zip(ids, found):
                if values[0] is None:  # expired: the index is purged a little later
                    continue
                d = self._decision_dict(values)
                rows.append({"decision_id": did, "bandit": name, "time": d["created_at"],
                             "arm_index": d["arm"], "propensity": d["propensity"],
                             "eligible": d["eligible"], "context": d["context"],
                             "reward": d["reward"], "reward_time": d["reward_at"]})
        more = len(rows) > limit
        rows = rows[:limit]
        return LogPage(rows, make_cursor(rows[-1]) if more and rows else None)

    def timeline(self, name, *, since=None, until=None, limit=None):
        spec = self._stored_spec(name)
        lo = "-inf" if since is None else int(np.floor(float(since) / spec.bucket_seconds))
        hi = "+inf" if until is None else f"({int(np.ceil(float(until) / spec.bucket_seconds))}"
        if since is not None and until is not None and float(until) <= float(since):
            hi = f"({lo}"  # an empty range overlaps no bucket
        key = self._key(name, "tb")
        truncated = False
        if limit is None:
            buckets = [int(b) for b in self._r.zrangebyscore(key, lo, hi)]
        else:
            buckets = [int(b) for b in self._r.zrevrangebyscore(key, hi, lo, start=0,
                                                                 num=int(limit) + 1)][::-1]
            if len(buckets) > limit:
                buckets, truncated = buckets[1:], True
        with self._r.pipeline(transaction=False) as pipe:
            for b in buckets:
                pipe.hgetall(self._key(name, f"t:{b}"))
            hashes = pipe.execute()
        rows = []
        for b, h in zip(buckets, hashes):
            merged: dict = {}
            for field, value in h.items():
                arm, what = field.split(":")
                row = merged.setdefault(int(arm), [0, 0, 0.0])
                row["nrs".index(what)] += float(value) if what == "s" else int(value)
            rows += [(b, a, *v) for a, v in merged.items()]
        return timeline_from_rows(spec, rows, truncated)

    def purge(self, now=None):
        now = time.time() if now is None else float(now)
        gone = {"decisions": 0, "buckets": 0}
        for name in sorted(self._r.smembers(f"{self.namespace}:bandits")):
            try:  # one damaged bandit (a key deleted by hand) stops the purge of none other
                info = self.info(name)
            except StateMissing:
                continue
            if info is None:
                continue
            # the decisions' hashes expire by themselves; their index entries go here
            gone["decisions"] += self._r.zremrangebyscore(
                self._key(info.name, "log"), "-inf", f"({now - self.retention!r}")
            cutoff = int((now - self.timeline_retention) // info.spec.bucket_seconds)
            gone["buckets"] += self._r.zremrangebyscore(self._key(info.name, "tb"), "-inf",
                                                        f"({cutoff}")
        return gone

