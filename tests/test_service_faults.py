"""Bad input and faults: every malformed request gets a 4xx with a short message and leaves
the state as it was (a battery of more than 50 cases, on each store); a vanished Redis
state, a store outage and a long SQLite lock are answered as documented."""
import json
import sqlite3
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

from bandit_lab.service.app import create_app
from bandit_lab.service.models import BetaSpec, LinearSpec
from bandit_lab.service.stores import open_store
from service_fixtures import redis_url, sqlite_url, store_url  # noqa: F401  (fixtures)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.service

ARMS = ("a", "b", "c")
BIG = "x" * 100_000
J = {"content-type": "application/json"}


def raw(text):
    """A body as bytes, lone surrogates and all (json.dumps would escape them)."""
    return text.encode("utf-8", "surrogatepass")


# (method, path, request keyword arguments, expected status)
def battery(did):
    ok = {"decision_id": did, "reward": 1}
    cases = [
        # -- POST /reward --------------------------------------------------------------
        ("POST", "/reward", dict(json={"decision_id": did, "reward": 5}), 422),
        ("POST", "/reward", dict(json={"decision_id": did, "reward": -1}), 422),
        ("POST", "/reward", dict(json={"decision_id": did, "reward": 0.5}), 409),
        ("POST", "/reward", dict(json={"decision_id": did, "reward": "1"}), 422),
        ("POST", "/reward", dict(json={"decision_id": did, "reward": True}), 422),
        ("POST", "/reward", dict(json={"decision_id": did, "reward": None}), 422),
        ("POST", "/reward", dict(json={"decision_id": did, "reward": [1]}), 422),
        ("POST", "/reward", dict(json={"decision_id": did, "reward": {"v": 1}}), 422),
        ("POST", "/reward", dict(content=raw('{"decision_id": "%s", "reward": NaN}' % did),
                                 headers=J), 422),
        ("POST", "/reward", dict(content=raw('{"decision_id": "%s", "reward": Infinity}' % did),
                                 headers=J), 422),
        ("POST", "/reward", dict(content=raw('{"decision_id": "%s", "reward": 1e400}' % did),
                                 headers=J), 422),
        ("POST", "/reward", dict(json={"decision_id": did}), 422),
        ("POST", "/reward", dict(json={"reward": 1}), 422),
        ("POST", "/reward", dict(json={"decision_id": None, "reward": None}), 422),
        ("POST", "/reward", dict(json={**ok, "customer": "x"}), 422),
        ("POST", "/reward", dict(json={**ok, "arm": "zzz"}), 409),
        ("POST", "/reward", dict(json={**ok, "arm": 7}), 409),
        ("POST", "/reward", dict(json={**ok, "arm": -1}), 422),
        ("POST", "/reward", dict(json={**ok, "arm": BIG}), 422),
        ("POST", "/reward", dict(json={**ok, "arm": "a\x00b"}), 422),
        ("POST", "/reward", dict(json={"decision_id": 123, "reward": 1}), 422),
        ("POST", "/reward", dict(json={"decision_id": "f" * 32, "reward": 1}), 404),
        ("POST", "/reward", dict(json={"decision_id": "F" * 32, "reward": 1}), 422),
        ("POST", "/reward", dict(json={"decision_id": "", "reward": 1}), 422),
        ("POST", "/reward", dict(json={"decision_id": BIG, "reward": 1}), 422),
        ("POST", "/reward", dict(content=raw('{"decision_id": "\ud800", "reward": 1}'),
                                 headers=J), 422),
        ("POST", "/reward", dict(content=raw('{"decision_id": "%s\ud800", "reward": 1}' % did[:31]),
                                 headers=J), 422),
        ("POST", "/reward", dict(content=b"{not json", headers=J), 422),
        ("POST", "/reward", dict(content=b"\xff\xfe\x00garbage", headers=J), 422),
        ("POST", "/reward", dict(content=b"reward=1"), 422),
        ("POST", "/reward", dict(json=[did, 1]), 422),
        ("POST", "/reward", dict(json="reward"), 422),
        ("POST", "/reward", dict(content=b"null", headers=J), 422),
        ("POST", "/reward", dict(), 422),
        ("POST", "/reward", dict(content=b"[" * 100_000, headers=J), 422),
        ("POST", "/reward", dict(content=b"x" * 2_000_000, headers=J), 413),
        ("POST", "/reward", dict(content=b"x" * 2_000_000, headers={**J, "content-length": "5"}),
         None),  # a lying Content-Length: the server must not fail (status not checked)
        # -- POST /decision ------------------------------------------------------------
        ("POST", "/decision", dict(json={"context": [1.0, 2.0]}), 409),
        ("POST", "/decision", dict(json={"context": "1,2"}), 422),
        ("POST", "/decision", dict(json={"arms": ["a", "zzz"]}), 409),
        ("POST", "/decision", dict(json={"arms": []}), 422),
        ("POST", "/decision", dict(json={"arms": "a"}), 422),
        ("POST", "/decision", dict(json={"arms": [BIG]}), 422),
        ("POST", "/decision", dict(json={"arms": [1, 2]}), 422),
        ("POST", "/decision", dict(json={"arms": ["a"] * 101}), 422),
        ("POST", "/decision", dict(content=raw('{"arms": ["\udfff"]}'), headers=J), 422),
        ("POST", "/decision", dict(json={"segment": "vip"}), 422),
        ("POST", "/decision", dict(json=[]), 422),
        ("POST", "/decision", dict(content=b"{", headers=J), 422),
        ("POST", "/decision", dict(content=b"x" * 20_000_000, headers=J), 413),
        # -- named routes, queries, admin ----------------------------------------------
        ("POST", "/bandits/nope/decision", dict(), 404),
        ("POST", "/bandits/nope/reward", dict(json=ok), 404),
        ("GET", "/bandits/nope/stats", dict(), 404),
        ("GET", "/bandits/" + "n" * 65 + "/stats", dict(), 422),
        ("GET", "/bandits/a%20b/stats", dict(), 422),
        ("GET", "/bandits/t/log?limit=0", dict(), 422),
        ("GET", "/bandits/t/log?limit=1000000", dict(), 422),
        ("GET", "/bandits/t/log?after=garbage", dict(), 422),
        ("GET", "/bandits/t/log?since=nan", dict(), 422),
        ("GET", "/timeline?since=abc", dict(), 422),
        ("GET", "/timeline?limit=-3", dict(), 422),
        ("GET", "/timeline?until=-1", dict(), 422),
        ("GET", "/timeline?since=100&until=50", dict(), 409),
        ("GET", "/bandits/t/log?since=100&until=50", dict(), 409),
        ("GET", "/bandits/t/log?since=1e300", dict(), 422),
        ("GET", "/bandits/t/log?limit=-5", dict(), 422),
        ("GET", "/bandits/t/log?after=%ff%fe", dict(), 422),
        ("GET", "/bandits/%ff/stats", dict(), 422),
        ("GET", "/bandits/" + "n" * 5000 + "/log", dict(), 422),
        ("GET", "/bandits/%C3%A9t%C3%A9/stats", dict(), 422),
        ("POST", "/decision", dict(json={"context": [1e200]}), 422),
        ("POST", "/decision", dict(content=b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
                                   headers=J), 422),
        ("POST", "/reward", dict(content=raw('{"decision_id": "%s", "reward": %s}' % (did, "9" * 5000)),
                                 headers=J), 422),
        ("POST", "/reward", dict(content=raw('{"decision_id": "%s", "reward": 1, "reward": 5}' % did),
                                 headers=J), 422),
        ("POST", "/reward", dict(content=b"\x1f\x8b\x08\x00garbage",
                                 headers={**J, "content-encoding": "gzip"}), 422),
        ("POST", "/decision", dict(content=(b" " * 65536 for _ in range(20)), headers=J), 413),
        ("PUT", "/decision", dict(), 405),
        ("GET", "/no/such/route", dict(), 404),
        ("POST", "/admin/bandits", dict(json={"name": "x", "kind": "gamma", "arms": ["a"]}), 422),
        ("POST", "/admin/bandits", dict(json={"name": "x y", "kind": "beta", "arms": ["a"]}), 422),
        ("POST", "/admin/bandits", dict(json={"name": "x", "kind": "beta", "arms": ["a", "a"]}),
         422),
        ("POST", "/admin/bandits", dict(json={"name": "x", "kind": "beta", "arms": ["a"],
                                              "alpha0": -1}), 422),
        ("POST", "/admin/bandits", dict(json={"name": "x", "kind": "beta", "arms": ["a"],
                                              "alpha0": 0}), 422),
        ("POST", "/admin/bandits", dict(json={"name": "x", "kind": "linear", "arms": ["a"],
                                              "n_features": 0}), 422),
        ("POST", "/admin/bandits", dict(json={"name": "t", "kind": "beta", "arms": ["z"]}), 409),
        ("POST", "/admin/bandits/t/arms", dict(json={"name": "a"}), 409),
        ("POST", "/admin/bandits/t/arms", dict(json={"name": "d", "prior_var": 2.0}), 409),
        ("POST", "/admin/bandits/t/arms", dict(json={"name": "d", "alpha0": "big"}), 422),
        ("POST", "/admin/bandits/t/arms", dict(json={"name": ""}), 422),
        ("POST", "/admin/bandits/t/retire", dict(), 409),  # the default bandit
        ("POST", "/admin/bandits/nope/retire", dict(), 404),
    ]
    return cases


