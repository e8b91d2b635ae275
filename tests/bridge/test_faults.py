"""The bridge's own faults are its failure, said out loud: a damaged spool, credentials in
any encoding. Real broker, real HTTP, a real SQLite file damaged on disk."""

from __future__ import annotations

import base64
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from arrsync.settings import Settings
from tests.bridge.test_outage import movie_import
from tests.helpers import MqttWatcher, http, wait_until
from tests.processes import RunningBridge
from tools.localbroker import LocalBroker

PAGE = 4096


def damage_pages(path: Path, first: int, count: int) -> None:
    """Overwrite whole pages of a SQLite file in place (the header page is left alone)."""
    with path.open("r+b") as file:
        file.seek(first * PAGE)
        file.write(b"\xde\xad\xbe\xef" * (count * PAGE // 4))


def test_a_spool_damaged_while_running_turns_webhooks_to_503_and_health_says_why(
    own_broker: LocalBroker, make_settings: Callable[..., Settings],
    start_bridge: Callable[[Settings], RunningBridge], base_topic: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(own_broker)
    spool = settings.bridge.spool_path
    bridge = start_bridge(settings)
    wait_until(bridge.service.mqtt.connected.is_set, message="bridge connected")
    own_broker.stop()
    for number in range(200):  # a spool of several pages, waiting for the broker
        assert http("POST", f"{bridge.url}/webhook/radarr", movie_import(number)).status == 202
    with sqlite3.connect(spool) as other:  # everything into the main file, then damage it
        other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    damage_pages(spool, 2, 8)

    own_broker.start()  # the relay reads the spool again, and finds the damage
    with MqttWatcher(own_broker.port, [f"{base_topic}/#"]) as watcher:
        health = wait_until(lambda: (h := http("GET", f"{bridge.url}/health")).status == 503
                            and h, timeout=20, message="health 503")
        alert = watcher.wait_for("/bridge/alert")[0].json()
    assert health.json()["status"] == "failing"
    problem = health.json()["problem"]
    assert str(spool) in problem and "move the file aside" in problem
    answer = http("POST", f"{bridge.url}/webhook/radarr", movie_import(999))
    assert answer.status == 503
    assert str(spool) in answer.json()["error"]
    assert f"webhooks are refused with 503: the bridge spool {spool} is damaged" in caplog.text
    assert (alert["problem"], alert["active"]) == ("spool", True)
    assert str(spool) in alert["message"]
    assert not watcher.on("/Download")  # nothing half-read was published


def test_a_garbage_spool_stops_the_bridge_at_start_with_the_path_and_the_way_out(
    tmp_path: Path, broker: LocalBroker,
) -> None:
    spool = tmp_path / "data" / "spool.db"
    spool.parent.mkdir()
    spool.write_bytes(b"this is not a database" * 500)
    config = tmp_path / "arrsync.yml"
    config.write_text(f"mqtt: {{port: {broker.port}, host: 127.0.0.1}}\n"
                      f"bridge: {{host: 127.0.0.1, port: 0, spool_path: '{spool}'}}\n")
    done = subprocess.run([sys.executable, "-m", "bridge", "--config", str(config)],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"the bridge spool {spool} is damaged (file is not a database)" in done.stderr
    assert f"mv '{spool}' '{spool}.damaged'" in done.stderr
    assert "not yet published are lost" in done.stderr


def test_a_truncated_spool_stops_the_bridge_at_start(
    tmp_path: Path, broker: LocalBroker, make_settings: Callable[..., Settings],
    start_bridge: Callable[[Settings], RunningBridge],
) -> None:
    settings = make_settings(broker)
    bridge = start_bridge(settings)
    for number in range(300):
        http("POST", f"{bridge.url}/webhook/radarr", movie_import(number))
    bridge.stop()
    with sqlite3.connect(settings.bridge.spool_path) as db:  # rows that stay, to be damaged
        db.executemany("INSERT INTO events (id, topic, body) VALUES (?, 't', ?)",
                       [(f"x{n}", "y" * 3000) for n in range(50)])
    spool = settings.bridge.spool_path
    with spool.open("r+b") as file:
        file.truncate(spool.stat().st_size // 2)
    config = tmp_path / "arrsync.yml"
    config.write_text(f"bridge: {{host: 127.0.0.1, port: 0, spool_path: '{spool}'}}\n")
    done = subprocess.run([sys.executable, "-m", "bridge", "--config", str(config)],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"the bridge spool {spool} is damaged" in done.stderr


class TestCredentialsInAnyEncoding:
    USER = "radarr"

    @staticmethod
    def send(bridge: RunningBridge, user: bytes, password: bytes) -> int:
        token = base64.b64encode(user + b":" + password).decode()
        status = http("POST", f"{bridge.url}/webhook/radarr", b'{"eventType":"Test"}',
                      headers={"Authorization": f"Basic {token}"}).status
        return 200 if status in (200, 202) else status

    @pytest.fixture
    def start(self, broker: LocalBroker, make_settings: Callable[..., Settings],
              start_bridge: Callable[[Settings], RunningBridge]) -> Callable[[str], RunningBridge]:
        def started(password: str) -> RunningBridge:
            return start_bridge(make_settings(
                broker, bridge={"username": self.USER, "password": password}))
        return started

    def test_a_password_outside_latin1_is_accepted_in_utf8_and_never_as_question_marks(
        self, start: Callable[[str], RunningBridge],
    ) -> None:
        bridge = start("密码密码密码密码")
        assert self.send(bridge, b"radarr", "密码密码密码密码".encode()) == 200
        assert self.send(bridge, b"radarr", b"????????") == 401
        assert self.send(bridge, b"radarr", "密码密码密码密码".encode("utf-16-le")) == 401

    def test_a_latin1_password_is_accepted_as_latin1_and_as_utf8(
        self, start: Callable[[str], RunningBridge],
    ) -> None:
        bridge = start("pässwörd-ß")
        assert self.send(bridge, b"radarr", "pässwörd-ß".encode("latin-1")) == 200  # the arrs
        assert self.send(bridge, b"radarr", "pässwörd-ß".encode()) == 200  # curl, browsers
        assert self.send(bridge, b"radarr", b"p?ssw?rd-?") == 401
        assert self.send(bridge, "rädarr".encode(), "pässwörd-ß".encode()) == 401
