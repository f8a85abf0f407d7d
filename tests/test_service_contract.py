"""The contract: Schemathesis (--checks all) against a live service on each store finds no
failure, with and without API keys. Bounded: a fixed seed, a few examples per operation."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bandit_lab.service.cli import start_service
from service_fixtures import redis_url  # noqa: F401  (fixture)

pytestmark = [pytest.mark.service, pytest.mark.slow]

ADMIN_KEY = "contract-test-admin-key-0123456789"


def schemathesis():
    exe = Path(sys.executable).with_name("schemathesis")
    if not exe.exists():
        pytest.skip("schemathesis is not installed (it is in the 'dev' extra)")
    return str(exe)


@pytest.mark.parametrize("kind, auth, bandit", [
    ("sqlite", False, ("--arms", "a,b,c")),
    ("redis", True, ("--contextual", "--n-features", "3", "--arms", "a,b,c"))],
    ids=["sqlite-open-beta", "redis-api-keys-linear"])
def test_schemathesis_finds_no_failure(kind, auth, bandit, tmp_path, request):
    # two runs of about half a minute each: SQLite without keys (loopback, as in notebook
    # 10) serving a Beta bandit, Redis with keys (as in production) serving a linear one, so
    # both exact request schemas of the default routes are exercised; every check, every
    # operation, every phase
    store_url = (f"sqlite:///{tmp_path / 'contract.sqlite3'}" if kind == "sqlite"
                 else request.getfixturevalue("redis_url"))
    if kind == "redis":
        from service_fixtures import flush

        flush(store_url)
    env = dict(os.environ)
    env.pop("BANDIT_LAB_API_KEYS", None)
    headers = []
    if auth:
        env["BANDIT_LAB_API_KEYS"] = f"{ADMIN_KEY} admin"
        headers = ["-H", f"Authorization: Bearer {ADMIN_KEY}"]
    svc = start_service(*bandit, "--seed", "1", "--no-access-log", store=store_url, env=env)
    try:
        out = subprocess.run(
            [schemathesis(), "run", svc.url + "/openapi.json", "--checks", "all",
             "--max-examples", "6", "--seed", "7", "--request-timeout", "20", *headers],
            capture_output=True, text=True, cwd=tmp_path, timeout=600,
            env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"})
    finally:
        assert svc.stop() == 0
    tail = out.stdout[-6000:]
    assert out.returncode == 0, tail
    assert "No issues found" in tail or "passed" in tail, tail
    assert "Traceback" not in svc.log()