def snapshot(client):
    s = client.get("/stats").json()
    log = client.get("/bandits/t/log").json()["rows"]
    bandits = client.get("/admin/bandits").json()["bandits"]
    return ([(a["alpha"], a["beta"], a["decisions"], a["rewards"]) for a in s["arms"]],
            [(r["decision_id"], r["reward"]) for r in log],
            [(b["name"], b["generation"], b["status"]) for b in bandits])


def test_bad_input_battery(store_url):
    store = open_store(store_url)
    with TestClient(create_app(store, "t", BetaSpec(ARMS), rng=0, purge_every=None)) as client:
        did = client.post("/decision").json()["decision_id"]
        before = snapshot(client)
        cases = battery(did)
        assert len(cases) >= 50
        failures = []
        for method, path, kw, status in cases:
            r = client.request(method, path, **kw)
            if status is None:
                if r.status_code >= 500:
                    failures.append((method, path, r.status_code, r.text[:200]))
                continue
            body = r.json()
            ok = (r.status_code == status and set(body) == {"status", "message", "field"}
                  and body["status"] == status and body["message"].endswith(".")
                  and len(body["message"]) <= 400 and len(r.content) <= 600)
            if not ok:
                failures.append((method, path, str(kw)[:80], r.status_code, r.text[:300]))
        assert not failures, "\n".join(map(str, failures))
        assert snapshot(client) == before
        # and the decision still takes its real reward, once
        assert client.post("/reward", json={"decision_id": did, "reward": 0}).status_code == 200
    store.close()


