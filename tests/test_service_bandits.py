"""Many bandits per service: the admin API, a config file, two instances seeing the same
set; API keys; /metrics; the exported decision log."""
import csv
import json
import sqlite3
import warnings
from pathlib import Path

import numpy as np
import pytest

from bandit_lab.service.app import create_app
from bandit_lab.service.auth import ApiKeys
from bandit_lab.service.config import load_config
from bandit_lab.service.decision_log import export_log, log_frame
from bandit_lab.service.models import BetaSpec, LinearSpec
from bandit_lab.service.stores import LOG_COLUMNS, SQLiteStore, open_store
from service_fixtures import redis_url, sqlite_url, store_url  # noqa: F401  (fixtures)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.service


def app_on(url, **kw):
    store = open_store(url)
    kw.setdefault("purge_every", None)
    return store, create_app(store, kw.pop("name", "offers"), kw.pop("spec", BetaSpec(("a", "b"))),
                             **kw)


def test_admin_api_and_two_instances_see_the_same_bandits(store_url):
    s1, app1 = app_on(store_url, rng=1)
    s2, app2 = app_on(store_url, rng=2)
    with TestClient(app1) as one, TestClient(app2) as two:
        r = one.post("/admin/bandits", json={"name": "banners", "kind": "beta",
                                             "arms": ["red", "blue"], "alpha0": 2, "beta0": 20})
        assert r.status_code == 201 and r.json()["arms"] == ["red", "blue"]
        again = one.post("/admin/bandits", json={"name": "banners", "kind": "beta",
                                                 "arms": ["red", "blue"], "alpha0": 2,
                                                 "beta0": 20})
        assert again.status_code == 200  # the same spec: nothing to do
        assert {b["name"] for b in two.get("/admin/bandits").json()["bandits"]} == \
            {"offers", "banners"}
        d = two.post("/bandits/banners/decision").json()  # the other instance serves it
        assert d["arm"] in ("red", "blue") and d["bandit"] == "banners"
        assert one.post("/bandits/banners/reward", json={"decision_id": d["decision_id"],
                                                         "reward": 1}).status_code == 200
        # an arm with its own prior, added while two instances serve the bandit
        two.post("/bandits/banners/decision")  # two has the old spec cached
        r = one.post("/admin/bandits/banners/arms", json={"name": "green", "alpha0": 1,
                                                          "beta0": 5})
        assert r.status_code == 200 and r.json()["arms"] == ["red", "blue", "green"]
        seen = {two.post("/bandits/banners/decision", json={"arms": ["green"]}).json()["arm"]
                for _ in range(3)}
        assert seen == {"green"}  # the other instance noticed at its next decision
        stats = two.get("/bandits/banners/stats").json()
        green = stats["arms"][2]
        assert (green["alpha"], green["beta"], green["decisions"]) == (1.0, 5.0, 3)
        assert stats["arms"][0]["alpha"] + stats["arms"][1]["alpha"] == 5.0  # 2 + 2 + 1 reward
        # describe, retire: no new decisions, rewards and log remain
        assert one.get("/admin/bandits/banners").json()["generation"] == 1
        pending = two.post("/bandits/banners/decision").json()
        r = one.post("/admin/bandits/banners/retire")
        assert r.status_code == 200 and r.json()["status"] == "retired"
        r = two.post("/bandits/banners/decision")
        assert r.status_code == 409 and "retired" in r.json()["message"]
        assert two.post("/bandits/banners/reward", json={"decision_id": pending["decision_id"],
                                                         "reward": 0}).status_code == 200
        assert len(one.get("/bandits/banners/log").json()["rows"]) == 6
        assert two.get("/ready").json()["bandits"] == ["offers"]
    s1.close()
    s2.close()


def test_the_prior_of_an_added_arm_survives_a_restart_with_the_old_spec(sqlite_url):
    store, app = app_on(sqlite_url, spec=BetaSpec(("a", "b"), alpha0=2.0, beta0=40.0))
    with TestClient(app) as client:
        client.post("/admin/bandits/offers/arms", json={"name": "c", "alpha0": 1, "beta0": 9})
    store.close()
    # the same command line as before (two arms) serves the three: arms added are kept
    store, app = app_on(sqlite_url, spec=BetaSpec(("a", "b"), alpha0=2.0, beta0=40.0))
    with TestClient(app) as client:
        arms = client.get("/stats").json()["arms"]
        assert [(a["name"], a["alpha"], a["beta"]) for a in arms] == \
            [("a", 2.0, 40.0), ("b", 2.0, 40.0), ("c", 1.0, 9.0)]
    assert store.prior("offers").tolist() == [[2.0, 40.0], [2.0, 40.0], [1.0, 9.0]]
    store.close()
    with pytest.raises(Exception, match="is stored with"):  # but not a different prior
        app_on(sqlite_url, spec=BetaSpec(("a", "b")))


