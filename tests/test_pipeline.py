"""Each import shape of each app, through the real bridge, broker and rsync, lands right."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from arrsync.settings import Settings
from syncer.service import SyncerService
from tests.helpers import MqttWatcher, http
from tests.media import FIXTURES, MediaTree, syncer_settings
from tests.processes import RunningBridge
from tools.localbroker import LocalBroker

IMPORTS = [
    ("radarr", "download"), ("radarr", "download-upgrade"), ("sonarr", "download"),
    ("sonarr", "download-upgrade"), ("sonarr", "download-import-complete"),
    ("lidarr", "download"), ("readarr", "download"), ("whisparr", "download"),
    ("whisparr", "download-movie"),
]
STATUS_FIELDS = {"job", "state", "trigger", "title", "app", "mapping", "source", "dest",
                 "bytes", "files", "attempt", "max_attempts", "duration_s", "error", "at"}


def imported_paths(app: str, name: str) -> tuple[dict, list[str]]:
    payload = json.loads((FIXTURES / app / f"{name}.json").read_text())
    files = [payload[k] for k in ("movieFile", "episodeFile") if k in payload]
    for key in ("episodeFiles", "trackFiles", "bookFiles"):
        files += payload.get(key, [])
    return payload, [f["path"] for f in files]


@pytest.fixture
def stack(broker: LocalBroker, make_settings: Callable[..., Settings], media: MediaTree,
          base_topic: str, start_bridge: Callable[[Settings], RunningBridge],
          start_syncer: Callable[[Settings], SyncerService]) -> RunningBridge:
    settings = syncer_settings(make_settings, broker, media, base_topic)
    start_syncer(settings)
    return start_bridge(settings)


@pytest.mark.parametrize(("app", "name"), IMPORTS, ids=[f"{a}/{n}" for a, n in IMPORTS])
def test_import_lands_at_its_destination(app: str, name: str, stack: RunningBridge,
                                         broker: LocalBroker, media: MediaTree,
                                         base_topic: str) -> None:
    payload, paths = imported_paths(app, name)
    sources = {p: media.put(p, size=10_000 + i) for i, p in enumerate(paths)}
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        answer = http("POST", f"{stack.url}/webhook/{app}", json.dumps(payload))
        done = watcher.wait_for("/sync/succeeded")[0].json()
        states = [m.json()["state"] for m in watcher.messages
                  if m.json()["job"] == done["job"] and m.json()["state"] != "progress"]
    assert states == ["queued", "started", "succeeded"]
    assert done["trigger"] == answer.json()["id"]
    assert done.keys() >= STATUS_FIELDS
    assert done["files"] == len(paths)
    assert done["bytes"] == sum(p.stat().st_size for p in sources.values())
    assert (done["attempt"], done["error"]) == (1, None)
    for arr_path, source in sources.items():
        assert media.dest_of(arr_path).read_bytes() == source.read_bytes()


def test_season_pack_is_one_job(stack: RunningBridge, broker: LocalBroker, media: MediaTree,
                                base_topic: str) -> None:
    payload, paths = imported_paths("sonarr", "download-import-complete")
    for path in paths:
        media.put(path)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        http("POST", f"{stack.url}/webhook/sonarr", json.dumps(payload))
        done = watcher.wait_for("/sync/succeeded")[0].json()
        assert len(watcher.on("/sync/queued")) == 1
    assert done["files"] == 3
    assert done["dest"] == str(media.dest_of("/tv/Chernobyl (2019)/Season 1"))


def test_4k_and_hd_instances_map_to_their_own_destinations(
    stack: RunningBridge, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    hd, _ = imported_paths("radarr", "download")
    uhd = json.loads(json.dumps(hd).replace("/movies/", "/movies4k/"))
    uhd["instanceName"] = "Radarr 4K"
    hd_file = hd["movieFile"]["path"]
    uhd_file = uhd["movieFile"]["path"]
    media.put(hd_file, b"1080p")
    media.put(uhd_file, b"2160p")
    with MqttWatcher(broker.port, [f"{base_topic}/sync/succeeded"]) as watcher:
        http("POST", f"{stack.url}/webhook/radarr", json.dumps(hd))
        http("POST", f"{stack.url}/webhook/radarr", json.dumps(uhd))
        done = {m.json()["mapping"] for m in watcher.wait_for("/succeeded", count=2)}
    assert done == {"Movies 1080p", "Movies 4K"}
    assert Path(media.mapping("Movies 1080p")["dest"], hd_file[len("/movies/"):]).read_bytes() \
        == b"1080p"
    assert Path(media.mapping("Movies 4K")["dest"], uhd_file[len("/movies4k/"):]).read_bytes() \
        == b"2160p"


def test_sidecars_come_along(stack: RunningBridge, broker: LocalBroker, media: MediaTree,
                             base_topic: str) -> None:
    payload, (movie,) = imported_paths("radarr", "download")
    media.put(movie)
    stem = movie.rsplit(".", 1)[0]
    for extra in (f"{stem}.en.srt", f"{stem}.nfo", "/movies/Oppenheimer (2023)/unrelated.txt"):
        media.put(extra, b"side")
    with MqttWatcher(broker.port, [f"{base_topic}/sync/succeeded"]) as watcher:
        http("POST", f"{stack.url}/webhook/radarr", json.dumps(payload))
        done = watcher.wait_for("/succeeded")[0].json()
    assert done["files"] == 3
    assert media.dest_of(f"{stem}.en.srt").read_bytes() == b"side"
    assert media.dest_of(f"{stem}.nfo").exists()
    assert not media.dest_of("/movies/Oppenheimer (2023)/unrelated.txt").exists()


# Deletes are mirrored only with on_delete: recycle (the default is keep).
@pytest.mark.parametrize(("app", "name"), [("radarr", "grab"), ("radarr", "movie-file-delete"),
                                           ("sonarr", "series-delete"), ("lidarr", "retag")])
def test_events_that_are_not_imports_start_nothing(
    app: str, name: str, stack: RunningBridge, broker: LocalBroker, base_topic: str,
) -> None:
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        http("POST", f"{stack.url}/webhook/{app}", (FIXTURES / app / f"{name}.json").read_bytes())
        http("POST", f"{stack.url}/test")  # the test event is handled after the one before
        watcher.wait_for("/sync/test")
        assert [m.topic.rsplit("/", 1)[1] for m in watcher.messages] == ["test"]
