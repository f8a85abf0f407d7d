"""Where a served bandit keeps its state: SQLite (embedded, the default) or Redis (shared).

Taught in notebooks/10_serving_a_bandit.ipynb. The rules both stores follow are in
:mod:`.base`; :mod:`.sqlite` and :mod:`.redis` are the two backends.

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
>>> did = store.record_decision("offers", 1, ttl=60, propensity=0.5)
>>> store.record_reward("offers", did, 1.0).duplicate
False
>>> store.record_reward("offers", did, 1.0).duplicate   # a retry: recognised, not counted
True
>>> store.read("offers").vectors.tolist()
[[2.0, 40.0], [3.0, 40.0]]
>>> [(r["arm_index"], r["propensity"], r["reward"]) for r in store.log("offers").rows]
[(1, 0.5, 1.0)]
>>> store.close()
"""
from __future__ import annotations

from pathlib import Path

from .base import (ArmMismatch, ArmState, BanditInfo, BanditRetired, LogPage,  # noqa: F401
                   RewardConflict, RewardResult, SpecMismatch, StateMissing, Store, StoreBusy,
                   StoreError, StoreGone, Timeline, UnknownBandit, UnknownDecision,
                   check_bandit_name,
                   check_decision_id, new_decision_id, DEFAULT_RETENTION,
                   DEFAULT_TIMELINE_RETENTION, LOG_COLUMNS)
from .redis import RedisStore
from .sqlite import SQLiteStore

__all__ = [
    "Store", "SQLiteStore", "RedisStore", "open_store", "DEFAULT_STORE_URL",
    "ArmState", "Timeline", "RewardResult", "BanditInfo", "LogPage",
    "StoreError", "UnknownBandit", "SpecMismatch", "UnknownDecision", "RewardConflict",
    "ArmMismatch", "StateMissing", "BanditRetired", "StoreBusy", "StoreGone", "LOG_COLUMNS",
]

#: Where the service keeps its state when nothing is configured.
DEFAULT_STORE_URL = "sqlite:///bandit-lab-state.sqlite3"


def open_store(url=None, **kwargs) -> Store:
    """A store from its URL: ``sqlite:///relative.db``, ``sqlite:////abs/path.db`` or
    ``redis://host:port/db``. ``None`` means :data:`DEFAULT_STORE_URL`. Keyword arguments
    go to the store (e.g. ``retention``, ``timeline_retention``)."""
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