def test_config_file(tmp_path, sqlite_url):
    path = tmp_path / "bandit-lab.toml"
    path.write_text(f'''
[service]
store = "{sqlite_url}"
default = "offers"
ttl = 600
propensity = "exact"

[bandits.offers]
kind = "beta"
arms = ["cashback", "travel", {{ name = "premium", alpha0 = 1, beta0 = 20 }}]
alpha0 = 2
beta0 = 40

[bandits.personal]
kind = "linear"
arms = ["cashback", "travel"]
n_features = 3
feature_names = ["age", "income", "tenure"]
''')
    config = load_config(path)
    assert config.service["ttl"] == 600.0
    assert config.bandits["offers"].prior().tolist() == [[2, 40], [2, 40], [1, 20]]
    assert config.bandits["personal"] == LinearSpec(("cashback", "travel"), n_features=3,
                                                    feature_names=("age", "income", "tenure"))
    from bandit_lab.service.cli import main

    bad = tmp_path / "bad.toml"
    for text, words in [("[service]\nport = 'x'\n", "service.port"),
                        ("[bandits.a]\nkind = 'gamma'\narms = ['x']\n", "must be 'beta' or"),
                        ("[bandits.a]\narms = ['x']\ncolour = 1\n", "not an option"),
                        ("[service\n", "not valid TOML")]:
        bad.write_text(text)
        with pytest.raises(ValueError, match=words):
            load_config(bad)
    assert main(["--config", str(bad)]) == 2


def test_a_config_files_keys_file_is_found_next_to_it(tmp_path, monkeypatch):
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "a.toml").write_text('[service]\napi_keys_file = "keys.txt"\n')
    absolute = tmp_path / "k.txt"
    (folder / "b.toml").write_text(f'[service]\napi_keys_file = "{absolute}"\n')
    monkeypatch.chdir(tmp_path)  # started from elsewhere
    assert load_config(folder / "a.toml").service["api_keys_file"] == str(folder / "keys.txt")
    assert load_config("etc/a.toml").service["api_keys_file"] == str(Path("etc") / "keys.txt")
    assert load_config(folder / "b.toml").service["api_keys_file"] == str(tmp_path / "k.txt")


def test_api_keys(sqlite_url, tmp_path):
    client_key, admin_key = "client-key-0123456789abcdef", "admin-key-0123456789abcdef"
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text(f"# keys\n{client_key}\n{admin_key} admin\n")
    keys = ApiKeys(keys_file, env="")
    store, app = app_on(sqlite_url, keys=keys)
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200  # probes are open
        r = client.post("/decision")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        assert client.post("/decision", headers={"Authorization": "Bearer wrong-key-xxxxxxxxx"}
                           ).status_code == 401
        c = {"Authorization": f"Bearer {client_key}"}
        a = {"Authorization": f"Bearer {admin_key}"}
        assert client.post("/decision", headers=c).status_code == 200
        assert client.get("/metrics", headers=c).status_code == 200
        assert client.get("/admin/bandits", headers=c).status_code == 403
        assert client.get("/admin/bandits", headers=a).status_code == 200
        assert client.post("/decision", headers=a).status_code == 200  # admin can do all
        schema = client.get("/openapi.json").json()
        assert "apiKey" in schema["components"]["securitySchemes"]
        # rotation: a new key file; the old client key stops working within a second
        import time

        time.sleep(1.1)
        keys_file.write_text(f"new-client-key-0123456789abcdef\n{admin_key} admin\n")
        time.sleep(1.1)
        assert client.post("/decision", headers=c).status_code == 401
        assert client.post("/decision", headers={
            "Authorization": "Bearer new-client-key-0123456789abcdef"}).status_code == 200
    store.close()
    with pytest.raises(ValueError, match="at least 16"):
        ApiKeys(env="short")
    # off loopback, keys are required
    from bandit_lab.service.cli import main

    assert main(["--store", sqlite_url, "--host", "0.0.0.0", "--port", "0"]) == 2


