"""Upgrades and renames, with the arrs' real payloads through the real bridge, broker and
rsync: the destination follows the arr, a rename copies no data (same inode), a replaced
file goes to the recycle bin, and a same-name upgrade never leaves the name without a file."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from arrsync.settings import Settings
from syncer.service import SyncerService
from tests.helpers import MqttWatcher, http
from tests.media import MediaTree, fixture, syncer_settings
from tests.processes import RunningBridge
from tools.localbroker import LocalBroker

Stack = Callable[..., RunningBridge]


@pytest.fixture
def stack(broker: LocalBroker, make_settings: Callable[..., Settings], media: MediaTree,
          base_topic: str, start_bridge: Callable[[Settings], RunningBridge],
          start_syncer: Callable[[Settings], SyncerService]) -> Stack:
    """The bridge and a syncer; `policy` goes into every mapping, the rest into `syncer`."""

    def build(policy: dict[str, Any] | None = None, **syncer: Any) -> RunningBridge:
        mappings = [{**m, **(policy or {})} for m in media.mappings]
        settings = syncer_settings(make_settings, broker, media, base_topic,
                                   mappings=mappings, **syncer)
        start_syncer(settings)
        return start_bridge(settings)

    return build


def post(bridge: RunningBridge, app: str, payload: dict[str, Any]) -> str:
    answer = http("POST", f"{bridge.url}/webhook/{app}", json.dumps(payload))
    assert answer.status == 200, answer.body
    return answer.json()["id"]


def upgrade(app: str) -> tuple[dict[str, Any], str, str]:
    """The arr's upgrade payload, the new file's path and the replaced one's."""
    payload = fixture(app, "download-upgrade")
    new = payload["movieFile" if app == "radarr" else "episodeFile"]["path"]
    return payload, new, payload["deletedFiles"][0]["path"]


def states_of(watcher: MqttWatcher, job: str) -> list[str]:
    return [m.json()["state"] for m in watcher.messages
            if m.topic.rsplit("/", 1)[1] not in ("progress", "request")
            and m.json()["job"] == job]


