"""Fixtures for the service tests (import them into a test module by name).

``redis_url`` starts a private ``redis-server`` on a free loopback port with its files in a
temporary directory (never the system's Redis), and skips the test with a visible reason
only when no ``redis-server`` is installed. ``store_url`` runs a test once on a fresh SQLite
file and once on a flushed Redis database.
"""
from __future__ import annotations

import shutil

import pytest

NO_REDIS = ("redis-server is not installed, so the Redis store cannot be tested here "
            "(`python3 tasks.py test` installs it with apt-get when run as root).")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    if shutil.which("redis-server") is None:
        pytest.skip(NO_REDIS)
    from bandit_lab.service.cli import start_redis

    # everysec: these tests kill the service, not Redis; fsync per write only slows them
    server = start_redis(tmp_path_factory.mktemp("redis"), appendfsync="everysec")
    yield server.url
    server.stop()


def flush(url):
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request, tmp_path):
    """A store URL with nothing in it: a new SQLite file, or a flushed Redis database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.sqlite3'}"
    url = request.getfixturevalue("redis_url")
    flush(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'state.sqlite3'}"
