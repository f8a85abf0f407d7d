"""The HTTP service in-process: decisions, idempotent rewards, validation with messages and
untouched state, statistics, the contextual bandit."""
import time
import warnings

import numpy as np
import pytest

from bandit_lab.contextual import LinearTS
from bandit_lab.posteriors import BetaPosterior
from bandit_lab.service.app import create_app
from bandit_lab.service.models import BetaSpec, LinearSpec
from bandit_lab.service.stores import open_store
from service_fixtures import redis_url, sqlite_url, store_url  # noqa: F401  (fixtures)

pytestmark = pytest.mark.service

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
    from fastapi.testclient import TestClient

ARMS = ("a", "b", "c")


@pytest.fixture
def make_client(sqlite_url):
    opened = []

    def make(spec=BetaSpec(ARMS), url=sqlite_url, name="t", **kw):
        store = open_store(url)
        client = TestClient(create_app(store, name, spec, **kw))
        opened.append((store, client))
        return client.__enter__()  # one event loop per client, and the app's shutdown runs

    yield make
    for store, client in opened:
        client.__exit__(None, None, None)
        store.close()


def state(client):
    s = client.get("/stats").json()
    return [(a["alpha"], a["beta"], a["decisions"], a["rewards"]) for a in s["arms"]]


def test_decide_reward_and_stats(make_client):
    client = make_client(BetaSpec(ARMS, alpha0=2.0, beta0=40.0), rng=1)
    d = client.post("/decision").json()
    assert set(d) == {"decision_id", "bandit", "arm", "arm_index", "propensity", "expires_in"}
    assert d["arm"] == ARMS[d["arm_index"]] and len(d["decision_id"]) == 32
    r = client.post("/reward", json={"decision_id": d["decision_id"], "reward": 1})
    assert r.status_code == 200 and r.json()["status"] == "recorded"
    stats = client.get("/stats").json()
    arm = stats["arms"][d["arm_index"]]
    assert (arm["alpha"], arm["beta"], arm["decisions"], arm["rewards"]) == (3.0, 40.0, 1, 1)
    assert arm["share"] == 1.0 and arm["conversion"] == 1.0
    post = BetaPosterior(3.0, 40.0)
    lo, hi = post.interval(0.95)
    assert arm["mean"] == pytest.approx(float(post.mean))
    assert (arm["low"], arm["high"]) == (pytest.approx(float(lo)), pytest.approx(float(hi)))
    other = stats["arms"][(d["arm_index"] + 1) % 3]
    assert (other["alpha"], other["beta"], other["conversion"], other["last_reward_at"]) == \
        (2.0, 40.0, None, None)
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/ready").json() == {"status": "ready", "store": "sqlite", "bandits": ["t"]}
    tl = client.get("/timeline").json()
    assert np.sum(tl["decisions"]) == 1 and np.sum(tl["reward_sums"]) == 1.0


def test_retried_reward_over_http_counts_once(make_client):
    client = make_client()
    did = client.post("/decision").json()["decision_id"]
    body = {"decision_id": did, "reward": 1}
    assert client.post("/reward", json=body).json()["duplicate"] is False
    once = state(client)
    for _ in range(3):
        r = client.post("/reward", json=body)
        assert r.status_code == 200 and r.json()["status"] == "duplicate"
    assert state(client) == once
    r = client.post("/reward", json={"decision_id": did, "reward": 0})
    assert r.status_code == 409 and "already has reward" in r.json()["message"]
    assert state(client) == once


