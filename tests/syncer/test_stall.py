"""The stall watchdog: a copy frozen mid-file (SIGSTOP, the crude stand-in for a read
blocked on a dead hard mount) is noticed within `stall_timeout`, its rsync ended, the
attempt counted and an alert published, and the next import is copied meanwhile; the
frozen job resumes later. Real broker, real rsync, real files."""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from arrsync.settings import Settings
from syncer.copying import watchdog
from syncer.service import SyncerService
from tests.helpers import MqttWatcher, publish_import, wait_until
from tests.media import MediaTree, syncer_settings
from tools.localbroker import LocalBroker


def rsyncs_of(root: Path) -> list[int]:
    """The rsync processes whose command line names `root` (this test's own folders)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            words = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(word.endswith(b"rsync") for word in words) and \
                any(str(root).encode() in word for word in words):
            found.append(int(entry.name))
    return found


def test_a_frozen_copy_is_ended_and_the_next_import_copied(
    make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
    base_topic: str, start_syncer: Callable[[Settings], SyncerService],
) -> None:
    start_syncer(syncer_settings(make_settings, broker, media, base_topic, workers=1,
                                 stall_timeout=2, rsync_extra_args=["--bwlimit=2m"]))
    frozen, next_one = "/movies/Frozen (2013)/Frozen.mkv", "/movies/Next (2020)/Next.mkv"
    media.put(frozen, size=8 * 1024 * 1024)  # four seconds at --bwlimit=2m
    media.put(next_one, b"next")
    source_root = Path(media.mapping("Movies 1080p")["source"])
    stopped: list[int] = []
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+", f"{base_topic}/syncer/alert"]) \
            as watcher:
        publish_import(broker.port, base_topic, "frozen", [frozen])
        watcher.wait_for("/sync/progress")  # the copy is under way
        stopped = wait_until(lambda: rsyncs_of(source_root), message="the running rsync")
        for pid in stopped:
            os.kill(pid, signal.SIGSTOP)
        publish_import(broker.port, base_topic, "next", [next_one])
        retrying = watcher.wait_for("/sync/retrying", timeout=30)[0].json()
        alert = watcher.wait_for("/syncer/alert", timeout=30)[0].json()
        done = watcher.wait_for("/sync/succeeded", timeout=30)[0].json()
        assert done["trigger"] == "next"
        resumed = watcher.wait_for("/sync/succeeded", count=2, timeout=60)[1].json()
    assert retrying["trigger"] == "frozen" and retrying["attempt"] == 1
    assert "made no progress for 2 s" in retrying["error"]
    assert alert["problem"] == "stall" and alert["active"]
    assert resumed["trigger"] == "frozen" and resumed["attempt"] == 2
    assert media.dest_of(frozen).read_bytes() == media.source_of(frozen).read_bytes()
    assert all(not Path(f"/proc/{pid}").exists() or
               "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
               for pid in stopped)  # ended, not left stopped


# The first rsync hangs with its output pipe held by a process outside its group, as a read
# stuck on a dead mount keeps a process that SIGKILL cannot end; later ones are real rsyncs.
UNKILLABLE = """
import os, subprocess, sys, time
marker = os.environ["ARRSYNC_TEST_HANG_MARKER"]
if os.path.exists(marker):
    real = os.environ["ARRSYNC_TEST_REAL_RSYNC"]
    os.execv(real, [real, *sys.argv[1:]])
open(marker, "w").close()
subprocess.Popen(["sleep", "120"], start_new_session=True)  # holds stdout and stderr
time.sleep(120)
"""


def test_a_copy_that_cannot_be_ended_is_left_behind_and_holds_no_worker(
    make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
    base_topic: str, start_syncer: Callable[[Settings], SyncerService], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(watchdog, "ABANDON_AFTER_S", 1.0)
    monkeypatch.setenv("ARRSYNC_TEST_HANG_MARKER", str(tmp_path / "hung-once"))
    wrapper = tmp_path / "rsync-hangs-once"
    wrapper.write_text(f"#!{sys.executable}\n{UNKILLABLE}")
    wrapper.chmod(0o755)
    monkeypatch.setenv("ARRSYNC_TEST_REAL_RSYNC", shutil.which("rsync") or "rsync")
    start_syncer(syncer_settings(make_settings, broker, media, base_topic, workers=1,
                                 stall_timeout=1, standby=False,
                                 rsync_path=str(wrapper), rsync_extra_args=[]))
    movie = "/movies/Stuck (2020)/Stuck.mkv"
    media.put(movie, b"stuck")
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+", f"{base_topic}/syncer/alert"]) \
            as watcher:
        publish_import(broker.port, base_topic, "stuck", [movie])
        alert = watcher.wait_for("/syncer/alert", timeout=30)[0].json()
        done = watcher.wait_for("/sync/succeeded", timeout=30)[0].json()
    assert "could not be ended" in alert["message"] and "left behind" in alert["message"]
    assert done["attempt"] == 2  # the worker went on: the second attempt copied it
    assert media.dest_of(movie).read_bytes() == b"stuck"
