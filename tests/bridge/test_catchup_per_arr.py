"""Catch-up that cannot be silenced: each arr is read on its own, so one that trickles its
answer delays no other; a history record dated in the future never moves the cursor past
now; what each arr's catch-up did is on /health. Real bridge, broker and syncer; the arrs
are the stand-in of tests/arr_standin.py."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from arrsync.settings import Settings
from syncer.service import SyncerService
from tests.arr_standin import StandInArr
from tests.bridge.test_catchup import DUNE, KEY, arr_entry, read_now, stack_settings, started
from tests.helpers import MqttWatcher, http
from tests.media import MediaTree
from tests.processes import RunningBridge
from tools.localbroker import LocalBroker

EPISODE = "/tv/Chernobyl (2019)/Season 1/Chernobyl (2019) - S01E01 - 1_23_45.mkv"


@pytest.fixture
def radarr() -> Iterator[StandInArr]:
    with StandInArr("radarr", KEY) as arr:
        yield arr


@pytest.fixture
def sonarr() -> Iterator[StandInArr]:
    with StandInArr("sonarr", KEY) as arr:
        yield arr


def test_an_arr_that_trickles_its_answer_delays_no_other_arr(
    broker: LocalBroker, make_settings: Callable[..., Settings], media: MediaTree,
    base_topic: str, start_bridge: Callable[[Settings], RunningBridge],
    start_syncer: Callable[[Settings], SyncerService], radarr: StandInArr, sonarr: StandInArr,
) -> None:
    arrs = [arr_entry(radarr, "Radarr"), arr_entry(sonarr, "Sonarr")]  # the slow one first
    settings = stack_settings(make_settings, broker, media, base_topic, arrs)
    start_syncer(settings)
    started(start_bridge(settings)).stop()  # the first read ever: catch-up starts here
    series = sonarr.add_series("Chernobyl", "/tv/Chernobyl (2019)")
    file_id = sonarr.add_episode_file(series, "Season 1/" + EPISODE.rsplit("/", 1)[1], 4000,
                                      [(1, 1)])
    sonarr.record_episode_import(file_id)  # missed while the bridge was down
    media.put(EPISODE, size=4000)
    radarr.trickle = True  # a black-holed or overloaded Radarr
    with MqttWatcher(broker.port, [f"{base_topic}/events/#", f"{base_topic}/sync/+"]) as watcher:
        bridge = start_bridge(settings)
        event = watcher.wait_for("/events/sonarr/Download", timeout=20)[0].json()
        watcher.wait_for("/sync/succeeded", timeout=20)
        health = http("GET", f"{bridge.url}/health").json()
    assert event["replayed"] is True and event["files"][0]["path"] == EPISODE
    assert media.dest_of(EPISODE).exists()
    assert health["catch_up"]["Sonarr"]["replayed"] == 1
    assert health["catch_up"]["Sonarr"]["last_error"] is None
    assert health["catch_up"]["Radarr"]["last_read"] is None  # still reading


def test_a_record_dated_in_the_future_does_not_stop_catch_up(
    broker: LocalBroker, make_settings: Callable[..., Settings], media: MediaTree,
    base_topic: str, start_bridge: Callable[[Settings], RunningBridge],
    start_syncer: Callable[[Settings], SyncerService], radarr: StandInArr,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = stack_settings(make_settings, broker, media, base_topic, [arr_entry(radarr)])
    start_syncer(settings)
    caplog.set_level(logging.INFO, logger="bridge")
    with MqttWatcher(broker.port, [f"{base_topic}/events/#"]) as watcher:
        bridge = started(start_bridge(settings))
        future = radarr.add_movie("Future", 2030, "/movies/Future (2030)/Future.mkv", 10)
        radarr.record_movie_import(future, at=datetime.now(UTC) + timedelta(days=365))
        read_now(bridge)
        watcher.wait_for("/events/radarr/Download")  # replayed once
        dune = radarr.add_movie("Dune", 2021, DUNE, 5000)
        radarr.record_movie_import(dune)  # a real import, after the clock went wrong
        read_now(bridge)
        read_now(bridge)  # twice: the future record is not replayed again
        titles = [m.json()["title"] for m in watcher.wait_for("/events/radarr/Download",
                                                               count=2)]
        health = http("GET", f"{bridge.url}/health").json()
    assert titles == ["Future (2030)", "Dune (2021)"]
    assert "dated in the future" in caplog.text
    assert health["catch_up"]["Radarr"]["replayed"] == 2
    assert health["catch_up"]["Radarr"]["last_read"] is not None
