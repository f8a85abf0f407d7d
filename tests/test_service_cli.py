"""`bandit-lab serve` options and the monitoring plots (restarts: test_service_concurrency)."""
import time
import warnings

import matplotlib
import numpy as np
import pytest

from bandit_lab.cli import main as bandit_lab_main
from bandit_lab.environments import OFFER_NAMES
from bandit_lab.service.cli import _spec_from_args, build_parser, main
from bandit_lab.service.models import BetaSpec, LinearSpec
from bandit_lab.service.monitoring import (dashboard_widget, plot_conversion, plot_dashboard,
                                           plot_freshness, plot_traffic, traffic_shares)
from bandit_lab.service.stores import open_store
from service_fixtures import sqlite_url  # noqa: F401  (fixture)

pytestmark = pytest.mark.service

matplotlib.use("Agg")


def spec_for(argv, stored=None):
    return _spec_from_args(build_parser().parse_args(argv), stored)


def test_options_make_the_spec():
    assert spec_for([]) == BetaSpec(OFFER_NAMES)
    assert spec_for(["--arms", "x,y", "--alpha0", "2", "--beta0", "40"]) == \
        BetaSpec(("x", "y"), alpha0=2.0, beta0=40.0)
    assert spec_for(["--contextual", "--n-features", "4", "--arms", "x,y"]) == \
        LinearSpec(("x", "y"), n_features=4)
    stored = BetaSpec(("x", "y"), alpha0=2.0, beta0=40.0)
    assert spec_for([], stored) is None  # no options: serve what is stored
    assert spec_for(["--alpha0", "3"], stored) == BetaSpec(("x", "y"), alpha0=3.0, beta0=40.0)
    for argv, words in [(["--contextual"], "--n-features is missing"),
                        (["--n-features", "3"], "need --contextual"),
                        (["--contextual", "--n-features", "2", "--alpha0", "2"], "Beta prior")]:
        with pytest.raises(ValueError, match=words):
            spec_for(argv)


def test_serve_refuses_a_spec_that_contradicts_the_store(sqlite_url, capsys):
    store = open_store(sqlite_url)
    store.create("offers", BetaSpec(("x", "y"), alpha0=2.0, beta0=40.0))
    store.close()
    assert main(["--store", sqlite_url, "--alpha0", "1"]) == 2
    assert "is stored with" in capsys.readouterr().err
    assert main(["--store", "postgres://nope"]) == 2
    assert "must start with 'sqlite:///' or 'redis://'" in capsys.readouterr().err
    assert bandit_lab_main(["serve", "--store", sqlite_url, "--contextual"]) == 2
    assert "--n-features is missing" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        bandit_lab_main(["serve", "--help"])
    assert exc.value.code == 0
    assert "--store" in capsys.readouterr().out


# --- monitoring -------------------------------------------------------------------------
def fake_data(now=1000.0):
    stats = {"bandit": "t", "level": 0.95, "now": now, "decisions": 30, "rewards": 20, "arms": [
        {"name": "a", "decisions": 20, "share": 2 / 3, "rewards": 15, "reward_sum": 3.0,
         "conversion": 0.2, "conversion_low": 0.07, "conversion_high": 0.42,
         "last_reward_at": now - 5.0, "alpha": 4.0, "beta": 13.0, "mean": 4 / 17,
         "low": 0.07, "high": 0.45},
        {"name": "b", "decisions": 10, "share": 1 / 3, "rewards": 5, "reward_sum": 0.0,
         "conversion": 0.0, "conversion_low": 0.004, "conversion_high": 0.41,
         "last_reward_at": None, "alpha": 1.0, "beta": 6.0, "mean": 1 / 7,
         "low": 0.004, "high": 0.41}]}
    timeline = {"arms": ["a", "b"], "bucket_seconds": 60.0, "starts": [0.0, 60.0, 180.0],
                "decisions": [[5, 5], [10, 0], [5, 5]], "rewards": [[5, 0], [5, 0], [5, 5]],
                "reward_sums": [[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]}
    return stats, timeline


def test_traffic_shares_and_plots():
    stats, timeline = fake_data()
    np.testing.assert_allclose(traffic_shares(timeline), [[0.5, 0.5], [1.0, 0.0], [0.5, 0.5]])
    ax = plot_traffic(timeline)
    assert ax.get_title() == "Traffic allocation over time"
    assert "minutes" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    ax = plot_conversion(stats)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a (n=15)", "b (n=5)"]
    ax = plot_freshness(stats)
    widths = [p.get_width() for p in ax.patches]
    assert widths == [5.0, 0.0]
    assert any("no reward yet" in t.get_text() for t in ax.texts)
    fig = matplotlib.figure.Figure()
    assert len(plot_dashboard(stats, timeline, fig=fig)) == 3
    empty = {"arms": ["a"], "bucket_seconds": 60.0, "starts": [], "decisions": [],
             "rewards": [], "reward_sums": []}
    assert plot_traffic(empty).texts[0].get_text() == "no decisions yet"
    matplotlib.pyplot.close("all")


def test_dashboard_widget_redraws_with_new_data():
    data = [fake_data()]
    w = dashboard_widget(fetch_fn=lambda: data[-1])
    first = w.figure.image.value
    assert first[:4] == b"\x89PNG" and "<td>a</td><td>20</td><td>66.7%</td>" in w.summary.value
    stats, timeline = fake_data(now=2000.0)
    stats["arms"][0]["decisions"] = 25
    stats["decisions"] = 35
    stats["arms"][0]["conversion"] = 0.3
    data.append((stats, timeline))
    w.controls["refresh"].click()
    assert w.figure.renders == 2 and bytes(w.figure.image.value) != bytes(first)
    assert "<td>a</td><td>25</td>" in w.summary.value
    with pytest.raises(ValueError, match="url is None"):
        dashboard_widget()


def test_dashboard_on_a_live_service(sqlite_url):
    from bandit_lab.service.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    store = open_store(sqlite_url)
    client = TestClient(create_app(store, "t", BetaSpec(("x", "y"), bucket_seconds=0.05), rng=0))
    for i in range(12):
        d = client.post("/decision").json()
        client.post("/reward", json={"decision_id": d["decision_id"], "reward": i % 2})
        time.sleep(0.01)
    stats, timeline = client.get("/stats").json(), client.get("/timeline").json()
    assert len(timeline["starts"]) >= 2
    assert np.sum(timeline["decisions"]) == 12 == stats["decisions"]
    w = dashboard_widget(fetch_fn=lambda: (stats, timeline))
    assert w.figure.renders == 1
    store.close()
    matplotlib.pyplot.close("all")
