"""Catch-up: imports recorded in the arr's history but never sent by webhook are synced.

Real bridge, real syncer, real broker and rsync; the arr is the stand-in of
tests/arr_standin.py, which answers as the Radarr/Sonarr API does.
"""

from __future__ import annotations

import json
import logging
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from arrsync.settings import Settings
from syncer.service import SyncerService
from tests.arr_standin import StandInArr
from tests.helpers import MqttWatcher, http, wait_until
from tests.media import FIXTURES, MediaTree
from tests.processes import Process, RunningBridge
from tools.localbroker import LocalBroker

KEY = "6f1c0e2b9a8d4c7e8f0a1b2c3d4e5f60"
DUNE = "/movies/Dune (2021)/Dune (2021) Bluray-1080p.mkv"


@pytest.fixture
def radarr() -> Iterator[StandInArr]:
    with StandInArr("radarr", KEY) as arr:
        yield arr


def arr_entry(arr: StandInArr, name: str = "Radarr", key: str = KEY, url: str | None = None,
              ) -> dict[str, Any]:
    return {"name": name, "app": arr.app, "url": url or arr.url, "api_key": key}


def stack_settings(make_settings: Callable[..., Settings], broker: LocalBroker,
                   media: MediaTree, base_topic: str, arrs: list[dict[str, Any]]) -> Settings:
    return make_settings(broker, arrs=arrs, syncer={
        "mappings": media.mappings, "retry_delay": 0.05, "guard_interval": 0.1,
        "free_space_margin": 0, "client_id": f"{base_topic}-syncer"})


def read_now(bridge: RunningBridge) -> None:
    """Have the bridge read the arrs' history now, and wait until it has."""
    catch_up = bridge.service.catch_up
    assert catch_up is not None
    target = catch_up.poll_now()
    wait_until(lambda: catch_up.caught_up(target), message="a catch-up read")


def started(bridge: RunningBridge) -> RunningBridge:
    catch_up = bridge.service.catch_up
    assert catch_up is not None
    wait_until(lambda: catch_up.rounds >= 1, message="the first catch-up read")
    return bridge


def control(bridge: RunningBridge, watcher: MqttWatcher) -> None:
    """POST /test and wait for its event: anything the bridge published before is in."""
    test_id = http("POST", f"{bridge.url}/test").json()["id"]
    watcher.wait_for("/events/arrsync/Test", where=lambda m: m.json()["id"] == test_id)


def webhook_of(path: str, size: int) -> str:
    payload = json.loads((FIXTURES / "radarr" / "download.json").read_text())
    payload["movieFile"].update(path=path, size=size)
    return json.dumps(payload)


def test_an_import_made_while_the_bridge_was_down_is_synced_when_it_starts(
    broker: LocalBroker, make_settings: Callable[..., Settings], media: MediaTree,
    base_topic: str, start_bridge: Callable[[Settings], RunningBridge],
    start_syncer: Callable[[Settings], SyncerService], radarr: StandInArr,
) -> None:
    settings = stack_settings(make_settings, broker, media, base_topic, [arr_entry(radarr)])
    start_syncer(settings)
    started(start_bridge(settings)).stop()  # the first read ever: catch-up starts here

    movie = radarr.add_movie("Dune", 2021, DUNE, 5000)
    source = media.put(DUNE, size=5000)
    record = radarr.record_movie_import(movie)  # the webhook never came: the bridge was down
    with MqttWatcher(broker.port, [f"{base_topic}/events/#", f"{base_topic}/sync/+"]) as watcher:
        start_bridge(settings)
        event = watcher.wait_for("/events/radarr/Download")[0].json()
        done = watcher.wait_for("/sync/succeeded")[0].json()

    assert event["replayed"] is True
    assert (event["app"], event["event"], event["kind"]) == ("radarr", "Download", "import")
    assert (event["instance"], event["title"]) == ("Radarr", "Dune (2021)")
    assert event["files"] == [{"path": DUNE, "size": 5000}]
    assert event["download_id"] == record["downloadId"]
    assert event["payload"]["id"] == record["id"]
    assert event["payload"]["data"]["importedPath"] == DUNE
    assert done["trigger"] == event["id"]
    assert media.dest_of(DUNE).read_bytes() == source.read_bytes()
    read = radarr.seen("/history/since")[-1]
    assert read.headers["x-api-key"] == KEY and "apikey" not in read.query
    assert read.query["eventType"] == ["downloadFolderImported"]
    assert "gzip" in read.headers["accept-encoding"]