# (payload, status, words in the message)
BAD_REWARDS = [
    ({"reward": 5}, 422, "reward == 5, must be 0 or 1"),
    ({"reward": -1}, 422, "must be 0 or 1"),
    ({"reward": 0.5}, 409, "must be 0 or 1"),
    ({"reward": "1"}, 422, "is of type string"),
    ({"reward": True}, 422, "is of type boolean"),
    ({"reward": None}, 422, "is of type null"),
    ({}, 422, "field 'reward' is missing"),
    ({"reward": 1, "customer": "x"}, 422, "field 'customer' is not allowed"),
    ({"reward": 1, "arm": "zzz"}, 409, "arm == 'zzz' is not an arm"),
    ({"reward": 1, "arm": 7}, 409, "must be an arm index in [0, 2]"),
    ({"reward": 1, "decision_id": 123}, 422, "decision_id == 123"),
    ({"reward": 1, "decision_id": "f" * 32}, 404, "unknown or has expired"),
]


@pytest.mark.parametrize("payload, status, words", BAD_REWARDS)
def test_bad_rewards_get_a_4xx_with_a_message_and_change_nothing(make_client, payload, status,
                                                                 words):
    client = make_client()
    did = client.post("/decision").json()["decision_id"]
    before = state(client)
    r = client.post("/reward", json={"decision_id": did, **payload})
    assert r.status_code == status
    detail = r.json()["message"]
    assert isinstance(detail, str) and words in detail and detail.endswith(".")
    assert state(client) == before
    # and the decision can still get its real reward
    assert client.post("/reward", json={"decision_id": did, "reward": 0}).status_code == 200


def test_unparseable_bodies_and_non_finite_rewards(make_client):
    client = make_client()
    did = client.post("/decision").json()["decision_id"]
    before = state(client)
    cases = [
        dict(content=b"{not json", headers={"content-type": "application/json"}),
        dict(content=b"reward=1"),
        dict(json=[did, 1]),
        dict(),  # no body at all
        dict(content=('{"decision_id": "%s", "reward": NaN}' % did).encode(),
             headers={"content-type": "application/json"}),
    ]
    for kw in cases:
        r = client.post("/reward", **kw)
        assert r.status_code == 422, kw
        detail = r.json()["message"]
        assert isinstance(detail, str) and detail.startswith(("the body", "reward ==")), detail
    assert state(client) == before


def test_a_reward_for_another_arm_is_refused(make_client):
    client = make_client(rng=0)
    d = client.post("/decision").json()
    wrong = ARMS[(d["arm_index"] + 1) % 3]
    before = state(client)
    r = client.post("/reward", json={"decision_id": d["decision_id"], "reward": 1, "arm": wrong})
    assert r.status_code == 409 and f"chose {d['arm']!r}" in r.json()["message"]
    assert state(client) == before


def test_an_expired_decision_is_refused(make_client):
    client = make_client(ttl=0.2)
    did = client.post("/decision").json()["decision_id"]
    time.sleep(0.3)
    before = state(client)
    r = client.post("/reward", json={"decision_id": did, "reward": 1})
    assert r.status_code == 404 and "expired" in r.json()["message"]
    assert state(client) == before


@pytest.mark.parametrize("payload, status, words", [
    ({"context": [1.0, 2.0]}, 409, "does not use a context"),
    ({"arms": ["a", "zzz"]}, 409, "arms[1] == 'zzz' is not an arm"),
    ({"arms": []}, 422, "must be a non-empty list"),
    ({"arms": "a"}, 422, "must be a non-empty list"),
    ({"segment": "vip"}, 422, "field 'segment' is not allowed"),
])
def test_bad_decision_requests(make_client, payload, status, words):
    client = make_client()
    before = state(client)
    r = client.post("/decision", json=payload)
    assert r.status_code == status and words in r.json()["message"]
    assert state(client) == before


def test_eligible_arms_and_thompson_choice(sqlite_url, make_client):
    store = open_store(sqlite_url)
    store.create("t", BetaSpec(ARMS))
    for _ in range(300):  # arm "b" converts, the others never do
        for arm, r in (("a", 0), ("b", 1), ("c", 0)):
            store.record_reward("t", store.record_decision("t", arm), r)
    client = make_client(None, rng=3)
    arms = [client.post("/decision").json()["arm"] for _ in range(20)]
    assert arms == ["b"] * 20
    arms = {client.post("/decision", json={"arms": ["a", "c"]}).json()["arm"] for _ in range(20)}
    assert arms == {"a", "c"}
    store.close()


