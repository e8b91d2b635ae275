"""No single webhook stops the bridge: sizes the broker would refuse, events it drops the
connection for, bodies the syncer could not read. Real broker, real HTTP."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from arrsync.settings import Settings
from arrsync.wire.event import parse_envelope
from tests.helpers import MqttWatcher, http, wait_until
from tests.media import FIXTURES
from tests.processes import RunningBridge
from tools.localbroker import LocalBroker

GRAB = (FIXTURES / "radarr" / "grab.json").read_bytes()


def flood_of_files(body_bytes: int) -> str:
    """A Sonarr import under `body_bytes` whose envelope is almost three times as big: the
    envelope lists each file again, with its size."""
    entry = '{"path":"/tv/S/e.mkv"}'
    count = (body_bytes - 200) // (len(entry) + 1)
    files = ",".join([entry] * count)
    return ('{"eventType":"Download","series":{"title":"S"},"episodeFiles":[' + files
            + '],"instanceName":"Sonarr"}')


def nested(depth: int, leaf: str = "1") -> str:
    """A radarr Grab with a field nested `depth` arrays deep."""
    return ('{"eventType":"Grab","movie":{"title":"Deep"},"extra":' + "[" * depth + leaf
            + "]" * depth + "}")


@pytest.fixture
def running(broker: LocalBroker, make_settings: Callable[..., Settings],
            start_bridge: Callable[[Settings], RunningBridge]) -> RunningBridge:
    bridge = start_bridge(make_settings(broker))
    wait_until(bridge.service.mqtt.connected.is_set, message="bridge connected")
    return bridge


def test_an_event_too_big_for_the_broker_is_refused_413_and_the_next_one_flows(
    running: RunningBridge, broker: LocalBroker, base_topic: str,
) -> None:
    body = flood_of_files(1_000_000)
    assert len(body) < 1024 * 1024  # within bridge.max_body_bytes
    with MqttWatcher(broker.port, [f"{base_topic}/events/#"]) as watcher:
        answer = http("POST", f"{running.url}/webhook/sonarr", body)
        assert answer.status == 413
        error = answer.json()["error"]
        assert "over the broker's limit of 2097152" in error
        assert "mqtt.max_packet_bytes" in error
        good = http("POST", f"{running.url}/webhook/radarr", GRAB)
        assert (good.status, good.json()["status"]) == (200, "published")
        watcher.wait_for("/Grab")
        assert [m.json()["id"] for m in watcher.messages] == [good.json()["id"]]
    assert http("GET", f"{running.url}/health").json()["status"] == "ok"


def dead_letters(settings: Settings) -> list[tuple[str, str]]:
    with sqlite3.connect(settings.bridge.spool_path) as db:
        return db.execute("SELECT id, reason FROM dead_letters").fetchall()


def test_an_event_the_broker_drops_the_connection_for_is_set_aside_with_an_alert(
    tmp_path: Path, make_settings: Callable[..., Settings],
    start_bridge: Callable[[Settings], RunningBridge], base_topic: str, broker: LocalBroker,
) -> None:
    """The broker's limit is lower than mqtt.max_packet_bytes says (a misconfiguration): the
    event gets through the bridge's own check, and the broker drops the connection."""
    small = LocalBroker(tmp_path / "small", overrides={"max_packet_size": "65536"})
    small.start()
    try:
        settings = make_settings(small)
        bridge = start_bridge(settings)
        wait_until(bridge.service.mqtt.connected.is_set, message="bridge connected")
        big = json.dumps({"eventType": "Grab", "movie": {"title": "Big"}, "pad": "x" * 100_000})
        with MqttWatcher(small.port, [f"{base_topic}/events/#",
                                      f"{base_topic}/bridge/alert"]) as watcher:
            poison = http("POST", f"{bridge.url}/webhook/radarr", big).json()["id"]
            later = [http("POST", f"{bridge.url}/webhook/radarr", GRAB).json()["id"]
                     for _ in range(3)]
            watcher.wait_for("/Grab", count=3, timeout=30)
            alert = watcher.wait_for("/bridge/alert", timeout=30)[0].json()
            assert [m.json()["id"] for m in watcher.on("/Grab")] == later
        assert alert["problem"] == "dead_letter" and alert["active"] is True
        assert poison in alert["message"] and "--resend-dead-letters" in alert["message"]
        ((buried, reason),) = dead_letters(settings)
        assert buried == poison
        assert "dropped the connection each of the 3 times it was sent alone" in reason
        health = wait_until(lambda: (h := http("GET", f"{bridge.url}/health")).json()["spooled"]
                            == 0 and h, message="the delivered events out of the spool")
        assert health.status == 200
        assert health.json()["status"] == "degraded"
        assert health.json()["dead_letters"] == 1
        # Set aside means never sent again: the broker saw a handful of connections, not a loop.
        bridge.stop()
        connections = small.log_path.read_text().count(" as arrsync-bridge-")
        assert connections <= 5
    finally:
        small.kill()

    # Once the cause is fixed (here: a broker that takes 2 MiB), it can be sent again.
    config = tmp_path / "arrsync.yml"
    config.write_text(json.dumps({
        "mqtt": {"host": "127.0.0.1", "port": broker.port, "base_topic": base_topic},
        "bridge": {"host": "127.0.0.1", "port": 0, "spool_path": str(settings.bridge.spool_path)},
    }))
    with MqttWatcher(broker.port, [f"{base_topic}/events/#"]) as watcher:
        process = subprocess.Popen(
            [str(Path(__import__("sys").executable).parent / "arrsync-bridge"), "--config",
             str(config), "--resend-dead-letters"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            resent = watcher.wait_for("/Grab", timeout=20)[0].json()
        finally:
            process.terminate()
            _out, err = process.communicate(timeout=20)
    assert resent["id"] == poison
    assert "1 dead letter(s) queued again" in err
    assert dead_letters(settings) == []


def test_nesting_at_the_limit_is_refused_or_readable_by_the_syncer(
    running: RunningBridge, broker: LocalBroker, base_topic: str,
) -> None:
    """Around the limit and far beyond it: every body the bridge accepts, the syncer parses."""
    depths = [*range(194, 204), 600, 2000]
    with MqttWatcher(broker.port, [f"{base_topic}/events/#"]) as watcher:
        answers = {n: http("POST", f"{running.url}/webhook/radarr", nested(n)) for n in depths}
        accepted = {a.json()["id"] for a in answers.values() if a.status == 200}
        refused = [n for n, a in answers.items() if a.status == 400]
        assert len(accepted) + len(refused) == len(depths)
        assert 194 not in refused and {202, 203, 600, 2000} <= set(refused)
        for n in refused:
            assert "nested too deeply" in answers[n].json()["error"]
        on_wire = watcher.wait_for("/Grab", count=len(accepted))
    assert {parse_envelope(m.payload).id for m in on_wire} == accepted


@pytest.mark.parametrize(
    ("body", "accepted", "message"),
    [
        (nested(1, r'"\ud800"'), False, r"lone UTF-16 surrogate (\ud800)"),
        (nested(1, r'"x\udfff"'), False, r"lone UTF-16 surrogate (\udfff)"),
        (nested(1, r'"\ud83d\ude00"'), True, None),
        (nested(1, "1" + "0" * 5000), False, "number too large"),
        (json.dumps({"eventType": "G" * 101}), False, "at most 100 characters"),
    ],
    ids=["lone-high", "lone-low", "surrogate-pair", "huge-int", "long-event-type"],
)
def test_what_the_bridge_accepts_the_syncer_can_read(
    body: str, accepted: bool, message: str | None, running: RunningBridge,
    broker: LocalBroker, base_topic: str,
) -> None:
    with MqttWatcher(broker.port, [f"{base_topic}/events/#"]) as watcher:
        answer = http("POST", f"{running.url}/webhook/radarr", body)
        if not accepted:
            assert answer.status == 400, answer.body
            assert message in answer.json()["error"]
            http("POST", f"{running.url}/webhook/radarr", GRAB)
            (only,) = watcher.wait_for("/Grab")
            assert "Deep" not in only.text
            return
        assert answer.status == 200, answer.body
        (message_on_wire,) = watcher.wait_for("/Grab")
    envelope = parse_envelope(message_on_wire.payload)  # exactly what the syncer runs
    assert envelope.id == answer.json()["id"]
    assert envelope.title == "Deep"