def test_messages_quote_a_short_prefix_and_name_the_field(sqlite_url):
    store = open_store(sqlite_url)
    with TestClient(create_app(store, "t", BetaSpec(ARMS), rng=0, purge_every=None)) as client:
        r = client.post("/reward", json={"decision_id": BIG, "reward": 1})
        assert r.json()["field"] == "decision_id" and len(r.content) < 400
        r = client.post("/decision", json={"arms": ["a", BIG]})
        assert r.json()["field"] == "arms[1]" and "must be 1 to 200" in r.json()["message"]
        r = client.post("/reward", json={"decision_id": "0" * 32, "reward": 1})
        assert r.status_code == 404 and r.json()["field"] == "decision_id"
    store.close()


def test_messages_stay_short_with_long_arm_names(sqlite_url):
    """A bandit's own arm names count as quoted text too: an arm index out of range listed
    all 50 names of 200 characters (a 10 KB message), a wrong kind read "the body must be a
    JSON object"."""
    store = open_store(sqlite_url)
    arms = [f"{k:03d}" + "x" * 197 for k in range(50)]
    with TestClient(create_app(store, "t", BetaSpec(arms), rng=0, purge_every=None)) as client:
        did = client.post("/decision").json()["decision_id"]
        chosen = client.get("/bandits/t/log").json()["rows"][0]["arm_index"]
        other = arms[(chosen + 1) % 50]
        cases = [
            ("POST", "/reward", {"decision_id": did, "reward": 1, "arm": 99}, 409, "arm"),
            ("POST", "/reward", {"decision_id": did, "reward": 1, "arm": other}, 409, "arm"),
            ("POST", "/reward", {"decision_id": did, "reward": 1, "arm": "y" * 200}, 409, "arm"),
            ("POST", "/decision", {"arms": ["y" * 200]}, 409, "arms[0]"),
            ("POST", "/admin/bandits", {"name": "t", "kind": "beta", "arms": ["z" * 200]}, 409,
             "name"),
            ("POST", "/admin/bandits", {"name": "q", "kind": "k" * 5000, "arms": ["a"]}, 422,
             "kind"),
            ("POST", "/admin/bandits", {"name": "q", "arms": ["a"]}, 422, "kind"),
        ]
        for method, path, body, status, field in cases:
            r = client.request(method, path, json=body)
            got = r.json()
            assert (r.status_code, got["field"]) == (status, field), (body, got)
            assert len(got["message"]) <= 400, (body, got["message"][:200])
        assert "must be 'beta' or 'linear'" in got["message"]
    store.close()