def test_the_first_read_ever_replays_nothing_older(
    broker: LocalBroker, make_settings: Callable[..., Settings], base_topic: str,
    start_bridge: Callable[[Settings], RunningBridge], radarr: StandInArr,
) -> None:
    for number, age in enumerate((timedelta(days=400), timedelta(seconds=30))):
        movie = radarr.add_movie(f"Old {number}", 2000, f"/movies/Old {number}/Old.mkv", 10)
        radarr.record_movie_import(movie, at=datetime.now(UTC) - age)
    with MqttWatcher(broker.port, [f"{base_topic}/events/#"]) as watcher:
        bridge = started(start_bridge(make_settings(broker, arrs=[arr_entry(radarr)])))
        control(bridge, watcher)
        assert watcher.on("/Download") == []
    assert radarr.seen("/history/since")


def test_an_import_that_came_by_webhook_and_is_in_history_is_synced_once(
    broker: LocalBroker, make_settings: Callable[..., Settings], media: MediaTree,
    base_topic: str, start_bridge: Callable[[Settings], RunningBridge],
    start_syncer: Callable[[Settings], SyncerService], radarr: StandInArr,
) -> None:
    settings = stack_settings(make_settings, broker, media, base_topic, [arr_entry(radarr)])
    start_syncer(settings)
    bridge = started(start_bridge(settings))
    movie = radarr.add_movie("Dune", 2021, DUNE, 5000)
    media.put(DUNE, size=5000)
    with MqttWatcher(broker.port, [f"{base_topic}/events/#", f"{base_topic}/sync/+"]) as watcher:
        radarr.record_movie_import(movie)  # the arr writes its history, then sends the webhook
        answer = http("POST", f"{bridge.url}/webhook/radarr", webhook_of(DUNE, 5000))
        watcher.wait_for("/sync/succeeded")
        read_now(bridge)
        control(bridge, watcher)
        watcher.wait_for("/sync/test")  # the syncer has handled everything before it
        events = [m.json() for m in watcher.on("/events/radarr/Download")]
        assert [(e["id"], e["replayed"]) for e in events] == [(answer.json()["id"], False)]
        assert len(watcher.on("/sync/queued")) == 1
        assert watcher.on("/sync/skipped") == []


