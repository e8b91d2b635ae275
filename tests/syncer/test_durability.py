"""Crashes and outages with real processes (`arrsync-syncer --config …`), the real broker
and real rsync: nothing lost, nothing copied twice, nothing half-done in sight."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from syncer.copying.rsync import PARTIAL_DIR
from tests.helpers import MqttWatcher, publish_import, wait_until
from tests.media import FIXTURES, MediaTree
from tests.processes import Process
from tools.localbroker import LocalBroker

RunCommand = Callable[..., Process]
WriteConfig = Callable[..., Path]


def start_syncer(run_command: RunCommand, config: Path, watcher: MqttWatcher,
                 online_count: int = 1) -> Process:
    process = run_command("arrsync-syncer", config)
    watcher.wait_for("/syncer/availability", count=online_count, timeout=20,
                     where=lambda m: m.text == "online")
    return process


def test_imports_sent_while_the_syncer_is_down_are_synced_when_it_returns(
    own_broker: LocalBroker, write_config: WriteConfig, run_command: RunCommand,
    media: MediaTree, base_topic: str,
) -> None:
    config = write_config(own_broker, syncer={"mappings": media.mappings})
    paths = [f"/movies/Away {n} (2020)/Away {n}.mkv" for n in range(10)]
    for path in paths:
        media.put(path)
    with MqttWatcher(own_broker.port, [f"{base_topic}/#"]) as watcher:
        first = start_syncer(run_command, config, watcher)  # creates the durable session
        assert first.signal(signal.SIGTERM) == 0
        watcher.wait_for("/syncer/availability", where=lambda m: m.text == "offline")
        for n, path in enumerate(paths):
            publish_import(own_broker.port, base_topic, f"a{n}", [path])
        assert not any(media.dest_of(p).exists() for p in paths)
        start_syncer(run_command, config, watcher, online_count=2)
        done = watcher.wait_for("/sync/succeeded", count=10, timeout=30)
    assert sorted(m.json()["trigger"] for m in done) == sorted(f"a{n}" for n in range(10))
    for path in paths:
        assert media.dest_of(path).read_bytes() == media.source_of(path).read_bytes()


def test_sigkill_mid_transfer_resumes_and_succeeds_once(
    own_broker: LocalBroker, write_config: WriteConfig, run_command: RunCommand,
    media: MediaTree, base_topic: str,
) -> None:
    config = write_config(own_broker, syncer={"mappings": media.mappings,
                                              "rsync_extra_args": ["--bwlimit=15m"]})
    movie = "/movies/Remux (2024)/Remux (2024).mkv"
    source = media.put(movie, size=50 * 1024 * 1024)
    partial = media.dest_of(movie).parent / PARTIAL_DIR / source.name
    with MqttWatcher(own_broker.port, [f"{base_topic}/#"]) as watcher:
        victim = start_syncer(run_command, config, watcher)
        publish_import(own_broker.port, base_topic, "big", [movie])
        watcher.wait_for("/sync/progress", timeout=20,
                         where=lambda m: m.json()["percent"] >= 10)
        assert victim.signal(signal.SIGKILL) == -signal.SIGKILL
        # rsync is told by the kernel that its parent died, and keeps what it has.
        kept = wait_until(lambda: partial.exists() and partial.stat().st_size,
                          message="partial file kept")
        assert kept >= 5 * 1024 * 1024
        assert not media.dest_of(movie).exists()
        start_syncer(run_command, config, watcher, online_count=2)
        watcher.wait_for("/sync/succeeded", timeout=60)
        succeeded = watcher.on("/sync/succeeded")
    assert len(succeeded) == 1
    assert media.dest_of(movie).read_bytes() == source.read_bytes()
    assert not partial.exists()


def test_broker_restart_mid_burst_loses_nothing(
    own_broker: LocalBroker, write_config: WriteConfig, run_command: RunCommand,
    media: MediaTree, base_topic: str,
) -> None:
    config = write_config(own_broker, syncer={"mappings": media.mappings})
    paths = [f"/movies/Burst {n}/Burst {n}.mkv" for n in range(20)]
    for path in paths:
        media.put(path)
    watcher = MqttWatcher(own_broker.port, [f"{base_topic}/sync/succeeded",
                                            f"{base_topic}/syncer/availability"],
                          durable_id=f"{base_topic}-watcher")
    with watcher:
        start_syncer(run_command, config, watcher)
        for n, path in enumerate(paths[:10]):
            publish_import(own_broker.port, base_topic, f"b{n}", [path])
        own_broker.restart()
        for n, path in enumerate(paths[10:], start=10):
            publish_import(own_broker.port, base_topic, f"b{n}", [path])
        wait_until(lambda: all(media.dest_of(p).exists() for p in paths), timeout=30,
                   message="all 20 files at the destination")
    for path in paths:
        assert media.dest_of(path).read_bytes() == media.source_of(path).read_bytes()


def test_duplicate_deliveries_copy_once_and_succeed_once(
    broker: LocalBroker, write_config: WriteConfig, run_command: RunCommand,
    media: MediaTree, base_topic: str,
) -> None:
    config = write_config(broker, syncer={"mappings": media.mappings})
    complete = json.loads((FIXTURES / "sonarr" / "download-import-complete.json").read_text())
    files = [f["path"] for f in complete["episodeFiles"]]
    for path in files:
        media.put(path)
    with MqttWatcher(broker.port, [f"{base_topic}/#"]) as watcher:
        start_syncer(run_command, config, watcher)
        # The same event twice (a redelivery), then Sonarr's per-file imports of the release
        # followed by its import-complete event for the same files.
        publish_import(broker.port, base_topic, "dup", [files[0]], "first file")
        publish_import(broker.port, base_topic, "dup", [files[0]], "first file")
        for n, path in enumerate(files[1:]):
            publish_import(broker.port, base_topic, f"per-file-{n}", [path])
        watcher.wait_for("/sync/succeeded", count=len(files), timeout=20)
        publish_import(broker.port, base_topic, "complete", files, "Chernobyl S01")
        skipped = watcher.wait_for("/sync/skipped")[0].json()
    assert skipped["trigger"] == "complete"
    assert "already synced" in skipped["error"]
    assert len(watcher.on("/sync/succeeded")) == len(files)
    assert len(watcher.on("/sync/queued")) == len(files)  # "dup" queued once


def test_watcher_never_sees_a_partial_file_under_its_final_name(
    broker: LocalBroker, write_config: WriteConfig, run_command: RunCommand,
    media: MediaTree, base_topic: str,
) -> None:
    config = write_config(broker, syncer={"mappings": media.mappings,
                                          "rsync_extra_args": ["--bwlimit=20m"]})
    movie = "/movies/Watched (2021)/Watched.mkv"
    size = 20 * 1024 * 1024
    media.put(movie, size=size)
    final = media.dest_of(movie)
    seen: list[int] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(0.01):
            try:
                seen.append(final.stat().st_size)
            except FileNotFoundError:
                seen.append(-1)

    with MqttWatcher(broker.port, [f"{base_topic}/#"]) as watcher:
        start_syncer(run_command, config, watcher)
        poller = threading.Thread(target=poll)
        poller.start()
        publish_import(broker.port, base_topic, "w", [movie])
        watcher.wait_for("/sync/succeeded", timeout=30)
        stop.set()
        poller.join()
    assert seen.count(-1) > 50  # the copy took a while and was watched throughout
    assert set(seen) == {-1, size}


def test_sigterm_lets_the_copy_finish_and_says_offline(
    broker: LocalBroker, write_config: WriteConfig, run_command: RunCommand,
    media: MediaTree, base_topic: str,
) -> None:
    config = write_config(broker, syncer={"mappings": media.mappings, "shutdown_grace": 30,
                                          "rsync_extra_args": ["--bwlimit=10m"]})
    movie = "/movies/Graceful/Graceful.mkv"
    media.put(movie, size=8 * 1024 * 1024)
    with MqttWatcher(broker.port, [f"{base_topic}/#"]) as watcher:
        process = start_syncer(run_command, config, watcher)
        publish_import(broker.port, base_topic, "g", [movie])
        watcher.wait_for("/sync/started")
        assert process.signal(signal.SIGTERM) == 0
        watcher.wait_for("/sync/succeeded")
        watcher.wait_for("/syncer/availability", where=lambda m: m.text == "offline")
    assert media.dest_of(movie).stat().st_size == 8 * 1024 * 1024


def test_failed_jobs_are_listed_and_can_be_retried(
    broker: LocalBroker, write_config: WriteConfig, run_command: RunCommand,
    media: MediaTree, base_topic: str,
) -> None:
    config = write_config(broker, syncer={"mappings": media.mappings, "max_attempts": 1})
    movie = "/movies/Retry Me/Retry Me.mkv"
    with MqttWatcher(broker.port, [f"{base_topic}/#"]) as watcher:
        start_syncer(run_command, config, watcher)
        publish_import(broker.port, base_topic, "r", [movie])
        job = watcher.wait_for("/sync/failed")[0].json()["job"]
        listed = run_command("arrsync-syncer", config, "jobs", "--failed")
        assert listed.wait(30) == 0
        assert job in listed.output()
        media.put(movie, b"here now")
        retried = run_command("arrsync-syncer", config, "retry", job, "--timeout", "30")
        assert retried.wait(60) == 0
    assert "succeeded" in retried.output()
    assert media.dest_of(movie).read_bytes() == b"here now"


def test_sigterm_past_the_grace_period_stops_rsync_and_resumes_later(
    broker: LocalBroker, write_config: WriteConfig, run_command: RunCommand,
    media: MediaTree, base_topic: str,
) -> None:
    config = write_config(broker, syncer={"mappings": media.mappings, "shutdown_grace": 0.5,
                                          "rsync_extra_args": ["--bwlimit=5m"]})
    movie = "/movies/Long (2022)/Long.mkv"
    source = media.put(movie, size=12 * 1024 * 1024)
    partial = media.dest_of(movie).parent / PARTIAL_DIR / source.name
    with MqttWatcher(broker.port, [f"{base_topic}/#"]) as watcher:
        first = start_syncer(run_command, config, watcher)
        publish_import(broker.port, base_topic, "long", [movie])
        watcher.wait_for("/sync/progress", timeout=20)
        assert first.signal(signal.SIGTERM) == 0
        assert "interrupted by the stop" in first.output()
        assert partial.stat().st_size > 0  # rsync kept what it had
        assert not watcher.on("/sync/succeeded") and not watcher.on("/sync/failed")
        start_syncer(run_command, config, watcher, online_count=2)
        done = watcher.wait_for("/sync/succeeded", timeout=30)[0].json()
    assert done["attempt"] == 1  # the interrupted attempt was not counted
    assert media.dest_of(movie).read_bytes() == source.read_bytes()
