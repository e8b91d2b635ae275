"""The syncer's faults never lose an accepted import: a job store that cannot be written, a
damaged store file, a destination that fills up. Real broker, real rsync, real full disks
(tmpfs mounts: root only, as CI runs)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from arrsync.settings import Settings
from syncer.copying.rsync import PARTIAL_DIR
from syncer.jobs.store import JobStore
from syncer.service import SyncerService
from tests.helpers import MqttWatcher, mosquitto_pub, publish_import, wait_until
from tests.media import MediaTree, syncer_settings
from tests.processes import Process
from tools.localbroker import LocalBroker

Start = Callable[[Settings], SyncerService]


@contextlib.contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "arrsync-test", str(folder)],
                   check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(folder: Path) -> Path:
    """Write a file until the file system is full; returns it."""
    filler = folder / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)  # unbuffered: nothing
    try:                                                             # left to flush at close
        while True:
            os.write(descriptor, b"\0" * 65536)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(descriptor)
    return filler


def used(folder: Path) -> int:
    stats = os.statvfs(folder)
    return (stats.f_blocks - stats.f_bfree) * stats.f_frsize


def fill_during_the_copy(watcher: MqttWatcher, dest: Path) -> tuple[Path, dict[str, Any]]:
    """Once a copy is under way, someone else fills the disk: the filler, and the job's
    'retrying' status that says it is held."""
    wait_until(lambda: used(dest) > 2 * 1024 * 1024, message="copy under way")
    filler = fill(dest)
    held: dict[str, Any] = watcher.wait_for("/retrying", timeout=20,
                                            where=lambda m: m.json()["held"])[0].json()
    return filler, held


def partial_dirs(root: Path) -> list[Path]:
    return list(root.rglob(PARTIAL_DIR))


def test_a_store_that_cannot_be_written_pauses_intake_and_loses_nothing(
    tmp_path: Path, make_settings: Callable[..., Settings], broker: LocalBroker,
    media: MediaTree, base_topic: str, start_syncer: Start,
) -> None:
    with tmpfs(tmp_path / "store", "2m") as store:
        settings = syncer_settings(make_settings, broker, media, base_topic,
                                   state_path=str(store / "syncer.db"))
        movie = "/movies/Full Disk (2020)/Full Disk.mkv"
        media.put(movie, b"kept")
        with MqttWatcher(broker.port, [f"{base_topic}/#"]) as watcher:
            syncer = start_syncer(settings)
            filler = fill(store)
            publish_import(broker.port, base_topic, "full", [movie])
            alert = watcher.wait_for("/syncer/alert")[0].json()
            state = watcher.wait_for("/syncer/state",
                                     where=lambda m: m.json()["status"] == "failing")[0].json()
            assert not watcher.on("/sync/queued")
            syncer.stop()  # with the message still unacknowledged
            filler.unlink()
            start_syncer(settings)  # the broker delivers it again
            done = watcher.wait_for("/sync/succeeded", timeout=20)[0].json()
    assert (alert["component"], alert["problem"], alert["active"]) == ("syncer", "store", True)
    assert str(store / "syncer.db") in alert["message"]
    assert "free space" in alert["message"]
    assert state["problem"] == alert["message"]
    assert done["trigger"] == "full"
    assert media.dest_of(movie).read_bytes() == b"kept"


def test_intake_resumes_by_itself_when_the_store_works_again(
    tmp_path: Path, make_settings: Callable[..., Settings], broker: LocalBroker,
    media: MediaTree, base_topic: str, start_syncer: Start,
) -> None:
    with tmpfs(tmp_path / "store", "2m") as store:
        settings = syncer_settings(make_settings, broker, media, base_topic,
                                   state_path=str(store / "syncer.db"))
        movies = [f"/movies/Wait {n}/Wait {n}.mkv" for n in range(3)]
        for movie in movies:
            media.put(movie)
        with MqttWatcher(broker.port, [f"{base_topic}/#"]) as watcher:
            start_syncer(settings)
            filler = fill(store)
            for n, movie in enumerate(movies):
                publish_import(broker.port, base_topic, f"wait-{n}", [movie])
            watcher.wait_for("/syncer/alert")
            filler.unlink()
            watcher.wait_for("/sync/succeeded", count=3, timeout=20)
            over = watcher.wait_for("/syncer/alert", count=2)[1].json()
            state = watcher.on("/syncer/state")[-1].json()
    assert (over["problem"], over["active"]) == ("store", False)
    assert (state["status"], state["problem"]) == ("ok", None)
    assert all(media.dest_of(m).exists() for m in movies)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_store_stops_the_syncer_with_the_path_and_the_way_out(
    damage: str, tmp_path: Path, broker: LocalBroker, write_config: Callable[..., Path],
    run_command: Callable[..., Process],
) -> None:
    store = tmp_path / "data" / "syncer.db"
    config = write_config(broker)
    JobStore(store).close()
    if damage == "garbage":
        store.write_bytes(b"\x00garbage" * 4096)
    else:
        with sqlite3.connect(store) as db:
            db.executemany("INSERT INTO events (id, at) VALUES (?, 0)",
                           [("x" * 500 + str(n),) for n in range(500)])
        with store.open("r+b") as file:
            file.truncate(store.stat().st_size // 2)
    for args in ((), ("jobs",), ("retry", "--held")):
        process = run_command("arrsync-syncer", config, *args)
        assert process.wait(30) == 1
        output = process.output()
        assert "Traceback" not in output
        assert f"the job store {store} is damaged" in output
        assert f"mv '{store}' '{store}.damaged'" in output
        assert "arrsync-syncer trigger PATH" in output


def test_two_copies_that_would_overflow_the_destination_take_turns(
    tmp_path: Path, make_settings: Callable[..., Settings], broker: LocalBroker,
    media: MediaTree, base_topic: str, start_syncer: Start,
) -> None:
    dest = Path(media.mapping("Movies 1080p")["dest"])
    with tmpfs(dest, "30m"):
        start_syncer(syncer_settings(make_settings, broker, media, base_topic, workers=2))
        movies = ["/movies/Big One/Big One.mkv", "/movies/Big Two/Big Two.mkv"]
        for movie in movies:
            media.put(movie, size=20 * 1024 * 1024)
        with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
            for n, movie in enumerate(movies):
                publish_import(broker.port, base_topic, f"big-{n}", [movie])
            done = watcher.wait_for("/succeeded", timeout=30)[0].json()
            held = watcher.wait_for("/retrying", where=lambda m: m.json()["held"])[0].json()
        landed = [m for m in movies if media.dest_of(m).exists()]
        assert len(landed) == 1 and done["trigger"] == f"big-{movies.index(landed[0])}"
        assert "not enough free space" in held["error"]
        assert partial_dirs(dest) == []


def test_a_destination_filled_during_the_copy_keeps_no_partial_file_and_resumes(
    tmp_path: Path, make_settings: Callable[..., Settings], broker: LocalBroker,
    media: MediaTree, base_topic: str, start_syncer: Start,
) -> None:
    dest = Path(media.mapping("Movies 1080p")["dest"])
    with tmpfs(dest, "30m"):
        start_syncer(syncer_settings(make_settings, broker, media, base_topic,
                                     rsync_extra_args=["--bwlimit=4m"]))
        movie = "/movies/Growing (2022)/Growing.mkv"
        media.put(movie, size=20 * 1024 * 1024)
        with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
            publish_import(broker.port, base_topic, "grow", [movie])
            filler, held = fill_during_the_copy(watcher, dest)
            assert "filled up during the copy" in held["error"]
            assert "No space left on device" in held["error"]
            assert partial_dirs(dest) == []
            filler.unlink()
            watcher.wait_for("/succeeded", timeout=30)
        assert media.dest_of(movie).read_bytes() == media.source_of(movie).read_bytes()
        wait_until(lambda: partial_dirs(dest) == [], message="no partial folder")


def test_a_replace_that_fills_the_destination_keeps_no_partial_file_and_resumes(
    tmp_path: Path, make_settings: Callable[..., Settings], broker: LocalBroker,
    media: MediaTree, base_topic: str, start_syncer: Start,
) -> None:
    """The mirror's copies (a replace stages its copy in the recycle bin) are judged by the
    same classifier as coalesced copies: their partial files go too."""
    dest = Path(media.mapping("Movies 1080p")["dest"])
    with tmpfs(dest, "30m"):
        start_syncer(syncer_settings(make_settings, broker, media, base_topic,
                                     rsync_extra_args=["--bwlimit=4m"]))
        movie = "/movies/Upgraded (2022)/Upgraded.mkv"
        media.put(movie, size=20 * 1024 * 1024)
        old = media.put_dest(movie, b"the old version")
        with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
            mosquitto_pub(broker.port, f"{base_topic}/sync/request",
                          json.dumps({"replace": movie, "id": "upgrade"}))
            filler, held = fill_during_the_copy(watcher, dest)
            assert held["action"] == "replace"
            assert "filled up during the copy" in held["error"]
            assert "removed this attempt's partial files (" in held["error"]
            assert partial_dirs(dest) == []  # the staging folder's included
            assert old.read_bytes() == b"the old version"
            filler.unlink()
            done = watcher.wait_for("/succeeded", timeout=30)[0].json()
        assert done["trigger"] == "upgrade"
        assert media.dest_of(movie).read_bytes() == media.source_of(movie).read_bytes()
        assert media.recycled(movie).read_bytes() == b"the old version"
