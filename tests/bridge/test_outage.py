"""No accepted webhook is lost: broker outages and bridge restarts, against a real broker."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

from arrsync.settings import Settings
from tests.helpers import MqttWatcher, http, wait_until
from tests.processes import RunningBridge
from tools.localbroker import LocalBroker


def movie_import(number: int) -> str:
    return json.dumps({
        "movie": {"id": number, "title": f"Movie {number}", "year": 2000 + number,
                  "folderPath": f"/movies/Movie {number}"},
        "movieFile": {"id": number, "path": f"/movies/Movie {number}/Movie {number}.mkv",
                      "size": 1000 + number},
        "isUpgrade": False,
        "eventType": "Download",
        "instanceName": "Radarr",
    })


def spooled_rows(settings: Settings) -> int:
    with sqlite3.connect(settings.bridge.spool_path) as db:
        return db.execute("SELECT count(*) FROM events").fetchone()[0]


def test_broker_outage_spools_and_delivers_each_event_once(
    own_broker: LocalBroker, make_settings: Callable[..., Settings],
    start_bridge: Callable[[Settings], RunningBridge], base_topic: str,
) -> None:
    settings = make_settings(own_broker)
    bridge = start_bridge(settings)
    wait_until(bridge.service.mqtt.connected.is_set, message="bridge connected")
    watcher = MqttWatcher(own_broker.port, [f"{base_topic}/events/#"],
                          durable_id=f"{base_topic}-watcher")
    with watcher:
        own_broker.stop()
        wait_until(lambda: not bridge.service.mqtt.connected.is_set(), message="disconnect")

        ids = []
        for number in range(20):
            answer = http("POST", f"{bridge.url}/webhook/radarr", movie_import(number))
            assert answer.status == 202
            assert answer.json()["status"] == "spooled"
            ids.append(answer.json()["id"])
        health = http("GET", f"{bridge.url}/health").json()
        assert health == {"status": "ok", "broker": "disconnected", "spooled": 20,
                          "dead_letters": 0, "problem": None}

        own_broker.start()
        watcher.wait_for("/Download", count=20, timeout=30)
        wait_until(lambda: http("GET", f"{bridge.url}/health").json()["spooled"] == 0,
                   message="spool drained")
        received = [m.json()["id"] for m in watcher.on("/Download")]
    assert received == ids  # every event, once, in the order it was accepted
    assert spooled_rows(settings) == 0


def test_bridge_restart_replays_the_spool_with_the_same_ids(
    own_broker: LocalBroker, make_settings: Callable[..., Settings],
    start_bridge: Callable[[Settings], RunningBridge], base_topic: str,
) -> None:
    settings = make_settings(own_broker)
    own_broker.stop()
    first = start_bridge(settings)
    ids = [http("POST", f"{first.url}/webhook/radarr", movie_import(n)).json()["id"]
           for n in range(5)]
    first.stop()
    assert spooled_rows(settings) == 5

    own_broker.start()
    with MqttWatcher(own_broker.port, [f"{base_topic}/events/#"]) as watcher:
        second = start_bridge(settings)
        watcher.wait_for("/Download", count=5)
        wait_until(lambda: spooled_rows(settings) == 0, message="spool drained")
        assert [m.json()["id"] for m in watcher.on("/Download")] == ids
        titles = [m.json()["title"] for m in watcher.on("/Download")]
        assert titles == [f"Movie {n} ({2000 + n})" for n in range(5)]
        second.stop()


def test_webhooks_are_answered_while_the_broker_never_came_up(
    make_settings: Callable[..., Settings], start_bridge: Callable[[Settings], RunningBridge],
    own_broker: LocalBroker,
) -> None:
    own_broker.kill()
    bridge = start_bridge(make_settings(own_broker))
    answer = http("POST", f"{bridge.url}/webhook/radarr", movie_import(1), timeout=2)
    assert (answer.status, answer.json()["status"]) == (202, "spooled")
