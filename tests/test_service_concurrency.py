"""Real services in subprocesses: several client processes posting at once through two
service instances sharing one store, and a service killed with SIGKILL mid-load."""
import json
import multiprocessing
import signal
import time

import numpy as np
import pytest

from bandit_lab.service.cli import start_service
from bandit_lab.service.stores import open_store
from service_fixtures import redis_url, sqlite_url, store_url  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.service, pytest.mark.slow]

ARMS = "a,b,c"


def _client(urls, n, seed, out):
    """Decide and reward ``n`` times, alternating between instances, retrying some rewards."""
    import httpx

    rng = np.random.default_rng(seed)
    clients = [httpx.Client(base_url=u, timeout=30) for u in urls]
    sums = np.zeros(3)
    for i in range(n):
        d = clients[i % len(clients)].post("/decision").json()
        r = int(rng.random() < 0.3)
        body = {"decision_id": d["decision_id"], "reward": r}
        assert clients[(i + 1) % len(clients)].post("/reward", json=body).status_code == 200
        if rng.random() < 0.25:  # the response was "lost": the client sends it again
            assert clients[i % len(clients)].post("/reward", json=body).json()["duplicate"]
        sums[d["arm_index"]] += r
    out.put(sums.tolist())


def test_clients_in_parallel_through_two_instances_count_exactly(store_url):
    opts = ("--arms", ARMS, "--alpha0", "2", "--beta0", "5", "--seed", "1")
    first = start_service(*opts, store=store_url, wait=False)
    second = start_service(*opts, store=store_url, wait=False)  # both start side by side
    try:
        first.wait_ready()
        second.wait_ready()
        ctx = multiprocessing.get_context("fork")
        out = ctx.Queue()
        n, n_procs = 60, 4
        procs = [ctx.Process(target=_client, args=([first.url, second.url], n, s, out))
                 for s in range(n_procs)]
        for p in procs:
            p.start()
        sums = np.sum([out.get(timeout=120) for _ in procs], axis=0)
        for p in procs:
            p.join(30)
            assert p.exitcode == 0
    finally:
        first.stop()
        second.stop()
    store = open_store(store_url)
    st = store.read("offers")
    store.close()
    assert int(st.decisions.sum()) == n * n_procs
    assert int(st.rewards.sum()) == n * n_procs
    assert st.reward_sums.tolist() == sums.tolist()
    np.testing.assert_array_equal(st.vectors[:, 0], 2.0 + sums)
    np.testing.assert_array_equal(st.vectors.sum(axis=1), 7.0 + st.rewards)


def _load(url, seed, path, stop_after=None):
    """Post decisions and rewards until the service dies (or ``stop_after`` seconds); log
    each acknowledged reward. A reward whose answer was an error or never came is sent
    again (at-least-once delivery), as a real client would."""
    import httpx

    rng = np.random.default_rng(seed)
    deadline = None if stop_after is None else time.monotonic() + stop_after
    with httpx.Client(base_url=url, timeout=5) as client, open(path, "w") as log:
        while deadline is None or time.monotonic() < deadline:
            try:
                d = client.post("/decision")
            except httpx.TransportError:
                if deadline is None:
                    return
                time.sleep(0.05)
                continue
            if d.status_code != 200:  # the store is down: 503, try again shortly
                time.sleep(0.05)
                continue
            d = d.json()
            r = int(rng.random() < 0.3)
            body = {"decision_id": d["decision_id"], "reward": r}
            while True:  # retry until acknowledged: the store may be restarting
                try:
                    resp = client.post("/reward", json=body)
                except httpx.TransportError:
                    if deadline is None:
                        return
                    resp = None
                if resp is not None and resp.status_code == 200:
                    log.write(json.dumps([d["decision_id"], r, resp.json()["duplicate"]]) + "\n")
                    log.flush()
                    break
                time.sleep(0.05)