@pytest.mark.parametrize("app", ["radarr", "sonarr"])
def test_upgrade_with_a_new_name_copies_it_and_recycles_the_replaced_copy(
    app: str, stack: Stack, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    payload, new, old = upgrade(app)
    source = media.put(new, b"new quality" * 1000)
    old_copy = media.put_dest(old, b"old quality")
    old_subtitle = media.put_dest(old.replace(".mkv", ".en.srt"), b"old subtitle")
    old_inode = old_copy.stat().st_ino
    bridge = stack()
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        trigger = post(bridge, app, payload)
        done = watcher.wait_for("/sync/succeeded")[0].json()
        assert states_of(watcher, done["job"]) == ["queued", "started", "succeeded"]
    assert (done["trigger"], done["action"]) == (trigger, "replace")
    assert media.dest_of(new).read_bytes() == source.read_bytes()
    assert done["bytes"] == source.stat().st_size
    assert not old_copy.exists() and not old_subtitle.exists()
    recycled = media.recycled(old)
    assert recycled.read_bytes() == b"old quality"
    assert recycled.stat().st_ino == old_inode  # moved, not copied
    assert media.recycled(old.replace(".mkv", ".en.srt")).read_bytes() == b"old subtitle"
    assert {m["to_path"] for m in done["moved"]} == {
        str(recycled), str(media.recycled(old.replace(".mkv", ".en.srt")))}
    assert not list((media.recycle_bin(old) / ".staging").iterdir())  # staging cleaned up


@pytest.mark.parametrize("app", ["radarr", "sonarr"])
def test_same_name_upgrade_replaces_the_copy_and_the_name_always_holds_a_whole_file(
    app: str, stack: Stack, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    payload, new, _old = upgrade(app)
    payload["deletedFiles"][0]["path"] = new  # the arr kept the name: same path, new file
    size = 12 * 1024 * 1024
    source = media.put(new, size=size)
    final = media.put_dest(new, b"old" * 1000)
    old_inode = final.stat().st_ino
    bridge = stack(rsync_extra_args=["--bwlimit=12m"])  # about a second of copying
    seen: list[tuple[int, int] | None] = []
    stop = threading.Event()

    def watch_the_name() -> None:
        while not stop.wait(0.005):
            try:
                stat = final.stat()
                seen.append((stat.st_ino, stat.st_size))
            except FileNotFoundError:
                seen.append(None)

    watcher_thread = threading.Thread(target=watch_the_name)
    watcher_thread.start()
    try:
        with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
            post(bridge, app, payload)
            done = watcher.wait_for("/sync/succeeded", timeout=30)[0].json()
    finally:
        stop.set()
        watcher_thread.join()
    assert done["action"] == "replace"
    assert final.read_bytes() == source.read_bytes()
    assert media.recycled(new).read_bytes() == b"old" * 1000
    assert media.recycled(new).stat().st_ino == old_inode
    assert None not in seen  # never a moment without a file under the final name
    assert {size for _inode, size in seen} <= {3000, size}
    assert seen.count((old_inode, 3000)) > 20  # watched while the new copy was staged


def test_sonarr_import_complete_after_the_per_file_upgrade_copies_nothing_twice(
    stack: Stack, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    payload, new, old = upgrade("sonarr")
    media.put(new, b"bluray")
    media.put_dest(old, b"hdtv")
    complete = fixture("sonarr", "download-import-complete")
    complete["episodeFiles"] = [payload["episodeFile"]]  # the same release, Import Complete
    bridge = stack()
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, "sonarr", payload)
        replaced = watcher.wait_for("/sync/succeeded")[0].json()
        inode = media.dest_of(new).stat().st_ino
        post(bridge, "sonarr", complete)
        skipped = watcher.wait_for("/sync/skipped")[0].json()
        assert len(watcher.on("/sync/started")) == 1
    assert replaced["job"] in skipped["error"]
    assert media.dest_of(new).stat().st_ino == inode
    assert media.recycled(old).read_bytes() == b"hdtv"


def test_upgrade_with_on_upgrade_keep_copies_and_keeps_the_old_copy(
    stack: Stack, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    payload, new, old = upgrade("radarr")
    media.put(new, b"remux")
    old_copy = media.put_dest(old, b"bluray")
    bridge = stack({"on_upgrade": "keep"})
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, "radarr", payload)
        done = watcher.wait_for("/sync/succeeded")[0].json()
    assert (done["action"], done["moved"]) == ("copy", None)
    assert media.dest_of(new).read_bytes() == b"remux"
    assert old_copy.read_bytes() == b"bluray"


def test_radarr_rename_renames_the_copy_and_its_sidecars_without_copying(
    stack: Stack, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    payload = fixture("radarr", "rename")
    renamed = payload["renamedMovieFiles"][0]
    old, new = renamed["previousPath"], renamed["path"]
    media.put(new, b"the film")
    media.put(new.replace(".mkv", ".en.srt"), b"subtitle")
    copy = media.put_dest(old, b"the film")
    subtitle = media.put_dest(old.replace(".mkv", ".en.srt"), b"subtitle")
    inodes = copy.stat().st_ino, subtitle.stat().st_ino
    bridge = stack()
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, "radarr", payload)
        done = watcher.wait_for("/sync/succeeded")[0].json()
    assert (done["action"], done["bytes"]) == ("rename", 0)
    assert not copy.exists() and not subtitle.exists()
    assert media.dest_of(new).stat().st_ino == inodes[0]  # the same file: no data copied
    assert media.dest_of(new.replace(".mkv", ".en.srt")).stat().st_ino == inodes[1]
    assert [(m["from_path"], m["to_path"]) for m in done["moved"]] == [
        (str(copy), str(media.dest_of(new))),
        (str(subtitle), str(media.dest_of(new.replace(".mkv", ".en.srt"))))]


def test_sonarr_rename_renames_what_is_there_and_copies_what_never_was(
    stack: Stack, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    payload = fixture("sonarr", "rename")
    (first, second) = payload["renamedEpisodeFiles"]
    for renamed in (first, second):
        media.put(renamed["path"], renamed["path"].encode())
    present = media.put_dest(first["previousPath"], first["path"].encode())
    inode = present.stat().st_ino
    bridge = stack()
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, "sonarr", payload)
        done = watcher.wait_for("/sync/succeeded")[0].json()
    assert done["action"] == "rename"
    assert media.dest_of(first["path"]).stat().st_ino == inode
    assert not present.exists()
    copied = media.dest_of(second["path"])
    assert copied.read_bytes() == second["path"].encode()
    assert done["bytes"] == copied.stat().st_size  # only the missing one was copied
    assert not media.dest_of(second["previousPath"]).exists()


def test_rename_onto_a_name_that_is_taken_leaves_both_and_says_so(
    stack: Stack, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    payload = fixture("radarr", "rename")
    renamed = payload["renamedMovieFiles"][0]
    media.put(renamed["path"], b"film")
    old = media.put_dest(renamed["previousPath"], b"film")
    taken = media.put_dest(renamed["path"], b"something else")
    bridge = stack()
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, "radarr", payload)
        failed = watcher.wait_for("/sync/failed")[0].json()
    assert "left both names" in failed["error"]
    assert (old.read_bytes(), taken.read_bytes()) == (b"film", b"something else")


def test_rename_with_on_rename_keep_does_nothing(
    stack: Stack, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    payload = fixture("radarr", "rename")
    renamed = payload["renamedMovieFiles"][0]
    media.put(renamed["path"], b"film")
    old = media.put_dest(renamed["previousPath"], b"film")
    bridge = stack({"on_rename": "keep"})
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, "radarr", payload)
        http("POST", f"{bridge.url}/test")  # handled after the rename
        watcher.wait_for("/sync/test")
        assert [m.topic.rsplit("/", 1)[1] for m in watcher.messages] == ["test"]
    assert old.read_bytes() == b"film"
    assert not media.dest_of(renamed["path"]).exists()


def test_dry_run_rename_and_upgrade_report_and_change_nothing(
    stack: Stack, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    rename = fixture("radarr", "rename")
    renamed = rename["renamedMovieFiles"][0]
    media.put(renamed["path"], b"film")
    old = media.put_dest(renamed["previousPath"], b"film")
    payload, new, replaced = upgrade("sonarr")
    media.put(new, b"bluray")
    replaced_copy = media.put_dest(replaced, b"hdtv")
    bridge = stack(dry_run=True)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, "radarr", rename)
        post(bridge, "sonarr", payload)
        done = {m.json()["action"]: m.json() for m in watcher.wait_for("/sync/succeeded", 2)}
    assert done["rename"]["dry_run"] and done["replace"]["dry_run"]
    assert done["rename"]["moved"][0]["to_path"] == str(media.dest_of(renamed["path"]))
    assert done["replace"]["moved"][0]["to_path"] == str(media.recycled(replaced))
    assert any(name.endswith(Path(new).name) for name in done["replace"]["would_copy"])
    assert old.read_bytes() == b"film" and replaced_copy.read_bytes() == b"hdtv"
    assert not media.dest_of(renamed["path"]).exists() and not media.dest_of(new).exists()
    assert not media.recycled(replaced).exists()


def test_a_rename_half_done_by_a_crash_is_finished_with_one_name(
    stack: Stack, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    payload = fixture("radarr", "rename")
    renamed = payload["renamedMovieFiles"][0]
    media.put(renamed["path"], b"film")
    old = media.put_dest(renamed["previousPath"], b"film")
    new = media.dest_of(renamed["path"])
    os.link(old, new)  # the state a crash between link(2) and unlink(2) leaves
    bridge = stack()
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, "radarr", payload)
        done = watcher.wait_for("/sync/succeeded")[0].json()
    assert done["action"] == "rename"
    assert not old.exists()
    assert new.read_bytes() == b"film" and new.stat().st_nlink == 1


def test_a_replace_job_for_an_out_of_date_copy_puts_the_source_in_its_place(
    make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
    base_topic: str, start_syncer: Callable[[Settings], SyncerService],
) -> None:
    from syncer.changes import replace_job

    movie = "/movies/Stale (2020)/Stale.mkv"
    media.put(movie, b"the arr's file")
    media.put_dest(movie, b"out of date")
    syncer = start_syncer(syncer_settings(make_settings, broker, media, base_topic))
    job = replace_job(syncer.mapper.route(movie), trigger="audit-1", app="audit",
                      title="Stale (2020)", max_attempts=3, now=time.time())
    assert job is not None
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        syncer.store.add(None, [job], time.time())
        syncer.engine.wake()
        done = watcher.wait_for("/sync/succeeded")[0].json()
    assert (done["action"], done["trigger"]) == ("replace", "audit-1")
    assert media.dest_of(movie).read_bytes() == b"the arr's file"
    assert media.recycled(movie).read_bytes() == b"out of date"
