"""The status page's routes over real HTTP, fed by real MQTT messages: credentials, what
the board makes of the topics, the retry request and its refusals."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from arrsync.settings import Settings
from arrsync.wire.alert import Alert, Problem
from arrsync.wire.job import JobState
from arrsync.wire.statistics import DayTotal, JobEntry, SyncerStats, Tally
from bridge.dashboard.chart import bar_chart
from tests.helpers import MqttWatcher, http, mosquitto_pub, secured_broker, wait_until
from tests.processes import RunningBridge
from tools.localbroker import LocalBroker

AUTH = ("admin", "Page-Secret-9")
ROUTES = [("GET", "/"), ("GET", "/live"), ("GET", "/api/status"), ("POST", "/api/retry"),
          ("GET", "/metrics"), ("GET", "/assets/status.js"), ("GET", "/assets/status.css")]


@pytest.fixture
def running(broker: LocalBroker, make_settings: Callable[..., Settings],
            start_bridge: Callable[[Settings], RunningBridge]) -> RunningBridge:
    bridge = start_bridge(make_settings(broker, bridge={"username": AUTH[0],
                                                        "password": AUTH[1]}))
    wait_until(bridge.service.mqtt.connected.is_set, message="bridge connected")
    return bridge


def status_message(job: str, state: str, at: str, **fields: object) -> str:
    return json.dumps({"job": job, "state": state, "trigger": None, "title": f"Film {job}",
                       "app": "radarr", "mapping": "Movies", "source": None, "dest": None,
                       "max_attempts": 5, "at": at, **fields})


def api_status(bridge: RunningBridge) -> dict:
    answer = http("GET", f"{bridge.url}/api/status", auth=AUTH)
    assert answer.status == 200
    return answer.json()


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_page_route_needs_the_webhook_credentials(
    running: RunningBridge, method: str, path: str,
) -> None:
    answer = http(method, f"{running.url}{path}", "{}" if method == "POST" else None)
    assert answer.status == 401
    assert answer.headers["www-authenticate"].startswith("Basic")
    wrong = http(method, f"{running.url}{path}", "{}" if method == "POST" else None,
                 auth=(AUTH[0], "wrong"))
    assert wrong.status == 401


def test_page_and_assets_are_served_with_a_strict_policy(running: RunningBridge) -> None:
    page = http("GET", f"{running.url}/", auth=AUTH)
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "style-src 'self'" in page.headers["content-security-policy"]
    text = page.body.decode()
    for section in ("components", "running", "failed", "recent", "stats"):
        assert f'id="{section}"' in text
    assert "<script>" not in text and "style=" not in text  # nothing the policy would block
    for asset, kind in (("status.js", "javascript"), ("status.css", "text/css"),
                        ("icon.svg", "image/svg+xml")):
        answer = http("GET", f"{running.url}/assets/{asset}", auth=AUTH)
        assert answer.status == 200 and kind in answer.headers["content-type"], asset
    assert http("GET", f"{running.url}/health").status == 200  # still without credentials


def test_the_board_shows_what_the_topics_carry(
    running: RunningBridge, broker: LocalBroker, base_topic: str,
) -> None:
    stats = SyncerStats(
        at="2026-11-25T12:00:00.000Z",
        recent=[JobEntry(job="old1", state=JobState.SUCCEEDED, title="Film old1",
                         mapping="Movies", bytes=5, at="2026-11-25T11:00:00.000Z"),
                JobEntry(job="run1", state=JobState.PROGRESS, title="Film run1",
                         mapping="Movies", percent=10, at="2026-11-25T11:59:00.000Z")],
        today=Tally(count=1, bytes=5), days=[DayTotal(date="2026-11-25", count=1, bytes=5)],
    )

    def pub(topic: str, message: str, retain: bool = False) -> None:
        mosquitto_pub(broker.port, f"{base_topic}/{topic}", message, retain=retain)

    pub("syncer/availability", "online", retain=True)
    pub("syncer/state", json.dumps({"queued": 2, "retrying": 1, "running": 1}), retain=True)
    pub("syncer/stats", stats.model_dump_json(), retain=True)
    # A live message newer than the statistics wins; an older one does not.
    pub("sync/progress", status_message("run1", "progress", "2026-11-25T12:00:01.000Z",
                                        percent=55, bytes_per_s=1000, eta_s=9))
    pub("sync/failed", status_message("bad1", "failed", "2026-11-25T12:00:02.000Z",
                                      error="rsync said <no>"))
    pub("sync/queued", status_message("old1", "queued", "2026-11-25T10:00:00.000Z"))
    pub("sync/failed", "not json")  # ignored, the page goes on
    pub("sync/request", '{"path": "/movies/x"}')  # a request, not a status
    pub("sync/test", status_message("t1", "test", "2026-11-25T12:00:03.000Z"))

    view = wait_until(lambda: (v := api_status(running))["failed"] and v, message="the board")
    assert view["availability"]["syncer"] == "online"
    assert view["availability"]["notifier"] == "unknown"
    assert view["summary"]["queued"] == 2
    assert [(e["job"], e["percent"]) for e in view["running"]] == [("run1", 55)]
    assert [e["job"] for e in view["failed"]] == ["bad1"]
    assert {e["job"]: e["state"] for e in view["recent"]} == \
        {"bad1": "failed", "run1": "progress", "old1": "succeeded"}
    assert view["today"]["count"] == 1 and view["stats_at"] == stats.at
    page = http("GET", f"{running.url}/live", auth=AUTH).body.decode()
    assert "rsync said &lt;no&gt;" in page  # escaped: arr titles and errors are not markup
    assert '<progress max="100" value="55"' in page
    assert 'data-retry="bad1"' in page


def test_alerts_are_shown_while_active(
    running: RunningBridge, broker: LocalBroker, base_topic: str,
) -> None:
    """The notifier's alert for a message it could not deliver (and any component's) is on
    the page until an alert says that problem is over."""
    def alert(component: str, problem: Problem, active: bool, message: str) -> None:
        mosquitto_pub(broker.port, f"{base_topic}/{component}/alert", Alert(
            component=component, problem=problem, active=active, message=message,
            at="2026-11-25T12:00:00.000Z").model_dump_json())

    alert("notifier", Problem.NOTIFY, True, "not delivered to tgram://…/123: timed out")
    alert("bridge", Problem.SPOOL, True, "the spool cannot be written")
    view = wait_until(lambda: len((v := api_status(running))["alerts"]) == 2 and v,
                      message="two alerts")
    assert {a["component"] for a in view["alerts"]} == {"notifier", "bridge"}
    page = http("GET", f"{running.url}/live", auth=AUTH).body.decode()
    assert "Needs attention" in page and "not delivered to tgram://…/123" in page
    alert("bridge", Problem.SPOOL, False, "the spool works again")
    view = wait_until(lambda: len((v := api_status(running))["alerts"]) == 1 and v,
                      message="the bridge's alert gone")
    assert view["alerts"][0]["problem"] == "notify"


def test_retry_publishes_a_request_for_the_syncer(
    running: RunningBridge, broker: LocalBroker, base_topic: str,
) -> None:
    with MqttWatcher(broker.port, [f"{base_topic}/sync/request"]) as watcher:
        answer = http("POST", f"{running.url}/api/retry", json.dumps({"job": "abc123def456"}),
                      auth=AUTH)
        request = watcher.wait_for("/sync/request")[0]
    assert answer.status == 202 and answer.json() == {"status": "requested",
                                                      "job": "abc123def456"}
    assert request.qos == 1 and not request.retain
    body = request.json()
    assert body["retry"] == "abc123def456" and body["id"].startswith("web-")


@pytest.mark.parametrize(
    ("body", "headers", "status", "says"),
    [
        ("job=abc", {"Content-Type": "application/x-www-form-urlencoded"}, 415, "JSON"),
        ('{"job": "../../x"}', {}, 400, "job id"),
        ('{"job": 5}', {}, 400, "job id"),
        ("[1]", {}, 415, "JSON"),
        ('{"job": "abc"}', {"Origin": "http://evil.example"}, 403, "cross-site"),
    ],
    ids=["form", "path", "number", "not-an-object", "other-origin"],
)
def test_retry_refuses_what_is_not_a_same_site_json_request(
    running: RunningBridge, broker: LocalBroker, base_topic: str, body: str,
    headers: dict[str, str], status: int, says: str,
) -> None:
    with MqttWatcher(broker.port, [f"{base_topic}/sync/request"]) as watcher:
        answer = http("POST", f"{running.url}/api/retry", body, headers=headers, auth=AUTH)
        assert answer.status == status and says in answer.json()["error"]
        # Nothing was published: a control request from the page itself comes alone.
        http("POST", f"{running.url}/api/retry", '{"job": "control"}', auth=AUTH,
             headers={"Origin": running.url})
        watcher.wait_for("/sync/request")
        assert [m.json()["retry"] for m in watcher.messages] == ["control"]


def test_retry_says_when_the_broker_refuses_it(
    make_settings: Callable[..., Settings], start_bridge: Callable[[Settings], RunningBridge],
    tmp_path: Path,
) -> None:
    """An ACL without the bridge's right to publish requests: 502 and what to change."""
    strict = secured_broker(tmp_path, {"bridge": "bridge-Secret-1"},
                            acl="user bridge\ntopic readwrite arrsync/bridge/availability\n")
    try:
        settings = make_settings(strict, mqtt={"username": "bridge",
                                               "password": "bridge-Secret-1",
                                               "base_topic": "arrsync"},
                                 bridge={"username": AUTH[0], "password": AUTH[1]})
        bridge = start_bridge(settings)
        wait_until(bridge.service.mqtt.connected.is_set, message="bridge connected")
        answer = http("POST", f"{bridge.url}/api/retry", '{"job": "abc"}', auth=AUTH)
        bridge.stop()
    finally:
        strict.stop()
    assert answer.status == 502
    assert "mosquitto/acl" in answer.json()["error"]


def test_the_chart_scales_to_the_busiest_day_and_escapes_its_labels() -> None:
    days = [DayTotal(date="2026-11-01", count=1, bytes=10),
            DayTotal(date="2026-11-02", count=0, bytes=0),
            DayTotal(date="2026-11-03", count=9, bytes=1000),
            DayTotal(date="<b>", count=1, bytes=1)]
    svg = str(bar_chart(days))
    assert svg.count('class="bar"') == 4
    assert 'data-bytes="1000" x="' in svg and 'height="144.0"' in svg  # the full height
    assert 'data-bytes="0"' in svg and 'height="0.0"' in svg
    assert 'data-bytes="1" ' in svg and 'height="1.0"' in svg  # tiny days stay visible
    assert "<b>" not in svg and "&lt;b&gt;" in svg
    assert "style=" not in svg