def test_linear_bandit_context_errors(store_url):
    store = open_store(store_url)
    spec = LinearSpec(ARMS, n_features=3)
    with TestClient(create_app(store, "t", spec, rng=0, purge_every=None)) as client:
        for payload, status, field in [({}, 409, "context"), ({"context": [1.0, 2.0]}, 409,
                                                              "context"),
                                       ({"context": [1.0, "x", 2.0]}, 422, "context[1]"),
                                       ({"context": [1.0, True, 2.0]}, 422, "context[1]"),
                                       ({"context": [1.0] * 300}, 422, "context")]:
            r = client.post("/decision", json=payload)
            assert (r.status_code, r.json()["field"]) == (status, field), r.json()
        assert client.get("/stats").json()["decisions"] == 0
    store.close()


# -- faults -----------------------------------------------------------------------------
def test_a_vanished_redis_state_is_refused_not_recreated(redis_url):  # noqa: F811
    import redis

    from service_fixtures import flush

    flush(redis_url)
    store = open_store(redis_url)
    spec = BetaSpec(ARMS, alpha0=2.0, beta0=40.0)
    with TestClient(create_app(store, "t", spec, rng=0, purge_every=None)) as client:
        did = client.post("/decision").json()["decision_id"]
        raw_client = redis.Redis.from_url(redis_url)
        assert raw_client.delete("bandit-lab:{t}:state") == 1  # evicted, or deleted by hand
        r = client.post("/reward", json={"decision_id": did, "reward": 1})
        assert r.status_code == 503 and "missing" in r.json()["message"]
        assert r.headers["retry-after"]
        assert raw_client.exists("bandit-lab:{t}:state") == 0  # not recreated without its prior
        for path in ("/decision",):
            assert client.post(path).status_code == 503
        assert client.get("/stats").status_code == 503
        assert client.get("/ready").status_code == 503
        assert client.get("/health").status_code == 200  # alive, but not ready
        assert store.prior("t").tolist() == [[2.0, 40.0]] * 3  # the prior is kept apart
        raw_client.close()
    store.close()


@pytest.mark.slow
def test_a_redis_outage_is_a_json_503_and_the_connection_survives(tmp_path):
    if not __import__("shutil").which("redis-server"):
        pytest.skip("redis-server is not installed")
    from bandit_lab.service.cli import start_redis, start_service

    import httpx

    server = start_redis(tmp_path / "redis")
    svc = start_service("--arms", "a,b", store=server.url)
    try:
        with httpx.Client(base_url=svc.url, timeout=10) as client:
            assert client.post("/decision").status_code == 200
            server.kill()
            r = client.post("/decision")
            assert r.status_code == 503 and r.headers["content-type"] == "application/json"
            assert r.headers["retry-after"] == "1" and "does not answer" in r.json()["message"]
            assert client.get("/health").status_code == 200
            assert client.get("/ready").status_code == 503
            server.restart()
            assert client.post("/decision").status_code == 200  # same connection, recovered
    finally:
        assert svc.stop() == 0
        server.stop()
    assert "Traceback" not in svc.log()


LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


