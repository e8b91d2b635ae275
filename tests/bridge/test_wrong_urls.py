"""A webhook sent to a wrong URL is answered with a hint at the right one and leaves a line
in the bridge log, so a typo in an arr's settings shows at the first Test."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from arrsync.settings import Settings
from bridge.web.hints import unknown_url_hint
from tests.helpers import http
from tests.media import FIXTURES
from tests.processes import RunningBridge
from tools.localbroker import LocalBroker

BODY = (FIXTURES / "radarr" / "test.json").read_text()


@pytest.fixture(scope="module")
def bridge_url(broker: LocalBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    spool = tmp_path_factory.mktemp("wrong-urls") / "spool.db"
    settings = Settings(mqtt={"host": "127.0.0.1", "port": broker.port, "base_topic": "t-urls"},
                        bridge={"host": "127.0.0.1", "port": 0, "spool_path": str(spool)})
    running = RunningBridge(settings)
    yield running.url
    running.stop()


@pytest.mark.parametrize(("method", "path", "status", "hint"), [
    ("POST", "/webhook", 404,
     "the URL needs the app: /webhook/radarr, /webhook/sonarr, …"),
    ("POST", "/webhook/", 404, "the URL needs the app: /webhook/radarr"),
    ("POST", "/webhook/radarr/", 404, "drop the trailing slash: /webhook/radarr"),
    ("PUT", "/sync/Sonarr/", 404, "drop the trailing slash: /sync/sonarr"),
    ("POST", "/webhook/radarr/test", 404, "nothing goes after the app: /webhook/radarr"),
    ("POST", "/api/webhook", 404, "webhooks go to /webhook/<app> with <app> one of radarr, "
                                  "sonarr, lidarr, readarr, whisparr"),
    ("GET", "/webhook/radarr", 405, "the arrs send webhooks with POST (or PUT), not GET"),
])
def test_a_wrong_url_gets_a_hint_and_a_log_line(
    bridge_url: str, caplog: pytest.LogCaptureFixture, method: str, path: str, status: int,
    hint: str,
) -> None:
    with caplog.at_level(logging.WARNING, logger="bridge"):
        answer = http(method, bridge_url + path, BODY if method != "GET" else None)
    assert answer.status == status
    body = answer.json()
    assert body["error"].endswith(f": {path}")
    assert body["hint"].startswith(hint)
    logged = [r.getMessage() for r in caplog.records if r.name == "bridge.web.app"]
    assert any(f"rejected {method} {path!r} from 127.0.0.1: {hint}" in line
               for line in logged), logged


def test_an_unknown_app_is_logged(bridge_url: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bridge"):
        answer = http("POST", f"{bridge_url}/webhook/plex", BODY)
    assert answer.status == 404
    assert "use one of radarr, sonarr" in json.loads(answer.body)["error"]
    assert any("rejected a webhook for the unknown app 'plex'" in r.getMessage()
               for r in caplog.records)


def test_the_right_url_still_works(bridge_url: str) -> None:
    assert http("POST", f"{bridge_url}/webhook/radarr", BODY).status in (200, 202)


@pytest.mark.parametrize(("path", "hint"), [
    ("/webhook/plex/x", "unknown app 'plex': /webhook/<app> with <app> one of radarr"),
    ("/", "webhooks go to /webhook/<app>"),
])
def test_other_hints(path: str, hint: str) -> None:
    assert unknown_url_hint(path).startswith(hint)
