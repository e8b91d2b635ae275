"""rsync started ahead of its list, with the real rsync: it copies what a fresh one would
(source and destination are looked up when the list arrives), a dead one is replaced, and
none is left behind when the syncer stops."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

from arrsync.settings import Settings
from syncer.copying.rsync import build_command
from syncer.copying.standby import Standbys, standby_allowed
from syncer.service import SyncerService
from tests.helpers import MqttWatcher, publish_import, wait_until
from tests.media import MediaTree, syncer_settings
from tools.localbroker import LocalBroker


def command(tmp_path: Path) -> list[str]:
    return build_command("rsync", str(tmp_path / "src"), str(tmp_path / "dst"), dry_run=False,
                         extra_args=[])


def rsync_children() -> set[int]:
    """Our rsync child processes (setpriv, for the moment before it becomes rsync)."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name, rest = (entry / "stat").read_text().rsplit(")", 1)
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(rest.split()[1]) == os.getpid() and name.split("(", 1)[1] in ("rsync",
                                                                             "setpriv"):
            found.add(int(entry.name))
    return found


def test_a_standby_looks_up_source_and_destination_only_when_it_gets_its_list(
    tmp_path: Path,
) -> None:
    (tmp_path / "src" / "Film").mkdir(parents=True)
    (tmp_path / "dst").mkdir()
    standbys = Standbys([command(tmp_path)], enabled=True)
    standbys.prepare_all()
    run = standbys.take(command(tmp_path))
    standbys.close()
    assert run.waiting()
    # Both roots change after the standby started: a share remounted, a folder replaced.
    (tmp_path / "dst").rename(tmp_path / "dst-before")
    (tmp_path / "dst").mkdir()
    (tmp_path / "src").rename(tmp_path / "src-before")
    (tmp_path / "src" / "Film").mkdir(parents=True)
    (tmp_path / "src" / "Film" / "film.mkv").write_bytes(b"the source as it is now")
    assert run.begin(["Film/film.mkv"])
    assert run.finish(lambda _p: None).exit_code == 0
    assert (tmp_path / "dst" / "Film" / "film.mkv").read_bytes() == b"the source as it is now"
    assert list((tmp_path / "dst-before").iterdir()) == []


def test_a_standby_that_died_is_replaced_and_unused_ones_end_cleanly(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "dst").mkdir()
    (tmp_path / "src" / "a.mkv").write_bytes(b"a")
    before = rsync_children()
    standbys = Standbys([command(tmp_path)], enabled=True)
    try:
        standbys.prepare_all()
        run = standbys.take(command(tmp_path))
        (pid,) = wait_until(lambda: rsync_children() - before, message="the standby")
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not run.waiting(), message="the standby gone")
        assert run.begin(["a.mkv"])  # a fresh rsync took its place
        assert run.finish(lambda _p: None).exit_code == 0
        assert (tmp_path / "dst" / "a.mkv").read_bytes() == b"a"
        standbys.prepare_all()
        assert len(rsync_children() - before) == 1
    finally:
        standbys.close()
    assert rsync_children() - before == set()
    standbys.prepare_all()  # closed: none again
    assert rsync_children() - before == set()


def test_no_standby_with_an_rsync_timeout() -> None:
    assert standby_allowed(["--bwlimit=50m"])
    assert not standby_allowed(["--timeout=60"])
    assert not standby_allowed(["--contimeout", "10"])


def test_the_syncer_keeps_a_standby_and_leaves_none_behind(
    make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
    base_topic: str, start_syncer: Callable[[Settings], SyncerService],
) -> None:
    before = rsync_children()
    mappings = [media.mapping("Movies 1080p")]
    service = start_syncer(syncer_settings(make_settings, broker, media, base_topic,
                                           mappings=mappings))
    wait_until(lambda: len(rsync_children() - before) == 1, message="a standby rsync")
    media.put("/movies/Ready (2020)/Ready.mkv", b"ready")
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        publish_import(broker.port, base_topic, "ready", ["/movies/Ready (2020)/Ready.mkv"])
        watcher.wait_for("/succeeded")
    assert media.dest_of("/movies/Ready (2020)/Ready.mkv").read_bytes() == b"ready"
    wait_until(lambda: len(rsync_children() - before) == 1, message="the next standby")
    service.stop()
    assert rsync_children() - before == set()
