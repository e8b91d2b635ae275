"""Two named syncers on one broker, one for movies and one for TV (`syncer.name`): each
copies its own imports, neither fails the other's, an import nobody maps is reported once,
each has its own availability, and requests are answered by the syncer they concern."""

from __future__ import annotations

import json

from syncer.service import SyncerService
from tests.helpers import MqttWatcher, mosquitto_pub, publish_import, wait_until
from tests.media import MediaTree
from tests.syncers.stack import StartNamed, knows
from tools.localbroker import LocalBroker

MOVIE = "/movies/Dune (2021)/Dune (2021).mkv"
EPISODE = "/tv/Severance/Season 1/Severance - S01E01.mkv"


def two(start_named: StartNamed) -> tuple[SyncerService, SyncerService]:
    movies = start_named("movies", ["Movies 1080p"])
    tv = start_named("tv", ["TV 1080p"])
    knows(movies, EPISODE, "tv")
    knows(tv, MOVIE, "movies")
    return movies, tv


def test_each_syncer_copies_its_own_and_an_import_nobody_maps_is_reported_once(
    start_named: StartNamed, broker: LocalBroker, base_topic: str, media: MediaTree,
) -> None:
    two(start_named)
    later_movie, later_episode = MOVIE.replace("Dune", "Arrival"), EPISODE.replace("01.", "02.")
    for path in (MOVIE, EPISODE, later_movie, later_episode):
        media.put(path, path.encode())
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        publish_import(broker.port, base_topic, "movie", [MOVIE])
        publish_import(broker.port, base_topic, "episode", [EPISODE])
        publish_import(broker.port, base_topic, "nobody", ["/anime/Frieren/S01E01.mkv"])
        # Each syncer handles events in order: these two come after "nobody" for both.
        publish_import(broker.port, base_topic, "later-movie", [later_movie])
        publish_import(broker.port, base_topic, "later-episode", [later_episode])
        succeeded = watcher.wait_for("/sync/succeeded", count=4)
        failed = watcher.on("/sync/failed")
    assert sorted((m.json()["syncer"], m.json()["trigger"]) for m in succeeded) == [
        ("movies", "later-movie"), ("movies", "movie"),
        ("tv", "episode"), ("tv", "later-episode")]
    assert [(m.json()["syncer"], m.json()["trigger"]) for m in failed] == [("movies", "nobody")]
    assert "under no mapping" in failed[0].json()["error"]
    for path in (MOVIE, EPISODE, later_movie, later_episode):
        assert media.dest_of(path).read_bytes() == path.encode()


def test_availability_is_per_syncer_and_a_stray_syncer_leaves_the_others_online(
    start_named: StartNamed, broker: LocalBroker, base_topic: str,
) -> None:
    movies, tv = two(start_named)
    stray = start_named("stray", ["Music"])
    stray.stop()

    def retained() -> dict[str, str]:
        with MqttWatcher(broker.port, [f"{base_topic}/syncer/+/availability",
                                       f"{base_topic}/syncer/availability"]) as watcher:
            wait_until(lambda: len(watcher.messages) >= 3, message="retained availability")
            return {m.topic: m.payload.decode() for m in watcher.messages}

    root = f"{base_topic}/syncer"
    wait_until(lambda: retained().get(f"{root}/stray/availability") == "offline",
               message="the stray syncer offline")
    assert retained() == {f"{root}/movies/availability": "online",
                          f"{root}/tv/availability": "online",
                          f"{root}/stray/availability": "offline"}
    tv.stop()
    wait_until(lambda: retained()[f"{root}/tv/availability"] == "offline",
               message="tv offline")
    assert retained()[f"{root}/movies/availability"] == "online"
    assert movies.mqtt.connected.is_set()


def test_summaries_and_statistics_are_under_each_syncers_own_topics(
    start_named: StartNamed, broker: LocalBroker, base_topic: str, media: MediaTree,
) -> None:
    two(start_named)
    media.put(EPISODE, b"episode")
    with MqttWatcher(broker.port, [f"{base_topic}/syncer/#"]) as watcher:
        publish_import(broker.port, base_topic, "episode", [EPISODE])
        state = watcher.wait_for(
            "/tv/state", where=lambda m: m.json()["succeeded_total"] == 1)[-1].json()
        watcher.wait_for("/movies/stats")
        watcher.wait_for("/tv/mappings")
    assert state["syncer"] == "tv"
    assert {m.topic for m in watcher.messages}.isdisjoint(
        {f"{base_topic}/syncer/state", f"{base_topic}/syncer/stats",
         f"{base_topic}/syncer/availability"})
    announced = watcher.on("/movies/mappings")[-1].json()
    assert announced["syncer"] == "movies"
    assert [m["arr_path"] for m in announced["mappings"]] == ["/movies"]


def test_a_request_is_answered_by_the_syncer_it_concerns(
    start_named: StartNamed, broker: LocalBroker, base_topic: str, media: MediaTree,
) -> None:
    two(start_named)
    media.put(EPISODE, b"episode")
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        mosquitto_pub(broker.port, f"{base_topic}/sync/request",
                      json.dumps({"path": EPISODE, "id": "by-path"}))
        watcher.wait_for("/sync/succeeded")
        mosquitto_pub(broker.port, f"{base_topic}/sync/request",
                      json.dumps({"retry": "no-such-job", "id": "named", "syncer": "movies"}))
        mosquitto_pub(broker.port, f"{base_topic}/sync/request",
                      json.dumps({"path": "/anime/x.mkv", "id": "nobody's"}))
        # Each syncer answers in order: what either would say comes before these.
        for syncer in ("movies", "tv"):
            mosquitto_pub(broker.port, f"{base_topic}/sync/request", json.dumps(
                {"retry": "no-such-job", "id": f"end-{syncer}", "syncer": syncer}))
        for syncer in ("movies", "tv"):
            watcher.wait_for("/sync/response", where=lambda m, s=syncer: m.json()["id"] ==
                             f"end-{s}")
        answers = [(m.json()["id"], m.json()["syncer"], m.json()["ok"])
                   for m in watcher.on("/sync/response")]
    assert sorted(answers) == [("by-path", "tv", True), ("end-movies", "movies", False),
                               ("end-tv", "tv", False), ("named", "movies", False),
                               ("nobody's", "movies", False)]
