"""Deletes mirrored into the recycle bin, the circuit breaker, and the bin itself, with the
arrs' real payloads through the real bridge, broker, syncer and notifier."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from arrsync.settings import Settings
from notifier.service import NotifierService
from syncer.copying.guard import DestinationGuard
from syncer.mirror.recycle_bin import BinKeeper
from syncer.service import SyncerService
from tests.helpers import MqttWatcher, http, mosquitto_pub, publish_import, wait_until
from tests.media import MediaTree, fixture, syncer_settings
from tests.processes import Process, RunningBridge
from tests.sink import NotificationSink
from tests.syncer.mirror_stack import EPISODE, RECYCLE, episode_delete, rest_of_the_library
from tools.localbroker import LocalBroker


@pytest.fixture
def build(broker: LocalBroker, make_settings: Callable[..., Settings], media: MediaTree,
          base_topic: str, start_bridge: Callable[[Settings], RunningBridge],
          start_syncer: Callable[[Settings], SyncerService]) -> Callable[..., RunningBridge]:
    def start(policy: dict[str, Any] | None = None, **syncer: Any) -> RunningBridge:
        mappings = [{**m, **(policy or {})} for m in media.mappings]
        rest_of_the_library(mappings)
        settings = syncer_settings(make_settings, broker, media, base_topic,
                                   mappings=mappings, **syncer)
        start_syncer(settings)
        bridge = start_bridge(settings)
        wait_until(bridge.service.mqtt.connected.is_set, message="bridge connected")
        return bridge
    return start


def post(bridge: RunningBridge, app: str, payload: dict[str, Any]) -> None:
    assert http("POST", f"{bridge.url}/webhook/{app}", json.dumps(payload)).status == 200


def test_a_delete_is_kept_by_default(build: Callable[..., RunningBridge], broker: LocalBroker,
                                     media: MediaTree, base_topic: str) -> None:
    movie = fixture("radarr", "movie-file-delete")
    copy = media.put_dest(movie["movieFile"]["path"], b"keep me")
    bridge = build()
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, "radarr", movie)
        http("POST", f"{bridge.url}/test")
        watcher.wait_for("/sync/test")
        assert [m.topic.rsplit("/", 1)[1] for m in watcher.messages] == ["test"]
    assert copy.read_bytes() == b"keep me"


def test_a_deleted_episode_goes_to_the_recycle_bin_with_its_sidecar(
    build: Callable[..., RunningBridge], broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    copy = media.put_dest(EPISODE, b"episode")
    subtitle = media.put_dest(EPISODE.replace(".mkv", ".en.srt"), b"subtitle")
    inode = copy.stat().st_ino
    bridge = build(RECYCLE)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, "sonarr", episode_delete())
        done = watcher.wait_for("/sync/succeeded")[0].json()
    assert (done["action"], done["files"], done["bytes"]) == ("recycle", 2, 0)
    assert not copy.exists() and not subtitle.exists()
    assert media.recycled(EPISODE).stat().st_ino == inode
    assert media.recycled(EPISODE.replace(".mkv", ".en.srt")).read_bytes() == b"subtitle"
    assert not media.dest_of("/tv/Chernobyl (2019)").exists()  # folders left empty are gone
    assert media.dest_of("/tv").is_dir()  # never the destination root


@pytest.mark.parametrize(("app", "name", "folder"), [
    ("radarr", "movie-delete", "/movies/Oppenheimer (2023)"),
    ("sonarr", "series-delete", "/tv/Chernobyl (2019)"),
])
def test_a_movie_or_series_deleted_with_its_files_recycles_the_whole_folder(
    app: str, name: str, folder: str, build: Callable[..., RunningBridge],
    broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    inside = media.put_dest(f"{folder}/Season 1/video.mkv", b"video")
    media.put_dest(f"{folder}/poster.jpg", b"poster")
    bridge = build(RECYCLE)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, app, fixture(app, name))
        done = watcher.wait_for("/sync/succeeded")[0].json()
        kept = fixture(app, name)
        kept["deletedFiles"] = False  # removed from the arr only: files kept
        post(bridge, app, kept)
        http("POST", f"{bridge.url}/test")
        watcher.wait_for("/sync/test")
        assert len(watcher.on("/sync/queued")) == 1
    assert done["moved"] == [{"from_path": str(media.dest_of(folder)),
                              "to_path": str(media.recycled(folder))}]
    assert not inside.exists() and not media.dest_of(folder).exists()
    assert (media.recycled(folder) / "Season 1" / "video.mkv").read_bytes() == b"video"


def test_a_removal_waits_while_the_destination_is_not_mounted(
    build: Callable[..., RunningBridge], broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    copy = media.put_dest(EPISODE, b"episode")
    bridge = build({**RECYCLE, "require_mount": True})
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, "sonarr", episode_delete())
        held = watcher.wait_for("/sync/retrying")[0].json()
    assert (held["action"], held["held"], held["attempt"]) == ("recycle", True, 0)
    assert "not on a mounted share" in held["error"]
    assert copy.read_bytes() == b"episode"
    assert not media.recycle_bin(EPISODE).exists()


def test_dry_run_recycle_reports_and_moves_nothing(
    build: Callable[..., RunningBridge], broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    copy = media.put_dest(EPISODE, b"episode")
    bridge = build(RECYCLE, dry_run=True)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, "sonarr", episode_delete())
        done = watcher.wait_for("/sync/succeeded")[0].json()
    assert done["dry_run"] is True
    assert done["moved"] == [{"from_path": str(copy), "to_path": str(media.recycled(EPISODE))}]
    assert copy.read_bytes() == b"episode"


def test_a_path_recycled_then_imported_again_is_copied_again(
    build: Callable[..., RunningBridge], broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    movie = "/movies/Again (2020)/Again.mkv"
    media.put(movie, b"first")
    bridge = build(RECYCLE)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        publish_import(broker.port, base_topic, "first", [movie])
        watcher.wait_for("/sync/succeeded")
        media.source_of(movie).unlink()
        deleted = fixture("radarr", "movie-file-delete")
        deleted["movieFile"]["path"] = movie
        post(bridge, "radarr", deleted)
        watcher.wait_for("/sync/succeeded", count=2)
        media.put(movie, b"second")
        publish_import(broker.port, base_topic, "second", [movie])
        watcher.wait_for("/sync/succeeded", count=3)
    assert media.dest_of(movie).read_bytes() == b"second"
    assert media.recycled(movie).read_bytes() == b"first"


def test_the_recycle_bin_is_never_synced_into(
    build: Callable[..., RunningBridge], broker: LocalBroker, base_topic: str,
) -> None:
    build()
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        mosquitto_pub(broker.port, f"{base_topic}/sync/request",
                      "/movies/.arrsync-recycle/2026-01-01/Dune (2021)/Dune.mkv")
        refused = watcher.refusal()
    assert "recycle bin" in refused["message"]


def test_the_bin_is_emptied_of_what_is_older_than_recycle_days(
    make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
    base_topic: str,
) -> None:
    settings = syncer_settings(make_settings, broker, media, base_topic, recycle_days=7)
    movies = media.recycle_bin("/movies/x")
    today = time.strftime("%Y-%m-%d")
    old = time.strftime("%Y-%m-%d", time.localtime(time.time() - 8 * 86400))
    week = time.strftime("%Y-%m-%d", time.localtime(time.time() - 6 * 86400))
    for day in (old, week, today):
        (movies / day / "Film").mkdir(parents=True)
        (movies / day / "Film" / "film.mkv").write_bytes(b"x")
    stale = movies / ".staging" / "0123456789ab"
    stale.mkdir(parents=True)
    os.utime(stale, (time.time() - 8 * 86400,) * 2)
    (movies / "not-a-day").mkdir()
    keeper = BinKeeper(settings.syncer, DestinationGuard())
    assert keeper.prune_all() == 2
    assert sorted(p.name for p in movies.iterdir()) == sorted(
        [".staging", "not-a-day", today, week])
    assert not stale.exists()


# -- the circuit breaker ---------------------------------------------------------------------


@pytest.fixture
def sink() -> Iterator[NotificationSink]:
    with NotificationSink() as running:
        yield running


def test_the_circuit_breaker_holds_removals_past_the_limit_until_released(
    broker: LocalBroker, make_settings: Callable[..., Settings], media: MediaTree,
    base_topic: str, start_bridge: Callable[[Settings], RunningBridge],
    start_syncer: Callable[[Settings], SyncerService], sink: NotificationSink,
    write_config: Callable[..., Path], run_command: Callable[..., Process],
) -> None:
    mappings = [{**m, **RECYCLE} for m in media.mappings]
    rest_of_the_library(mappings)
    settings = syncer_settings(make_settings, broker, media, base_topic, mappings=mappings,
                               max_removals_per_hour=2)
    settings = settings.model_copy(update={"notify": settings.notify.model_validate(
        {"urls": [sink.url()], "group_window": 0})})
    start_syncer(settings)
    notifier = NotifierService(settings, retry_delay=0.05)
    notifier.start()
    bridge = start_bridge(settings)
    wait_until(bridge.service.mqtt.connected.is_set, message="bridge connected")
    episodes = [EPISODE.replace("S01E05", f"S01E0{n}") for n in range(1, 6)]
    copies = [media.put_dest(path, path.encode()) for path in episodes]
    config = write_config(broker, syncer={"mappings": mappings})
    try:
        with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
            for path in episodes:
                post(bridge, "sonarr", episode_delete(path))
            watcher.wait_for("/sync/succeeded", count=2)
            wait_until(lambda: len(held_ids(run_command, config)) == 3,
                       message="three removals on hold")
            watcher.wait_for("/sync/retrying")
            copy_movie = "/movies/Copies Go On/film.mkv"
            media.put(copy_movie, b"copied")
            publish_import(broker.port, base_topic, "copy", [copy_movie])
            watcher.wait_for("/sync/succeeded", count=3)
            held = held_ids(run_command, config)
            released = run_command("arrsync-syncer", config, "retry", held[0], "--timeout", "30")
            assert released.wait(60) == 0
            assert "succeeded" in released.output()
            assert sum(1 for p in copies if not p.exists()) == 3  # 2 in the limit, 1 released
            assert len(held_ids(run_command, config)) == 2
            # two removals, the alert, the copy, the released removal
            sink.wait_for(5)
            kept = held_ids(run_command, config)[0]  # a person decides this one must stay
            dismissed = run_command("arrsync-syncer", config, "dismiss", kept)
            assert dismissed.wait(60) == 0
            assert "skipped" in dismissed.output() and "dismissed" in dismissed.output()
            rest = run_command("arrsync-syncer", config, "retry", "--held", "--timeout", "30")
            assert rest.wait(60) == 0
            assert "releasing 1 removal(s) on hold" in rest.output()
            alerts = [m.json() for m in watcher.on("/sync/retrying")]
    finally:
        notifier.stop()
    assert len(alerts) == 1 and alerts[0]["on_hold"] is True
    assert "max_removals_per_hour is 2" in alerts[0]["error"]
    recycled = [path for path in episodes if media.recycled(path).exists()]
    assert len(recycled) == 4 and all(not media.dest_of(path).exists() for path in recycled)
    (still,) = [path for path in episodes if path not in recycled]
    assert media.dest_of(still).read_bytes() == still.encode()  # dismissed: never removed
    assert media.dest_of(copy_movie).read_bytes() == b"copied"
    on_hold = [n for n in sink.received() if "on hold" in n["title"]]
    assert len(on_hold) == 1 and "circuit breaker" in on_hold[0]["message"]
    assert on_hold[0]["type"] == "warning"
    assert held_ids(run_command, config) == []


def held_ids(run_command: Callable[..., Process], config: Path) -> list[str]:
    """The job ids `arrsync-syncer jobs --held` lists."""
    listed = run_command("arrsync-syncer", config, "jobs", "--held")
    assert listed.wait(30) == 0
    return [line.split()[0] for line in listed.output().splitlines() if "on hold" in line]