@pytest.mark.slow
def test_a_long_sqlite_lock_elsewhere_does_not_stall_health(sqlite_url):
    import httpx

    from bandit_lab.service.cli import start_service

    svc = start_service("--arms", "a,b", store=sqlite_url)
    path = sqlite_url[len("sqlite:///"):]
    try:
        with httpx.Client(base_url=svc.url, timeout=30) as client:
            locker = subprocess.Popen([sys.executable, "-c", LOCKER, path, "3"],
                                      stdout=subprocess.PIPE, text=True)
            assert locker.stdout.readline().strip() == "locked"
            import threading

            out = {}

            def decide():
                t0 = time.monotonic()
                out["status"] = client.post("/decision").status_code
                out["seconds"] = time.monotonic() - t0

            waiting = threading.Thread(target=decide)
            waiting.start()  # waits for the lock, in a thread of the service
            time.sleep(0.3)
            with httpx.Client(base_url=svc.url, timeout=30) as other:
                t0 = time.monotonic()
                assert other.get("/health").status_code == 200
                assert time.monotonic() - t0 < 0.5
                t0 = time.monotonic()
                assert other.get("/stats").status_code == 200  # reads do not wait (WAL)
                assert time.monotonic() - t0 < 0.5
            waiting.join(30)
            locker.wait(10)
            assert out["status"] == 200 and out["seconds"] > 1.5  # it waited, then went on
    finally:
        assert svc.stop() == 0


def test_sqlite_purge_does_not_need_a_long_lived_process(sqlite_url):
    """Three short process lives: each purges at start what is older than the retention."""
    from bandit_lab.service.stores.sqlite import SQLiteStore

    path = sqlite_url[len("sqlite:///"):]
    for life in range(3):
        store = SQLiteStore(path, retention=0.5, timeline_retention=0.5)
        app = create_app(store, "t", BetaSpec(ARMS, bucket_seconds=0.1), rng=life, ttl=0.2)
        with TestClient(app) as client:  # the app purges at start
            for _ in range(30):
                client.post("/decision")
        store.close()
        time.sleep(0.7)
    store = SQLiteStore(path, retention=0.5, timeline_retention=0.5)
    with TestClient(create_app(store, "t", None, ttl=0.2)):
        pass
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM decisions").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM traffic").fetchone() == (0,)
    conn.close()
    assert store.read("t").decisions.sum() == 90  # the counts stay
    store.close()


def test_timeline_ranges_and_limits(store_url):
    store = open_store(store_url)
    spec = BetaSpec(ARMS, bucket_seconds=0.05)
    with TestClient(create_app(store, "t", spec, rng=0, purge_every=None)) as client:
        t0 = time.time()
        for _ in range(6):
            client.post("/decision")
            time.sleep(0.06)
        full = client.get("/timeline").json()
        assert sum(map(sum, full["decisions"])) == 6 and not full["truncated"]
        last = client.get("/timeline?limit=2").json()
        assert last["truncated"] and last["starts"] == full["starts"][-2:]
        mid = full["starts"][2]
        part = client.get(f"/timeline?since={mid}").json()
        assert part["starts"] == [s for s in full["starts"] if s >= mid]
        part = client.get(f"/timeline?until={mid}").json()
        assert part["starts"] == [s for s in full["starts"] if s < mid]
        assert client.get(f"/timeline?since={t0 + 100}").json()["starts"] == []
        inside = full["starts"][0] + 0.01  # in a bucket with traffic: an empty range is empty
        assert client.get(f"/timeline?since={inside}&until={inside}").json()["starts"] == []
        assert client.get(f"/timeline?since={inside}").json()["starts"] == full["starts"]
        for path in ("/timeline", "/bandits/t/timeline", "/bandits/t/log"):  # swapped
            r = client.get(f"{path}?since={t0 + 100}&until={t0}")
            assert r.status_code == 409 and r.json()["field"] == "until", r.text
    store.close()


