"""The service dashboard widget when the service is down (no kernel, no browser)."""
import socket

import matplotlib.pyplot
import pytest

from bandit_lab.service import monitoring
from bandit_lab.service.monitoring import dashboard_widget

pytestmark = pytest.mark.service


def closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fake_data(decisions=20):
    arm = {"name": "a", "decisions": decisions, "share": 1.0, "rewards": 10, "successes": 3,
           "conversion": 0.3, "conversion_low": 0.1, "conversion_high": 0.6, "mean": 0.3,
           "low": 0.1, "high": 0.6, "last_reward_at": 990.0}
    stats = {"bandit": "t", "decisions": decisions, "rewards": 10, "now": 1000.0,
             "level": 0.95, "arms": [arm]}
    timeline = {"arms": ["a"], "bucket_seconds": 1.0, "starts": [0.0, 1.0],
                "decisions": [[decisions // 2], [decisions - decisions // 2]]}
    return stats, timeline


def test_refresh_on_a_stopped_service_says_so_and_keeps_the_picture(monkeypatch):
    url = f"http://127.0.0.1:{closed_port()}"
    # The first refresh finds the service up (answered from saved data) ...
    monkeypatch.setattr(monitoring, "fetch", lambda u: fake_data())
    w = dashboard_widget(url)
    picture, table = w.figure.image.value, w.summary.value
    assert picture[:4] == b"\x89PNG" and "<td>a</td><td>20</td>" in table
    assert "not running" not in w.status.value
    # ... then it stops: Refresh reaches the real closed port.
    monkeypatch.undo()
    w.controls["refresh"].click()  # must not raise httpx.ConnectError
    assert (f"The service at {url} is not running: start it and press Refresh"
            in w.status.value)
    assert w.figure.image.value == picture and w.summary.value == table
    assert w.figure.renders == 1
    # Started again: the next Refresh redraws and the message goes away.
    monkeypatch.setattr(monitoring, "fetch", lambda u: fake_data(decisions=30))
    w.controls["refresh"].click()
    assert "not running" not in w.status.value
    assert "<td>a</td><td>30</td>" in w.summary.value and w.figure.renders == 2
    matplotlib.pyplot.close("all")


def test_a_service_never_started_gives_the_message_at_once():
    url = f"http://127.0.0.1:{closed_port()}"
    w = dashboard_widget(url)
    assert f"The service at {url} is not running" in w.status.value
    assert w.refresh() is None and w.figure.renders == 0


def test_other_errors_are_not_hidden():
    def broken():
        raise RuntimeError("bad data")

    with pytest.raises(RuntimeError, match="bad data"):
        dashboard_widget(fetch_fn=broken)


def test_arm_colours_stay_the_same_from_one_refresh_to_the_next():
    # The traffic plot has no legend: the table's swatches name its colours, so arm k must
    # keep colour Ck however often the dashboard is refreshed.
    from matplotlib.colors import to_hex

    stats, timeline = fake_data()
    names = ["a", "b", "c"]
    stats["arms"] = [dict(stats["arms"][0], name=n) for n in names]
    timeline = dict(timeline, arms=names, decisions=[[5, 3, 2], [4, 4, 2]])
    w = dashboard_widget(fetch_fn=lambda: (stats, timeline))
    expected = [to_hex(f"C{k}") for k in range(3)]
    for _ in range(3):
        traffic = w.figure.figure.axes[0]
        assert [to_hex(c.get_facecolor()[0]) for c in traffic.collections] == expected
        for color in expected:
            assert f"background:{color}" in w.summary.value
        assert traffic.get_legend() is None
        w.refresh()


def test_serve_and_start_buttons():
    served = []
    data = [fake_data()]

    def serve(n):
        served.append(n)
        data.append(fake_data(decisions=data[-1][0]["decisions"] + n))

    w = dashboard_widget(fetch_fn=lambda: data[-1], serve=serve)
    assert set(w.controls) == {"refresh", "serve"}
    w.controls["serve"].click()
    assert served == [100] and "<td>a</td><td>120</td>" in w.summary.value
    # a stopped service: the Start button starts it and the dashboard fills
    url = f"http://127.0.0.1:{closed_port()}"
    started = []
    w = dashboard_widget(url, start=lambda: started.append(1) or url)
    assert "Start service" in w.status.value and w.figure.renders == 0
    import bandit_lab.service.monitoring as m

    real = m.fetch
    m.fetch = lambda u: fake_data()
    try:
        w.controls["start"].click()
    finally:
        m.fetch = real
    assert started == [1] and w.figure.renders == 1
    matplotlib.pyplot.close("all")