def test_sigkill_mid_load_keeps_every_acknowledged_reward(store_url, tmp_path):
    svc = start_service("--arms", ARMS, "--alpha0", "2", "--beta0", "40", "--seed", "3",
                        store=store_url)
    ctx = multiprocessing.get_context("fork")
    logs = [tmp_path / f"acks{i}.jsonl" for i in range(3)]
    procs = [ctx.Process(target=_load, args=(svc.url, i, logs[i])) for i in range(3)]
    try:
        for p in procs:
            p.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # let a few hundred rewards through, then kill
            time.sleep(0.1)
            if sum(len(p.read_text().splitlines()) for p in logs if p.exists()) >= 150:
                break
    finally:
        assert svc.kill() == -signal.SIGKILL
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    acked = [json.loads(line)[:2] for p in logs for line in p.read_text().splitlines()]
    assert len(acked) >= 150

    restarted = start_service(store=store_url)  # no spec given: the stored one is served
    try:
        import httpx

        stats = httpx.get(restarted.url + "/stats").json()
        assert [a["name"] for a in stats["arms"]] == ARMS.split(",")
    finally:
        # SIGTERM: what is in flight finishes, the store is closed, the exit status is 0
        assert restarted.stop() == 0
    assert "Traceback" not in restarted.log()
    store = open_store(store_url)
    for did, r in acked:
        d = store.decision("offers", did)
        assert d is not None and d["reward"] == r, did
    st = store.read("offers")
    store.close()
    # every acknowledged reward is counted; a reward that was written but whose answer
    # never left the dying process may be counted too, and nothing else
    assert len(acked) <= stats["rewards"] <= len(acked) + len(procs)
    assert stats["rewards"] == int(st.rewards.sum())
    # the posterior is exactly the stored prior plus the rewards: no half-written update
    np.testing.assert_array_equal(st.vectors[:, 0], 2.0 + st.reward_sums)
    np.testing.assert_array_equal(st.vectors[:, 1], 40.0 + st.rewards - st.reward_sums)


def test_redis_killed_and_restarted_under_load_loses_no_acknowledged_reward(tmp_path):
    """Redis dies (SIGKILL) twice under the load of three clients and comes back from its
    append-only file (appendfsync always): every reward a client got a 200 for is there,
    and the rewards it retried while Redis was down are counted once."""
    import shutil

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    from bandit_lab.service.cli import start_redis

    server = start_redis(tmp_path / "redis", appendfsync="always")
    svc = start_service("--arms", ARMS, "--alpha0", "2", "--beta0", "40", "--seed", "4",
                        store=server.url)
    ctx = multiprocessing.get_context("fork")
    logs = [tmp_path / f"acks{i}.jsonl" for i in range(3)]
    procs = [ctx.Process(target=_load, args=(svc.url, 10 + i, logs[i], 6.0)) for i in range(3)]
    try:
        for p in procs:
            p.start()
        for _ in range(2):
            time.sleep(1.5)
            server.kill()
            time.sleep(0.5)  # clients get 503s meanwhile
            server.restart()
        for p in procs:
            p.join(60)
            assert p.exitcode == 0
        store = open_store(server.url)
        acked = [json.loads(line) for p in logs for line in p.read_text().splitlines()]
        assert len(acked) >= 30
        for did, r, _dup in acked:
            d = store.decision("offers", did)
            assert d is not None and d["reward"] == r, did
        st = store.read("offers")
        log_rows = store.log("offers", limit=100_000).rows
        rewarded = [row for row in log_rows if row["reward"] is not None]
        store.close()
    finally:
        assert svc.stop() == 0
        server.stop()
    # each acknowledged decision counted exactly once, whatever the retries
    assert len({did for did, _, _ in acked}) == len(acked)
    assert int(st.rewards.sum()) == len(rewarded) >= len(acked)
    np.testing.assert_array_equal(st.vectors[:, 0], 2.0 + st.reward_sums)
    np.testing.assert_array_equal(st.vectors[:, 1], 40.0 + st.rewards - st.reward_sums)