def test_sonarr_one_event_per_file_not_per_episode(
    broker: LocalBroker, make_settings: Callable[..., Settings], base_topic: str,
    start_bridge: Callable[[Settings], RunningBridge],
) -> None:
    with StandInArr("sonarr", KEY, url_base="/sonarr") as sonarr, \
            MqttWatcher(broker.port, [f"{base_topic}/events/#"]) as watcher:
        entry = {**arr_entry(sonarr, name="Sonarr"), "url": sonarr.url + "/"}
        bridge = started(start_bridge(make_settings(broker, arrs=[entry])))
        show = sonarr.add_series("Chernobyl", "/tv/Chernobyl (2019)")
        double = sonarr.add_episode_file(show, "Season 1/Chernobyl S01E01-E02.mkv", 900,
                                         [(1, 1), (1, 2)])
        single = sonarr.add_episode_file(show, "Season 1/Chernobyl S01E03.mkv", 400, [(1, 3)])
        records = sonarr.record_episode_import(double) + sonarr.record_episode_import(single)
        assert len(records) == 3
        read_now(bridge)
        control(bridge, watcher)
        events = [m.json() for m in watcher.on("/events/sonarr/Download")]
    assert [e["title"] for e in events] == ["Chernobyl S01E01-E02", "Chernobyl S01E03"]
    assert [e["episodes"] for e in events] == [
        [{"season": 1, "episode": 1}, {"season": 1, "episode": 2}],
        [{"season": 1, "episode": 3}]]
    assert [e["files"][0]["path"] for e in events] == [
        "/tv/Chernobyl (2019)/Season 1/Chernobyl S01E01-E02.mkv",
        "/tv/Chernobyl (2019)/Season 1/Chernobyl S01E03.mkv"]
    assert events[0]["series"] == "Chernobyl"
    assert all(e["replayed"] and e["instance"] == "Sonarr" for e in events)
    assert [e["payload"]["id"] for e in events] == [records[0]["id"], records[2]["id"]]


def test_records_of_one_second_are_told_apart_by_id_across_reads_and_restarts(
    broker: LocalBroker, make_settings: Callable[..., Settings], base_topic: str,
    start_bridge: Callable[[Settings], RunningBridge], radarr: StandInArr,
) -> None:
    settings = make_settings(broker, arrs=[arr_entry(radarr)])
    second = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    movies = [radarr.add_movie(f"Movie {n}", 2000 + n, f"/movies/M{n}/M{n}.mkv", n + 1)
              for n in range(3)]
    with MqttWatcher(broker.port, [f"{base_topic}/events/#"]) as watcher:
        bridge = started(start_bridge(settings))
        radarr.record_movie_import(movies[0], at=second + timedelta(milliseconds=100))
        read_now(bridge)
        # Committed later in the same second: `since` re-returns the first one too.
        radarr.record_movie_import(movies[1], at=second + timedelta(milliseconds=600))
        read_now(bridge)
        bridge.stop()
        bridge = started(start_bridge(settings))  # resumes where it left off
        # Dated before the newest one seen (committed out of order), yet new.
        radarr.record_movie_import(movies[2], at=second - timedelta(milliseconds=500))
        read_now(bridge)
        control(bridge, watcher)
        titles = [m.json()["title"] for m in watcher.on("/events/radarr/Download")]
    assert titles == ["Movie 0 (2000)", "Movie 1 (2001)", "Movie 2 (2002)"]
    dates = [r.query["date"][0] for r in radarr.seen("/history/since")]
    assert all(d.endswith("Z") and len(d) == 20 for d in dates), dates


def test_a_webhook_long_before_the_record_does_not_hide_it(
    broker: LocalBroker, make_settings: Callable[..., Settings], base_topic: str,
    start_bridge: Callable[[Settings], RunningBridge], radarr: StandInArr,
) -> None:
    """An upgrade under the same name: the webhook of the old file does not cover the new."""
    bridge = started(start_bridge(make_settings(broker, arrs=[arr_entry(radarr)])))
    catch_up = bridge.service.catch_up
    assert catch_up is not None
    upgraded = radarr.add_movie("Heat", 1995, "/movies/Heat (1995)/Heat.mkv", 7)
    fresh = radarr.add_movie("Ran", 1985, "/movies/Ran (1985)/Ran.mkv", 8)
    catch_up.ledger.received([("/movies/Heat (1995)/Heat.mkv", time.time() - 3600),
                              ("/movies/Ran (1985)/Ran.mkv", time.time())])
    with MqttWatcher(broker.port, [f"{base_topic}/events/#"]) as watcher:
        radarr.record_movie_import(upgraded)
        radarr.record_movie_import(fresh)
        read_now(bridge)
        control(bridge, watcher)
        titles = [m.json()["title"] for m in watcher.on("/events/radarr/Download")]
    assert titles == ["Heat (1995)"]


