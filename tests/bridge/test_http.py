"""The bridge over real HTTP against a real broker: routes, answers, auth, verbatim publish."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from arrsync.settings import Settings
from bridge.service import BridgeService, UnsafeListenError
from tests.helpers import MqttWatcher, http, wait_until
from tests.media import FIXTURES
from tests.processes import RunningBridge
from tools.localbroker import LocalBroker

APP_FIXTURES = sorted(p for p in FIXTURES.glob("*/*.json") if p.parent.name != "invalid")


def fixture_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


@pytest.fixture
def running(broker: LocalBroker, make_settings: Callable[..., Settings],
            start_bridge: Callable[[Settings], RunningBridge]) -> RunningBridge:
    # A generous ack_wait: these tests expect "published", which a garbage collection
    # pause of the test process (tens of ms, more on a busy machine) must not turn into
    # "spooled" (test_outage.py covers "spooled").
    bridge = start_bridge(make_settings(broker, bridge={"ack_wait": 2}))
    wait_until(bridge.service.mqtt.connected.is_set, message="bridge connected")
    return bridge


def test_fixtures_cover_every_app() -> None:
    apps = {p.parent.name for p in APP_FIXTURES}
    assert apps == {"radarr", "sonarr", "lidarr", "readarr", "whisparr"}
    assert len(APP_FIXTURES) >= 40


@pytest.mark.parametrize("path", APP_FIXTURES, ids=fixture_id)
def test_every_event_is_republished_verbatim(path: Path, running: RunningBridge,
                                             broker: LocalBroker, base_topic: str) -> None:
    app = path.parent.name
    body = path.read_bytes()
    original = json.loads(body)
    with MqttWatcher(broker.port, [f"{base_topic}/events/#"]) as watcher:
        answer = http("POST", f"{running.url}/webhook/{app}", body)
        assert answer.status == 200, answer.body
        assert answer.json()["status"] == "published"
        event_id = answer.json()["id"]
        message = watcher.wait_for(f"/events/{app}/{original['eventType']}")[0]
    envelope = message.json()
    assert message.qos == 1
    assert envelope["id"] == event_id
    assert envelope["app"] == app
    assert envelope["event"] == original["eventType"]
    assert envelope["instance"] == original.get("instanceName")
    assert envelope["received_at"].endswith("Z")
    assert envelope["payload"] == original
    # The arr's text is embedded as it came, so even key order and spacing survive.
    assert body.decode() in message.payload.decode()


def test_import_shapes_list_their_files(running: RunningBridge, broker: LocalBroker,
                                        base_topic: str) -> None:
    cases = {
        ("radarr", "download"): 1,
        ("sonarr", "download"): 1,
        ("sonarr", "download-import-complete"): 3,
        ("lidarr", "download"): None,
        ("readarr", "download"): None,
        ("whisparr", "download-movie"): 1,
    }
    with MqttWatcher(broker.port, [f"{base_topic}/events/#"]) as watcher:
        for (app, name), expected in cases.items():
            body = json.loads((FIXTURES / app / f"{name}.json").read_text())
            event_id = http("POST", f"{running.url}/webhook/{app}", json.dumps(body)).json()["id"]
            envelope = watcher.wait_for(
                "/Download", where=lambda m, i=event_id: m.json()["id"] == i)[0].json()
            assert envelope["title"], (app, name)
            assert envelope["files"], (app, name)
            if expected is not None:
                assert len(envelope["files"]) == expected, (app, name)
            assert all(f["path"].startswith("/") for f in envelope["files"])


def test_seed_urls_and_put_behave_like_webhook(running: RunningBridge, broker: LocalBroker,
                                               base_topic: str) -> None:
    body = (FIXTURES / "sonarr" / "download.json").read_bytes()
    with MqttWatcher(broker.port, [f"{base_topic}/events/sonarr/#"]) as watcher:
        assert http("PUT", f"{running.url}/sync/sonarr", body).status == 200
        assert http("POST", f"{running.url}/sync/Sonarr", body).status == 200
        assert http("PUT", f"{running.url}/webhook/sonarr", body).status == 200
        watcher.wait_for("/Download", count=3)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ((FIXTURES / "invalid" / "not-json.txt").read_bytes(), 400, "not valid JSON"),
        ((FIXTURES / "invalid" / "array.json").read_bytes(), 400, "must be a JSON object"),
        ((FIXTURES / "invalid" / "no-event-type.json").read_bytes(), 400, "no eventType"),
        ((FIXTURES / "invalid" / "event-type-number.json").read_bytes(), 400,
         "eventType must be a non-empty string"),
        ((FIXTURES / "invalid" / "movie-file-path-number.json").read_bytes(), 400,
         "movieFile.path"),
        (b'{"eventType": "Download", "x": NaN}', 400, "NaN is not a JSON value"),
        (b"\xff\xfe{}", 400, "not UTF-8"),
        (b"", 400, "not valid JSON"),
    ],
    ids=["not-json", "array", "no-event-type", "event-type-number", "path-number", "nan",
         "binary", "empty"],
)
def test_bad_bodies_get_400_and_publish_nothing(
    body: bytes, status: int, message: str, running: RunningBridge, broker: LocalBroker,
    base_topic: str,
) -> None:
    with MqttWatcher(broker.port, [f"{base_topic}/events/#"]) as watcher:
        answer = http("POST", f"{running.url}/webhook/radarr", body)
        assert answer.status == status
        assert message in answer.json()["error"]
        # A good event sent after the bad one is the only one that arrives.
        good = http("POST", f"{running.url}/webhook/radarr",
                    (FIXTURES / "radarr" / "grab.json").read_bytes())
        watcher.wait_for("/Grab")
        assert [m.json()["id"] for m in watcher.messages] == [good.json()["id"]]


def test_unknown_app_is_404(running: RunningBridge) -> None:
    answer = http("POST", f"{running.url}/webhook/plex", b'{"eventType": "Test"}')
    assert answer.status == 404
    assert "radarr" in answer.json()["error"]


def test_oversized_body_is_413(broker: LocalBroker, make_settings: Callable[..., Settings],
                               start_bridge: Callable[[Settings], RunningBridge]) -> None:
    bridge = start_bridge(make_settings(broker, bridge={"max_body_bytes": 4096}))
    body = json.dumps({"eventType": "Download", "pad": "x" * 5000})
    answer = http("POST", f"{bridge.url}/webhook/radarr", body)
    assert answer.status == 413
    assert "4096" in answer.json()["error"]


def test_health_reports_broker_and_spool(running: RunningBridge) -> None:
    answer = http("GET", f"{running.url}/health")
    assert answer.status == 200
    assert answer.json() == {"status": "ok", "broker": "connected", "spooled": 0,
                             "dead_letters": 0, "problem": None}


def test_test_route_publishes_a_test_event(running: RunningBridge, broker: LocalBroker,
                                           base_topic: str) -> None:
    with MqttWatcher(broker.port, [f"{base_topic}/events/#"]) as watcher:
        answer = http("POST", f"{running.url}/test")
        assert answer.status == 200
        envelope = watcher.wait_for("/Test")[0].json()
    assert envelope["event"] == "Test"
    assert envelope["id"] == answer.json()["id"]


def test_availability_is_retained_online_and_offline_on_stop(
    broker: LocalBroker, make_settings: Callable[..., Settings],
    start_bridge: Callable[[Settings], RunningBridge], base_topic: str,
) -> None:
    bridge = start_bridge(make_settings(broker))
    wait_until(bridge.service.mqtt.connected.is_set)
    topic = f"{base_topic}/bridge/availability"
    with MqttWatcher(broker.port, [topic]) as watcher:
        first = watcher.wait_for("/availability")[0]
        assert (first.text, first.retain) == ("online", True)
        bridge.stop()
        watcher.wait_for("/availability", count=2)
        assert watcher.messages[-1].text == "offline"
    with MqttWatcher(broker.port, [topic]) as late:
        retained = late.wait_for("/availability")[0]
        assert (retained.text, retained.retain) == ("offline", True)


class TestAuth:
    @pytest.fixture
    def secured(self, broker: LocalBroker, make_settings: Callable[..., Settings],
                start_bridge: Callable[[Settings], RunningBridge]) -> RunningBridge:
        return start_bridge(make_settings(
            broker, bridge={"username": "radarr", "password": "pä$$ word:1"}))

    @pytest.mark.parametrize("auth", [None, ("radarr", "wrong"), ("other", "pä$$ word:1"),
                                      ("radarr", "")])
    def test_missing_or_wrong_credentials_get_401(self, secured: RunningBridge,
                                                  auth: tuple[str, str] | None) -> None:
        answer = http("POST", f"{secured.url}/webhook/radarr", b'{"eventType":"Test"}',
                      auth=auth)
        assert answer.status == 401
        assert answer.headers["www-authenticate"].startswith("Basic")

    def test_right_credentials_pass(self, secured: RunningBridge) -> None:
        answer = http("POST", f"{secured.url}/webhook/radarr", b'{"eventType":"Test"}',
                      auth=("radarr", "pä$$ word:1"))
        assert answer.status in (200, 202)
        assert http("POST", f"{secured.url}/test").status == 401

    def test_a_browsers_first_request_without_credentials_is_no_warning(
            self, secured: RunningBridge, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.INFO, logger="bridge")
        assert http("GET", f"{secured.url}/").status == 401  # the browser asks, then sends
        assert http("GET", f"{secured.url}/", auth=("radarr", "wrong")).status == 401
        said = [(r.levelname, r.getMessage()) for r in caplog.records if "rejected" in
                r.getMessage()]
        assert said == [("INFO", "rejected GET / from 127.0.0.1: no credentials sent"),
                        ("WARNING", "rejected GET / from 127.0.0.1: wrong credentials")]

    def test_health_needs_no_credentials(self, secured: RunningBridge) -> None:
        assert http("GET", f"{secured.url}/health").status == 200

    def test_password_never_logged(self, secured: RunningBridge,
                                   caplog: pytest.LogCaptureFixture) -> None:
        http("POST", f"{secured.url}/webhook/radarr", b'{"eventType":"Test"}',
             auth=("radarr", "pä$$ word:2"))
        http("POST", f"{secured.url}/webhook/radarr", b'{"eventType":"Test"}',
             auth=("radarr", "pä$$ word:1"))
        assert "word:" not in caplog.text
        assert "rejected POST /webhook/radarr" in caplog.text


def test_refuses_anonymous_on_network_address(make_settings: Callable[..., Settings],
                                              broker: LocalBroker) -> None:
    with pytest.raises(UnsafeListenError, match="allow_anonymous"):
        BridgeService(make_settings(broker, bridge={"host": "0.0.0.0"}))


def test_anonymous_on_network_address_when_opted_in(
    make_settings: Callable[..., Settings], broker: LocalBroker,
    start_bridge: Callable[[Settings], RunningBridge],
) -> None:
    bridge = start_bridge(make_settings(broker, bridge={"host": "0.0.0.0",
                                                        "allow_anonymous": True}))
    assert http("GET", f"{bridge.url}/health").status == 200


def test_bridge_command_refuses_anonymous_network_listening(tmp_path: Path) -> None:
    config = tmp_path / "arrsync.yml"
    config.write_text("bridge:\n  host: 0.0.0.0\n  port: 0\n"
                      f"  spool_path: {tmp_path / 'spool.db'}\n")
    result = subprocess.run([sys.executable, "-m", "bridge", "--config", str(config)],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 1
    assert "refusing to start" in result.stderr
    assert "allow_anonymous" in result.stderr


def test_a_spool_that_cannot_store_answers_503(running: RunningBridge) -> None:
    running.service.spool.close()  # as good as a full disk or a deleted spool file
    answer = http("POST", f"{running.url}/webhook/radarr",
                  (FIXTURES / "radarr" / "grab.json").read_bytes())
    assert answer.status == 503
    assert "cannot store the event" in answer.json()["error"]