def test_a_key_file_emptied_during_rotation_never_opens_the_service(sqlite_url, tmp_path,
                                                                     capsys):
    """A rotation that truncates the file first (`> keys.txt`) must not switch the checks
    off: with no valid key every request is refused, until the new keys are written."""
    old, new = "old-client-key-0123456789abcdef", "new-client-key-0123456789abcdef"
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text(old + "\n")
    keys = ApiKeys(keys_file, env="", recheck=0.0)
    store, app = app_on(sqlite_url, keys=keys)
    with TestClient(app) as client:
        assert client.post("/decision").status_code == 401
        keys_file.write_text("")
        for _ in range(3):  # the reload happens on the first; none may be let through
            assert client.post("/decision").status_code == 401
            assert client.post("/decision", headers={"Authorization": f"Bearer {old}"}
                               ).status_code == 401
        keys_file.write_text(f"# rotated\n{new}\n")
        assert client.post("/decision", headers={"Authorization": f"Bearer {new}"}
                           ).status_code == 200
        assert client.post("/decision").status_code == 401
        assert client.get("/metrics").status_code == 401
    store.close()
    from bandit_lab.service.cli import main

    keys_file.write_text("# no key yet\n")  # asked for keys, gave none: refused at start
    assert main(["--store", sqlite_url, "--port", "0", "--api-keys", str(keys_file)]) == 2
    assert "hold no key" in capsys.readouterr().err


def test_metrics(sqlite_url):
    store, app = app_on(sqlite_url, rng=0, spec=BetaSpec(("a", "b", "never")))
    with TestClient(app) as client:
        arms = [client.post("/decision", json={"arms": ["a", "b"]}).json() for _ in range(5)]
        client.post("/reward", json={"decision_id": arms[0]["decision_id"], "reward": 1})
        client.post("/reward", json={"decision_id": arms[0]["decision_id"], "reward": 1})
        client.post("/admin/bandits", json={"name": "other", "kind": "beta", "arms": ["x"]})
        for i in range(30):  # methods a client invents are counted as "other", not each
            client.request(f"M{i}X", "/stats")
        text = client.get("/metrics").text
    for arm in ("a", "b", "never"):  # every arm, from 0: an arm never chosen is visible
        n = sum(d["arm"] == arm for d in arms)
        assert f'bandit_decisions_total{{arm="{arm}",bandit="offers"}} {float(n)}' in text
    assert 'bandit_decisions_total{arm="x",bandit="other"} 0.0' in text
    first = arms[0]["arm"]
    assert f'bandit_rewards_total{{arm="{first}",bandit="offers",result="recorded"}} 1.0' in text
    assert f'bandit_rewards_total{{arm="{first}",bandit="offers",result="duplicate"}} 1.0' in text
    assert f'bandit_reward_sum_total{{arm="{first}",bandit="offers"}} 1.0' in text
    assert 'bandit_decision_seconds_count{bandit="offers"} 5.0' in text
    assert 'bandit_http_requests_total{method="POST",route="/decision",status="200"} 5.0' in text
    assert 'bandit_http_requests_total{method="other",route="/stats",status="405"} 30.0' in text
    assert "M1X" not in text
    store.close()


def test_export_log_writes_every_stored_row_whatever_the_retention(tmp_path):
    path = tmp_path / "kept-90-days.sqlite3"
    store = SQLiteStore(path, retention=90 * 86400.0)  # the service keeps 90 days
    store.create("offers", BetaSpec(("a", "b")))
    ids = [store.record_decision("offers", i % 2, ttl=60, propensity=0.5) for i in range(10)]
    store.close()
    with sqlite3.connect(path) as con:  # eight of them made a month ago
        con.execute("UPDATE decisions SET created_at = created_at - 30 * 86400, "
                    f"expires_at = expires_at - 30 * 86400 WHERE id IN ({','.join('?' * 8)})",
                    ids[:8])
    from bandit_lab.cli import main

    out = tmp_path / "log.csv"
    assert main(["export-log", str(out), "--store", f"sqlite:///{path}"]) == 0
    assert sorted(r["decision_id"] for r in csv.DictReader(out.open())) == sorted(ids)


