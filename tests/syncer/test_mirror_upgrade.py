"""Upgrades, with the arrs' real payloads through the real bridge, broker and rsync: the new
file is copied, a replaced copy goes to the recycle bin (or stays, with on_upgrade: keep), and
a same-name upgrade never leaves the name without a file."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from arrsync.settings import Settings
from syncer.service import SyncerService
from tests.helpers import MqttWatcher
from tests.media import MediaTree, fixture, syncer_settings
from tests.syncer.mirror_stack import Stack, post, upgrade
from tests.syncer.mirror_stack import stack as stack  # fixture
from tools.localbroker import LocalBroker


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


def test_a_replace_job_for_an_out_of_date_copy_puts_the_source_in_its_place(
    make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
    base_topic: str, start_syncer: Callable[[Settings], SyncerService],
) -> None:
    from syncer.intake.changes import replace_job

    movie = "/movies/Stale (2020)/Stale.mkv"
    media.put(movie, b"the arr's file")
    media.put_dest(movie, b"out of date")
    syncer = start_syncer(syncer_settings(make_settings, broker, media, base_topic))
    job = replace_job(syncer.mapper.route(movie), trigger="audit-1", app="audit",
                      title="Stale (2020)", max_attempts=3, now=time.time())
    assert job is not None
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        syncer.store.add(None, [job], time.time())
        syncer.engine.submit(syncer.store.active())  # stored by someone else
        done = watcher.wait_for("/sync/succeeded")[0].json()
    assert (done["action"], done["trigger"]) == ("replace", "audit-1")
    assert media.dest_of(movie).read_bytes() == b"the arr's file"
    assert media.recycled(movie).read_bytes() == b"out of date"
