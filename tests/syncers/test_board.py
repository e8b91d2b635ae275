"""The status page and the metrics with two named syncers: each one's availability, their
summaries and statistics added up, each mapping named with its syncer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from arrsync.settings import Settings
from tests.helpers import MqttWatcher, http, publish_import, wait_until
from tests.media import MediaTree
from tests.processes import RunningBridge
from tests.syncers.stack import StartNamed, knows
from tools.localbroker import LocalBroker

MOVIE = "/movies/Dune (2021)/Dune (2021).mkv"
EPISODE = "/tv/Severance/Season 1/Severance - S01E01.mkv"


def test_the_page_shows_each_syncer_and_their_sum(
    start_named: StartNamed, broker: LocalBroker, base_topic: str, media: MediaTree,
    make_settings: Callable[..., Settings], start_bridge: Callable[[Settings], RunningBridge],
) -> None:
    movies = start_named("movies", ["Movies 1080p"])
    tv = start_named("tv", ["TV 1080p"])
    knows(movies, EPISODE, "tv")
    bridge = start_bridge(make_settings(broker))
    media.put(MOVIE, size=1000)
    media.put(EPISODE, size=2000)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/succeeded"]) as watcher:
        publish_import(broker.port, base_topic, "movie", [MOVIE])
        publish_import(broker.port, base_topic, "episode", [EPISODE])
        watcher.wait_for("/succeeded", count=2)

    def status() -> dict[str, Any]:
        answer: dict[str, Any] = http("GET", f"{bridge.url}/api/status").json()
        return answer

    wait_until(lambda: (status()["summary"] or {}).get("succeeded_total") == 2 and
               status()["today"]["count"] == 2, message="both syncers' numbers on the page")
    shown = status()
    assert shown["availability"] == {"bridge": "online", "notifier": "unknown",
                                     "syncer movies": "online", "syncer tv": "online"}
    assert shown["summary"]["syncers"] == ["movies", "tv"]
    assert shown["today"]["bytes"] == 3000
    assert {m["name"]: m["today"]["count"] for m in shown["mappings"]} == {
        "Movies 1080p (movies)": 1, "TV 1080p (tv)": 1}
    metrics = http("GET", f"{bridge.url}/metrics").body.decode()
    assert 'mapping="Movies 1080p (movies)"' in metrics
    assert 'mapping="TV 1080p (tv)"' in metrics
    tv.stop()
    wait_until(lambda: status()["availability"]["syncer tv"] == "offline", message="tv off")
    assert status()["availability"]["syncer movies"] == "online"