def test_garbage_is_logged_retried_and_recovered_from(
    broker: LocalBroker, make_settings: Callable[..., Settings], base_topic: str,
    start_bridge: Callable[[Settings], RunningBridge], radarr: StandInArr,
    caplog: pytest.LogCaptureFixture,
) -> None:
    radarr.garbage = True
    caplog.set_level(logging.INFO, logger="bridge")
    bridge = started(start_bridge(make_settings(broker, arrs=[arr_entry(radarr)])))
    assert "catch-up cannot read the history of Radarr at " in caplog.text
    assert "not JSON (text/html); is the url the arr's?" in caplog.text
    radarr.garbage = False
    movie = radarr.add_movie("Dune", 2021, DUNE, 5000)
    radarr.record_movie_import(movie)
    with MqttWatcher(broker.port, [f"{base_topic}/events/#"]) as watcher:
        read_now(bridge)
        assert watcher.wait_for("/events/radarr/Download")[0].json()["title"] == "Dune (2021)"
    assert "catch-up reads the history of Radarr again" in caplog.text
    assert KEY not in caplog.text


def test_an_arr_that_never_answers_does_not_delay_webhooks(
    broker: LocalBroker, make_settings: Callable[..., Settings], base_topic: str,
    start_bridge: Callable[[Settings], RunningBridge],
) -> None:
    silent = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(silent.accept()[0]), daemon=True).start()
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    settings = make_settings(broker, arrs=[{"name": "Radarr", "app": "radarr", "url": url,
                                            "api_key": KEY}])
    try:
        with MqttWatcher(broker.port, [f"{base_topic}/events/#"]) as watcher:
            bridge = start_bridge(settings)
            wait_until(lambda: accepted, message="catch-up connected to the silent arr")
            wait_until(bridge.service.mqtt.connected.is_set, message="bridge connected")
            answer = http("POST", f"{bridge.url}/webhook/radarr", webhook_of(DUNE, 5000))
            assert answer.status == 200 and answer.json()["status"] == "published"
            assert watcher.wait_for("/events/radarr/Download")[0].json()["replayed"] is False
            assert bridge.service.catch_up is not None
            assert bridge.service.catch_up.rounds == 0  # still waiting for the arr
    finally:
        for connection in accepted:
            connection.close()
        silent.close()


def test_a_wrong_key_is_reported_without_it_and_webhooks_still_flow(
    broker: LocalBroker, write_config: Callable[..., Path], run_command: Callable[..., Process],
    base_topic: str, radarr: StandInArr,
) -> None:
    wrong = "0000aaaa1111bbbb2222cccc3333dddd"
    config = write_config(broker, log_level="DEBUG", arrs=[arr_entry(radarr, key=wrong)])
    with MqttWatcher(broker.port, [f"{base_topic}/events/#"]) as watcher:
        bridge = run_command("arrsync-bridge", config)
        listening = wait_until(lambda: re.search(r"listening on (http://\S+)/webhook",
                                                 bridge.output()), message="the bridge listens")
        wait_until(lambda: "HTTP 401" in bridge.output(), message="the 401 logged")
        wait_until(lambda: http("GET", f"{listening[1]}/health").json()["broker"] == "connected",
                   message="the bridge connected to the broker")
        answer = http("POST", f"{listening[1]}/webhook/radarr", webhook_of(DUNE, 5000))
        assert answer.status == 200, answer.body
        watcher.wait_for("/events/radarr/Download")
        assert bridge.signal(signal.SIGTERM) == 0
    output = bridge.output()
    assert (f"catch-up cannot read the history of Radarr at {radarr.url}: refused the API key "
            "(HTTP 401); set arrs[].api_key to the arr's Settings > General > API Key") in output
    assert "Traceback" not in output
    assert radarr.seen("/history/since")[0].headers["x-api-key"] == wrong  # it was sent
    assert wrong not in output