# -- numbers a linear bandit cannot hold ---------------------------------------------------
def test_huge_contexts_and_variances_are_refused_before_they_poison_the_state(store_url):
    """One decision with x = 1e200 (then its reward) used to turn the stored precision to inf
    and every later decision of the bandit into a 500; so did a noise_var of 1e-300."""
    store = open_store(store_url)
    spec = LinearSpec(ARMS, n_features=2)
    with TestClient(create_app(store, "t", spec, rng=0, purge_every=None)) as client:
        before = client.get("/stats").json()["arms"]
        for path in ("/decision", "/bandits/t/decision"):
            for x in ([1e200, 1.0], [1.0, -1e7]):
                r = client.post(path, json={"context": x})
                assert r.status_code == 422 and r.json()["field"] in ("context[0]", "context[1]")
                assert "[-1e+06, 1e+06]" in r.json()["message"]
        for body in ({"prior_var": 5e-324}, {"noise_var": 1e-300}, {"prior_var": 1e9}):
            r = client.post("/admin/bandits", json={"name": "l2", "kind": "linear",
                                                    "arms": ["a"], "n_features": 2, **body})
            assert r.status_code == 422 and r.json()["field"] in body, r.json()
        r = client.post("/admin/bandits/t/arms", json={"name": "z", "prior_var": 1e-9})
        assert r.status_code == 422 and r.json()["field"] == "prior_var"
        assert client.get("/stats").json()["arms"] == before
        # the largest contexts allowed, with the smallest noise: decisions go on
        client.post("/admin/bandits", json={"name": "big", "kind": "linear", "arms": ["a", "b"],
                                            "n_features": 2, "noise_var": 1e-6,
                                            "prior_var": 1e6})
        for _ in range(5):
            d = client.post("/bandits/big/decision", json={"context": [1e6, 1e6]})
            assert d.status_code == 200, d.text
            assert client.post("/bandits/big/reward", json={"decision_id": d.json()[
                "decision_id"], "reward": 1}).status_code == 200
        assert client.get("/bandits/big/stats").status_code == 200
        assert client.get("/ready").status_code == 200
    with pytest.raises(ValueError, match=r"noise_var == 1e-300, must be in \[1e-06, 1e\+06\]"):
        LinearSpec(ARMS, n_features=2, noise_var=1e-300)
    store.close()


def test_a_numerically_singular_precision_still_gives_a_posterior():
    spec = LinearSpec(("a", "b"), n_features=2, prior_var=1e6, noise_var=1e-6)
    vectors = spec.prior()
    for _ in range(3):  # x x' of [1e6, 1e6]: rank one, 1e18 beside a prior of 1e-6
        vectors[0] += spec.increment([1e6, 1e6], 1.0)
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.cholesky(vectors[0, :4].reshape(2, 2))
    mean, cov = spec.moments(vectors)
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))
    assert np.all(np.linalg.eigvalsh(cov[0]) > 0)
    p = spec.propensities(vectors, np.array([1.0, 1.0]))
    assert p.sum() == pytest.approx(1.0)


def test_a_state_damaged_outside_the_service_answers_503_not_500(sqlite_url):
    store = open_store(sqlite_url)
    with TestClient(create_app(store, "t", LinearSpec(ARMS, n_features=2), rng=0,
                               purge_every=None)) as client:
        assert client.post("/decision", json={"context": [1.0, 2.0]}).status_code == 200
        conn = sqlite3.connect(sqlite_url[len("sqlite:///"):])
        conn.execute("UPDATE params SET value = ? WHERE arm = 1 AND i = 0", (float("inf"),))
        conn.commit()
        conn.close()
        for method, path, kw in [("POST", "/decision", {"json": {"context": [1.0, 2.0]}}),
                                 ("GET", "/stats", {}), ("GET", "/ready", {})]:
            r = client.request(method, path, **kw)
            assert r.status_code == 503 and r.headers["retry-after"], (path, r.text)
            assert "not finite" in r.json()["message"]
        assert client.get("/health").status_code == 200
    store.close()


