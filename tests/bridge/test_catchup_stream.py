"""Catch-up reads the history as it arrives: an answer cut off in the middle replays each
import once in all (what it had replayed is not replayed again), and the records of one
file still make one event when other files' records come between them. Real bridge and
broker; the arrs are the stand-in of tests/arr_standin."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from arrsync.settings import Settings
from bridge.catchup import replay
from tests.arr_standin import StandInArr
from tests.bridge.test_catchup import KEY, arr_entry, read_now, started
from tests.helpers import MqttWatcher, http
from tests.processes import RunningBridge
from tools.localbroker import LocalBroker


@pytest.fixture
def arr(request: pytest.FixtureRequest) -> Iterator[StandInArr]:
    with StandInArr(request.param, KEY) as stand_in:
        yield stand_in


@pytest.mark.parametrize("arr", ["radarr"], indirect=True)
def test_an_answer_cut_off_midway_replays_each_import_once_in_all(
    broker: LocalBroker, make_settings: Callable[..., Settings], base_topic: str,
    start_bridge: Callable[[Settings], RunningBridge], arr: StandInArr,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    radarr = arr
    monkeypatch.setattr(replay, "MAX_OPEN", 5)  # files are handed on as the answer goes
    bridge = started(start_bridge(make_settings(broker, arrs=[arr_entry(radarr)])))
    records = []
    for n in range(30):
        movie = radarr.add_movie(f"Movie {n}", 2000, f"/movies/Movie {n}/Movie {n}.mkv", 100)
        records.append(radarr.record_movie_import(movie))
    with MqttWatcher(broker.port, [f"{base_topic}/events/#"]) as watcher:
        radarr.cut_after = 12  # the arr restarts while it answers
        read_now(bridge)
        health = http("GET", f"{bridge.url}/health").json()["catch_up"]["Radarr"]
        assert health["last_error"] and "/history/since" in health["last_error"]
        assert health["replayed"] == 12 - 5  # spooled before the cut: kept, and counted
        read_now(bridge)  # the next read: from the same cursor
        events = watcher.wait_for("/events/radarr/Download", count=30)
        read_now(bridge)  # and once more: nothing new
        health = http("GET", f"{bridge.url}/health").json()["catch_up"]["Radarr"]
        replayed = [m.json()["payload"]["id"] for m in watcher.on("/events/radarr/Download")]
    assert health["last_error"] is None and health["replayed"] == 30
    assert len(events) == 30
    assert Counter(replayed) == Counter(record["id"] for record in records)  # each once


@pytest.mark.parametrize("arr", ["sonarr"], indirect=True)
def test_the_records_of_one_file_make_one_event_when_others_come_between(
    broker: LocalBroker, make_settings: Callable[..., Settings], base_topic: str,
    start_bridge: Callable[[Settings], RunningBridge], arr: StandInArr,
) -> None:
    sonarr = arr
    bridge = started(start_bridge(make_settings(broker, arrs=[arr_entry(sonarr)])))
    series = sonarr.add_series("Chernobyl", "/tv/Chernobyl (2019)")
    first = sonarr.add_episode_file(series, "Season 1/S01E01-E02.mkv", 4000, [(1, 1), (1, 2)])
    second = sonarr.add_episode_file(series, "Season 1/S01E03-E04.mkv", 4000, [(1, 3), (1, 4)])
    moment = datetime.now(UTC) + timedelta(seconds=1)
    a1, a2 = sonarr.record_episode_import(first, at=moment)
    b3, b4 = sonarr.record_episode_import(second, at=moment)
    with sonarr._lock:  # two imports written at once: their records interleave
        sonarr.history[-4:] = [a1, b3, a2, b4]
    with MqttWatcher(broker.port, [f"{base_topic}/events/#"]) as watcher:
        read_now(bridge)
        events = [m.json() for m in watcher.wait_for("/events/sonarr/Download", count=2)]
        read_now(bridge)
        assert len(watcher.on("/events/sonarr/Download")) == 2
    episodes = {event["files"][0]["path"].rsplit("/", 1)[1]:
                [(e["season"], e["episode"]) for e in event["episodes"]] for event in events}
    assert episodes == {"S01E01-E02.mkv": [(1, 1), (1, 2)], "S01E03-E04.mkv": [(1, 3), (1, 4)]}