def test_export_log(store_url, tmp_path, capsys):
    store = open_store(store_url)
    spec = LinearSpec(("a", "b"), n_features=2)
    with TestClient(create_app(store, "p", spec, rng=0, purge_every=None)) as client:
        ds = [client.post("/decision", json={"context": [1.0, float(i)]}).json()
              for i in range(5)]
        client.post("/decision", json={"context": [0.5, 0.5], "arms": ["b"]})
        client.post("/reward", json={"decision_id": ds[1]["decision_id"], "reward": 1})
        pages, after = [], None
        while True:  # paging by cursor gives every row once
            q = "/bandits/p/log?limit=2" + (f"&after={after}" if after else "")
            page = client.get(q).json()
            pages += page["rows"]
            after = page["next_after"]
            if after is None:
                break
    assert [r["decision_id"] for r in pages[:5]] == [d["decision_id"] for d in ds]
    frame = log_frame(store, "p")
    assert list(frame.columns) == [*LOG_COLUMNS, "x0", "x1"]
    assert frame["x1"].tolist()[:5] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert frame["reward"].notna().sum() == 1 and frame["eligible"].iloc[5] == '["b"]'
    assert frame["propensity"].iloc[5] == 1.0
    np.testing.assert_allclose(frame["propensity"][:5], [d["propensity"] for d in ds])
    path = tmp_path / "log.csv"
    from bandit_lab.cli import main

    assert main(["export-log", str(path), "--store", store_url, "--bandit", "p"]) == 0
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 6 and float(rows[1]["reward"]) == 1.0 and rows[0]["reward"] == ""
    assert float(rows[0]["time"]) == frame["time"].iloc[0]  # full precision
    assert main(["export-log", str(tmp_path / "x.csv"), "--store", store_url, "--bandit",
                 "nope"]) == 2
    missing = tmp_path / "typo.sqlite3"  # a wrong path is an error, not a new empty store
    assert main(["export-log", str(tmp_path / "x.csv"), "--store", f"sqlite:///{missing}"]) == 2
    assert not missing.exists() and "does not exist" in capsys.readouterr().err
    assert main(["export-log", str(tmp_path / "x.csv"), "--store", store_url, "--bandit", "p",
                 "--since", "100", "--until", "50"]) == 2
    assert "--until 50.0 is before --since 100.0" in capsys.readouterr().err
    try:
        import pyarrow  # noqa: F401
    except ImportError:  # not a dependency: the export says what to install
        with pytest.raises(ValueError, match="needs the pyarrow package"):
            export_log(store, "p", tmp_path / "log.parquet")
        assert main(["export-log", str(tmp_path / "log.parquet"), "--store", store_url,
                     "--bandit", "p"]) == 2
        assert "pip install pyarrow" in capsys.readouterr().err
    else:  # where it is installed, the Parquet file holds the same table
        import pandas as pd

        assert export_log(store, "p", tmp_path / "log.parquet") == 6
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "log.parquet"), frame)
    store.close()


def test_arms_added_stop_at_the_most_a_bandit_takes(sqlite_url):
    """Arms added one by one could pass the 100 arms a bandit is created with, beyond what a
    reward's "arm" index and a decision's "arms" list can name."""
    store, app = app_on(sqlite_url, spec=BetaSpec(tuple(f"a{k}" for k in range(99))))
    with TestClient(app) as client:
        assert client.post("/admin/bandits/offers/arms", json={"name": "last"}).status_code == 200
        r = client.post("/admin/bandits/offers/arms", json={"name": "one-too-many"})
        assert r.status_code == 409 and "the most a bandit takes (100)" in r.json()["message"]
        assert len(client.get("/admin/bandits/offers").json()["arms"]) == 100
        d = client.post("/decision", json={"arms": ["last"]}).json()
        assert client.post("/reward", json={"decision_id": d["decision_id"], "reward": 1,
                                             "arm": 99}).status_code == 200
        client.post("/admin/bandits", json={"name": "wide", "kind": "linear", "arms": ["a"],
                                            "n_features": 64})  # 4160 numbers an arm
        codes = [client.post("/admin/bandits/wide/arms", json={"name": f"b{k}"}).status_code
                 for k in range(12)]
        assert codes == [200] * 11 + [409]  # 12 arms keep 49,920 numbers; 13, over 50,000
    store.close()