def test_a_non_default_bandit_with_a_key_deleted_is_refused_then_recovers(redis_url):  # noqa: F811
    """Redis keys of a bandit created through the admin API deleted by hand: its routes answer
    503 (the default bandit goes on), nothing is recreated without its data, and restoring
    the key (here from DUMP) brings it back as it was."""
    import redis

    from service_fixtures import flush

    flush(redis_url)
    raw_client = redis.Redis.from_url(redis_url)
    store = open_store(redis_url)
    with TestClient(create_app(store, "t", BetaSpec(ARMS), rng=0, purge_every=None)) as client:
        body = {"name": "other", "kind": "beta", "arms": ["x", "y"], "alpha0": 2, "beta0": 9}
        assert client.post("/admin/bandits", json=body).status_code == 201
        d = client.post("/bandits/other/decision").json()
        assert client.post("/bandits/other/reward", json={"decision_id": d["decision_id"],
                                                          "reward": 1}).status_code == 200
        pending = client.post("/bandits/other/decision").json()["decision_id"]
        stats = client.get("/bandits/other/stats").json()["arms"]
        for part in ("state", "meta"):
            key = f"bandit-lab:{{other}}:{part}"
            saved = raw_client.dump(key)
            assert raw_client.delete(key) == 1
            answers = {
                "create": client.post("/admin/bandits", json=body),
                "describe": client.get("/admin/bandits/other"),
                "list": client.get("/admin/bandits"),
                "ready": client.get("/ready"),
            }
            if part == "state":
                answers["decision"] = client.post("/bandits/other/decision")
                answers["reward"] = client.post("/bandits/other/reward", json={
                    "decision_id": pending, "reward": 1})
                answers["stats"] = client.get("/bandits/other/stats")
            for what, r in answers.items():
                expected = 200 if (part, what) in (("state", "create"), ("state", "describe"),
                                                   ("state", "list")) else 503
                assert r.status_code == expected, (part, what, r.text)
                if expected == 503:
                    assert r.headers["retry-after"] and "missing" in r.json()["message"]
            assert client.post("/decision").status_code == 200  # the default bandit goes on
            assert store.purge() == {"decisions": 0, "buckets": 0}  # and so does retention
            raw_client.restore(key, 0, saved)
            assert client.get("/ready").status_code == 200
            assert client.get("/bandits/other/stats").json()["arms"] == stats  # as it was
        assert client.post("/bandits/other/reward", json={"decision_id": pending, "reward": 0}
                           ).status_code == 200
    raw_client.close()
    store.close()


def test_a_deleted_sqlite_file_is_not_written_into(sqlite_url):
    """SQLite keeps writing into a file deleted under its open connections: the service
    answered 200 to every decision and reward, all of them lost at the next start."""
    import os

    path = sqlite_url[len("sqlite:///"):]
    store = open_store(sqlite_url)
    with TestClient(create_app(store, "t", BetaSpec(ARMS), rng=0, purge_every=None)) as client:
        did = client.post("/decision").json()["decision_id"]
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        for method, url, kw in [("POST", "/decision", {}), ("GET", "/ready", {}),
                                ("POST", "/reward", {"json": {"decision_id": did,
                                                              "reward": 1}})]:
            r = client.request(method, url, **kw)
            assert r.status_code == 503 and r.headers["retry-after"], (url, r.text)
            assert "deleted or replaced" in r.json()["message"]
        assert client.get("/health").status_code == 200
        assert not os.path.exists(path)  # and no empty file was made in its place
        text = client.get("/metrics").text
        assert 'bandit_store_errors_total{operation="record_decision",store="sqlite"} 1.0' in text
    store.close()


@pytest.mark.parametrize("error", [sqlite3.OperationalError("database or disk is full"),
                                   OSError(28, "No space left on device")],
                         ids=["sqlite-full", "enospc"])
def test_a_store_that_cannot_write_answers_503_and_recovers(sqlite_url, error):
    """A full disk, simulated by a store whose writes raise: JSON 503 with Retry-After for
    decisions and rewards, reads and /health go on, nothing half-written, and the service
    recovers by itself once writes succeed again."""
    from bandit_lab.service.stores.sqlite import SQLiteStore

    class FullDisk(SQLiteStore):
        full = False

        def _write(self):
            if self.full:
                raise error
            return super()._write()

    store = FullDisk(sqlite_url[len("sqlite:///"):])
    with TestClient(create_app(store, "t", BetaSpec(ARMS), rng=0, purge_every=None)) as client:
        did = client.post("/decision").json()["decision_id"]
        before = client.get("/stats").json()["arms"]
        store.full = True
        for method, path, kw in [("POST", "/decision", {}),
                                 ("POST", "/reward", {"json": {"decision_id": did, "reward": 1}}),
                                 ("POST", "/admin/bandits", {"json": {"name": "n", "kind": "beta",
                                                                      "arms": ["x"]}})]:
            r = client.request(method, path, **kw)
            assert r.status_code == 503 and r.headers["retry-after"] == "1", (path, r.text)
            assert set(r.json()) == {"status", "message", "field"}
        assert client.get("/stats").json()["arms"] == before
        assert client.get("/health").status_code == 200
        store.full = False
        assert client.post("/reward", json={"decision_id": did, "reward": 1}).json()[
            "duplicate"] is False
        assert client.post("/decision").status_code == 200
        assert 'bandit_store_errors_total{operation="record_reward",store="fulldisk"} 1.0' in \
            client.get("/metrics").text
    store.close()