def test_same_seed_same_decisions(tmp_path, make_client):
    def run(path):
        client = make_client(url=f"sqlite:///{path}", rng=42)
        out = []
        for i in range(30):
            d = client.post("/decision").json()
            out.append(d["arm"])
            client.post("/reward", json={"decision_id": d["decision_id"], "reward": int(i % 4 == 0)})
        return out

    assert run(tmp_path / "one.sqlite3") == run(tmp_path / "two.sqlite3")


def test_same_decisions_on_sqlite_and_redis(tmp_path, redis_url, make_client):  # noqa: F811
    from service_fixtures import flush

    flush(redis_url)

    def run(url):
        client = make_client(url=url, rng=7)
        for i in range(40):
            d = client.post("/decision").json()
            client.post("/reward", json={"decision_id": d["decision_id"], "reward": int(i % 3 == 0)})
        s = client.get("/stats").json()
        return [(a["alpha"], a["beta"], a["decisions"]) for a in s["arms"]]

    assert run(f"sqlite:///{tmp_path / 's.sqlite3'}") == run(redis_url)


def test_contextual_service(store_url, make_client):
    spec = LinearSpec(ARMS, n_features=3, prior_var=1.0, noise_var=0.1)
    client = make_client(spec, url=store_url, rng=0)
    ts = LinearTS(3, 3, prior_var=1.0, noise_var=0.1)
    rng = np.random.default_rng(0)
    for _ in range(30):
        x = rng.normal(size=3).tolist()
        d = client.post("/decision", json={"context": x}).json()
        r = int(rng.random() < 0.5)
        assert client.post("/reward", json={"decision_id": d["decision_id"], "reward": r}).status_code == 200
        ts.update(x, d["arm_index"], r)
    stats = client.get("/stats").json()
    for k, arm in enumerate(stats["arms"]):
        np.testing.assert_allclose(arm["weights_mean"], ts.mean_[k], rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(arm["weights_sd"], np.sqrt(np.diag(ts.cov_[k])), rtol=1e-8)
    before = client.get("/stats").json()["arms"]
    for payload, words in [({}, "context is missing"),
                           ({"context": [1.0, 2.0]}, "has 2 entries, must have 3"),
                           ({"context": [1.0, "x", 2.0]}, "context[1] == 'x' is of type string, must be a finite"),
                           ({"context": "1,2,3"}, "must be a list of finite numbers"),
                           ({"context": [1.0, True, 2.0]}, "must be a finite number")]:
        r = client.post("/decision", json=payload)
        assert r.status_code in (409, 422) and words in r.json()["message"], (payload, r.json())
    assert client.get("/stats").json()["arms"] == before


def test_store_call_modes_agree(redis_url, tmp_path, make_client):  # noqa: F811
    from service_fixtures import flush

    def run(url, mode, name):
        client = make_client(url=url, name=name, rng=11, store_calls=mode)
        assert client.app.state.service.caller.mode == mode
        for i in range(25):
            d = client.post("/decision").json()
            body = {"decision_id": d["decision_id"], "reward": int(i % 4 == 1)}
            assert client.post("/reward", json=body).json()["status"] == "recorded"
            assert client.post("/reward", json=body).json()["status"] == "duplicate"
        return state(client)

    flush(redis_url)
    sqlite = f"sqlite:///{tmp_path / 'modes.sqlite3'}"
    results = [run(redis_url, "async", "r1"), run(redis_url, "threads", "r2"),
               run(sqlite, "inline", "s1"), run(sqlite, "threads", "s2")]
    assert all(r == results[0] for r in results)
    with pytest.raises(ValueError, match="has no coroutine methods"):
        make_client(url=sqlite, name="s3", store_calls="async")
