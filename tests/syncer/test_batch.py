"""Coalesced runs with the real rsync: jobs that wait together share one rsync, within the
bounds, and each job still ends on its own (one bad file fails only its job)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from arrsync.settings import Mapping, Settings
from arrsync.wire.job import JobState
from syncer.copying.batch import Member, member
from syncer.copying.files import FileCopy, FileSet
from syncer.copying.progress import ProgressSplit
from syncer.copying.rsync import Progress
from syncer.jobs.job import Job
from syncer.jobs.store import JobStore
from syncer.service import SyncerService
from tests.helpers import MqttWatcher, import_envelope, wait_until
from tests.media import MediaTree, syncer_settings
from tests.syncer.test_jobs import count_runs, rsync_counter
from tools.localbroker import LocalBroker

Start = Callable[[Settings], SyncerService]
MAPPING = "Movies 1080p"


@pytest.fixture
def settings(make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
             base_topic: str) -> Settings:
    return syncer_settings(make_settings, broker, media, base_topic)


def store_jobs(settings: Settings, media: MediaTree, arr_paths: list[str]) -> list[str]:
    """Jobs as the intake stores them, all due now, before the syncer starts; their ids."""
    root = media.mapping(MAPPING)["arr_path"]
    now = time.time()
    jobs = [Job(id=f"job{n:03d}", trigger=f"event-{n}", app="radarr", instance=None,
                title=path.rsplit("/", 1)[-1], download_id=None, mapping=MAPPING,
                paths=[path.removeprefix(root + "/")], max_attempts=settings.syncer.max_attempts,
                created_at=now + n / 1000, updated_at=now, next_attempt_at=now)
            for n, path in enumerate(arr_paths)]
    store = JobStore(settings.syncer.state_path)
    for job in jobs:
        assert store.add(job.trigger, [job], now)
    store.close()
    return [job.id for job in jobs]


@pytest.mark.parametrize(
    ("jobs", "size", "bounds", "runs"),
    [(40, 4096, {"workers": 3, "batch_max_files": 16}, 3),       # 16 + 16 + 8
     (6, 100_000, {"workers": 1, "batch_max_bytes": 250_000}, 3)],  # two jobs a run
    ids=["files", "bytes"],
)
def test_waiting_jobs_share_rsync_runs_within_the_bounds(
    jobs: int, size: int, bounds: dict[str, int], runs: int,
    make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
    base_topic: str, start_syncer: Start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    counter, log = rsync_counter(tmp_path, monkeypatch)
    settings = syncer_settings(make_settings, broker, media, base_topic,
                               rsync_path=str(counter), **bounds)
    paths = [f"/movies/Waiting {n:02d} (2000)/Waiting {n:02d}.mkv" for n in range(jobs)]
    for path in paths:
        media.put(path, size=size)
    ids = store_jobs(settings, media, paths)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        start_syncer(settings)
        done = watcher.wait_for("/succeeded", count=jobs, timeout=60)
        started = watcher.on("/started")
    made, peak = count_runs(log)
    assert made == runs
    assert 1 <= peak <= bounds["workers"]
    assert sorted(m.json()["job"] for m in done) == ids
    assert sorted(m.json()["job"] for m in started) == ids  # each job says it started
    assert all((m.json()["attempt"], m.json()["files"], m.json()["bytes"]) == (1, 1, size)
               for m in done)
    for path in paths:
        assert media.dest_of(path).read_bytes() == media.source_of(path).read_bytes()


def test_one_bad_file_fails_only_its_own_job(
    make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
    base_topic: str, start_syncer: Start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    counter, log = rsync_counter(tmp_path, monkeypatch)
    settings = syncer_settings(make_settings, broker, media, base_topic, max_attempts=1,
                               rsync_path=str(counter))
    paths = [f"/movies/Good {n} (2001)/Good {n}.mkv" for n in range(4)]
    bad = "/movies/Bad (2001)/Bad.mkv"
    for path in [*paths, bad]:
        media.put(path)
    media.dest_of(bad).parent.write_bytes(b"a file where the folder should be")
    ids = store_jobs(settings, media, [*paths[:2], bad, *paths[2:]])
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        start_syncer(settings)
        failed = watcher.wait_for("/failed")[0].json()
        done = watcher.wait_for("/succeeded", count=4)
    assert count_runs(log)[0] == 1
    assert failed["job"] == ids[2]
    assert "rsync exit 23" in failed["error"] and "Bad (2001)/Bad.mkv" in failed["error"]
    assert sorted(m.json()["job"] for m in done) == sorted(ids[:2] + ids[3:])
    assert all(m.json()["error"] is None for m in done)
    for path in paths:
        assert media.dest_of(path).read_bytes() == media.source_of(path).read_bytes()


def test_a_coalesced_dry_run_tells_each_job_its_own_files(
    make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
    base_topic: str, start_syncer: Start,
) -> None:
    settings = syncer_settings(make_settings, broker, media, base_topic, dry_run=True)
    paths = [f"/movies/Dry {n} (2002)/Dry {n}.mkv" for n in range(3)]
    for path in paths:
        media.put(path)
    ids = store_jobs(settings, media, paths)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        start_syncer(settings)
        done = {m.json()["job"]: m.json() for m in watcher.wait_for("/succeeded", count=3)}
    for job_id, path in zip(ids, paths, strict=True):
        relative = path.removeprefix("/movies/")
        assert done[job_id]["dry_run"] is True
        assert relative in done[job_id]["would_copy"]
        assert not any("Dry" in name and name.split("/")[0] != relative.split("/")[0]
                       for name in done[job_id]["would_copy"])
    assert not any(media.dest_of(path).parent.exists() for path in paths)


def progress_members(tmp_path: Path) -> list[Member]:
    mapping = Mapping(name="M", arr_path="/m", source=str(tmp_path / "s"),
                      dest=str(tmp_path / "d"))
    members = []
    for name, sizes in (("A", [600, 400]), ("B", [1000])):
        items = [FileCopy(f"{mapping.source}/{name}/{n}.mkv", f"{mapping.dest}/{name}/{n}.mkv",
                          size, existed=False) for n, size in enumerate(sizes)]
        job = Job(id=name, trigger=None, app=None, instance=None, title=name, download_id=None,
                  mapping=mapping.name, paths=[name], state=JobState.STARTED)
        members.append(member(job, FileSet([name], items), mapping))
    return members


def test_progress_of_a_coalesced_run_is_told_per_job(tmp_path: Path) -> None:
    reported: list[tuple[str, Progress]] = []
    ticks = iter(range(1, 100))
    split = ProgressSplit(progress_members(tmp_path), lambda job, p: reported.append((job.id, p)),
                          clock=lambda: float(next(ticks) * 10))
    split.name("A/")
    split.name("A/0.mkv")
    split.progress(Progress(bytes=300, percent=15, bytes_per_s=100, eta_s=17))
    split.progress(Progress(bytes=600, percent=30, bytes_per_s=100, eta_s=14))
    split.name("A/1.mkv")
    split.progress(Progress(bytes=800, percent=40, bytes_per_s=100, eta_s=12))
    split.progress(Progress(bytes=1000, percent=50, bytes_per_s=100, eta_s=10))
    split.name("B/0.mkv")
    split.progress(Progress(bytes=1250, percent=62, bytes_per_s=50, eta_s=15))
    assert [(job, p.bytes, p.percent, p.eta_s) for job, p in reported] == [
        ("A", 300, 30, 7),   # 300 of A's 1000 bytes
        ("A", 600, 60, 4),
        ("A", 800, 80, 2),   # its first file (600) and 200 of the second
        ("A", 1000, 100, 0),
        ("B", 250, 25, 15),  # B began at 1000 bytes into the run
    ]


def test_a_batch_the_store_cannot_take_waits_and_then_goes_through_once(
    settings: Settings, start_syncer: Start, broker: LocalBroker, media: MediaTree,
    base_topic: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = start_syncer(settings)
    real_add_many = service.store.add_many
    failed: list[str] = []

    def failing_once(*args: Any, **kwargs: Any) -> list[bool]:
        if not failed:
            failed.append("disk I/O error")
            raise sqlite3.OperationalError("disk I/O error")
        return real_add_many(*args, **kwargs)

    monkeypatch.setattr(service.store, "add_many", failing_once)
    paths = [f"/movies/Waits {n} (2003)/Waits {n}.mkv" for n in range(3)]
    for path in paths:
        media.put(path)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        for n, path in enumerate(paths):
            watcher.client.publish(f"{base_topic}/events/radarr/Download",
                                   import_envelope(f"waits-{n}", [path]), qos=1)
        wait_until(lambda: failed, message="the failed commit")
        assert not watcher.on("/queued")  # nothing is announced before it is stored
        watcher.wait_for("/succeeded", count=3, timeout=20)
        states = sorted((m.json()["trigger"], m.topic.rsplit("/", 1)[1])
                        for m in watcher.messages if not m.topic.endswith("/progress"))
    assert states == sorted((f"waits-{n}", state) for n in range(3)
                            for state in ("queued", "started", "succeeded"))
    assert sorted(job.trigger or "" for job in service.store.recent()) == [
        f"waits-{n}" for n in range(3)]
    for path in paths:
        assert media.dest_of(path).read_bytes() == media.source_of(path).read_bytes()


def test_jobs_past_a_runs_bounds_go_to_another_worker_at_once(
    make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
    base_topic: str, start_syncer: Start,
) -> None:
    """One worker takes both due jobs, but its run may hold only one (batch_max_bytes): the
    other starts on the second worker while the first copy still runs (about 2 s each)."""
    settings = syncer_settings(make_settings, broker, media, base_topic, workers=2,
                               batch_max_bytes=3_000_000, rsync_extra_args=["--bwlimit=1m"])
    paths = [f"/movies/Big {n} (2003)/Big {n}.mkv" for n in range(2)]
    for path in paths:
        media.put(path, size=2_000_000)
    ids = store_jobs(settings, media, paths)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        start_syncer(settings)
        watcher.wait_for("/succeeded", count=2, timeout=30)
    states = [(m.topic.rsplit("/", 1)[1], m.json()["job"]) for m in watcher.messages
              if m.topic.rsplit("/", 1)[1] in ("started", "succeeded")]
    assert {job for state, job in states[:2] if state == "started"} == set(ids), states
