"""The syncer's statistics topic: recent jobs, periods, counters, progress, throttling.

End to end with the real broker and rsync; the period arithmetic and the counters on a
real job store with chosen times."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from arrsync.mqtt import MqttConnection
from arrsync.settings import MqttSettings, Settings
from arrsync.wire.job import JobAction, JobState, JobStatus
from arrsync.wire.statistics import SyncerStats, parse_stats
from syncer.jobs.job import Job
from syncer.jobs.store import JobStore
from syncer.report.history import DaySum, History, bucket_of, periods
from syncer.report.stats import StatsPublisher
from syncer.service import SyncerService
from tests.helpers import MqttWatcher, mosquitto_pub, publish_import
from tests.media import MediaTree, syncer_settings
from tools.localbroker import LocalBroker

Start = Callable[[Settings], SyncerService]


def stats_where(watcher: MqttWatcher, check: Callable[[SyncerStats], bool],
                timeout: float = 15) -> SyncerStats:
    found = watcher.wait_for("/syncer/stats", timeout=timeout,
                             where=lambda m: bool(m.payload) and check(parse_stats(m.payload)))
    return parse_stats(found[-1].payload)


def test_stats_carry_recent_jobs_periods_and_totals(
    make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
    base_topic: str, start_syncer: Start,
) -> None:
    sizes = {"/movies/Dune (2021)/Dune (2021).mkv": 30_000, "/tv/Chernobyl/S01E01.mkv": 12_345}
    for path, size in sizes.items():
        media.put(path, size=size)
    start_syncer(syncer_settings(make_settings, broker, media, base_topic))
    with MqttWatcher(broker.port, [f"{base_topic}/syncer/stats"]) as watcher:
        publish_import(broker.port, base_topic, "e1", ["/movies/Dune (2021)/Dune (2021).mkv"],
                       title="Dune (2021)")
        publish_import(broker.port, base_topic, "e2", ["/tv/Chernobyl/S01E01.mkv"],
                       title="Chernobyl S01E01")
        # A request that cannot run is an answer, not a job: it never reaches the statistics;
        # an import under no mapping is refused as a failed job.
        mosquitto_pub(broker.port, f"{base_topic}/sync/request", "/srv/nowhere/request.mkv")
        publish_import(broker.port, base_topic, "e3", ["/srv/nowhere/film.mkv"],
                       title="Nowhere (2020)")
        stats = stats_where(watcher, lambda s: s.today.count == 2 and len(s.recent) == 3)

    assert stats.today.bytes == stats.week.bytes == sum(sizes.values())
    assert stats.today.bytes_per_s and stats.today.bytes_per_s > 0
    by_name = {m.name: m for m in stats.mappings}
    assert list(by_name) == [m["name"] for m in media.mappings]  # every mapping, in order
    assert (by_name["Movies 1080p"].today.count, by_name["Movies 1080p"].today.bytes) == \
        (1, 30_000)
    assert (by_name["TV 1080p"].week.count, by_name["Movies 4K"].week.count) == (1, 0)
    assert len(stats.days) == 30
    assert stats.days[-1].date == date.today().isoformat()
    assert (stats.days[-1].count, stats.days[-1].bytes) == (2, sum(sizes.values()))
    assert all(day.count == 0 for day in stats.days[:-1])

    states = {entry.title: entry for entry in stats.recent}
    assert states["Dune (2021)"].state is JobState.SUCCEEDED
    assert "/srv/nowhere/request.mkv" not in states
    refused = states["Nowhere (2020)"]
    assert refused.state is JobState.FAILED and "under no mapping" in (refused.error or "")
    assert stats.recent[0].at >= stats.recent[-1].at  # newest first

    movies = stats.totals["Movies 1080p"]
    assert (movies.succeeded, movies.failed, movies.bytes) == (1, 0, 30_000)
    assert movies.duration.count == 1 and movies.duration.buckets["+Inf"] == 1
    assert movies.last_success_at is not None
    assert stats.totals[""].failed == 1  # refused: no mapping
    assert stats.current is None and stats.running == []

    # Retained: a reader that comes later (a restarted bridge) gets it at once.
    with MqttWatcher(broker.port, [f"{base_topic}/syncer/stats"]) as late:
        first = late.wait_for("/syncer/stats")[0]
    assert first.retain and parse_stats(first.payload).today.count == 2


def test_a_running_transfer_shows_its_progress(
    make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
    base_topic: str, start_syncer: Start,
) -> None:
    media.put("/movies/Big/Big.mkv", size=3_000_000)
    settings = syncer_settings(make_settings, broker, media, base_topic,
                               rsync_extra_args=["--bwlimit=600"])  # KiB/s: about 5 s
    start_syncer(settings)
    with MqttWatcher(broker.port, [f"{base_topic}/syncer/stats"]) as watcher:
        mosquitto_pub(broker.port, f"{base_topic}/sync/request", "/movies/Big")
        running = stats_where(watcher, lambda s: bool(s.current and s.current.bytes_per_s))
        assert running.current is not None
        assert [e.job for e in running.running] == [running.current.job]
        assert running.current.state is JobState.PROGRESS
        assert running.current.percent is not None and 0 <= running.current.percent <= 100
        assert running.recent[0].job == running.current.job  # the list shows it running too
        assert running.recent[0].percent is not None
        done = stats_where(watcher, lambda s: s.today.count == 1)
    assert done.current is None and done.running == []
    assert done.recent[0].state is JobState.SUCCEEDED


def test_counters_outlive_pruned_jobs_and_restarts(
    make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
    base_topic: str, start_syncer: Start,
) -> None:
    media.put("/movies/A/A.mkv", size=1000)
    settings = syncer_settings(make_settings, broker, media, base_topic)
    syncer = start_syncer(settings)
    with MqttWatcher(broker.port, [f"{base_topic}/syncer/stats"]) as watcher:
        mosquitto_pub(broker.port, f"{base_topic}/sync/request", "/movies/A")
        stats_where(watcher, lambda s: s.today.count == 1)
    syncer.stop()
    store = JobStore(settings.syncer.state_path)
    assert store.prune(float("inf")) == 1  # as if keep_finished_days had passed
    store.close()

    start_syncer(settings)
    with MqttWatcher(broker.port, [f"{base_topic}/syncer/stats"]) as watcher:
        stats = stats_where(watcher, lambda s: s.recent == [])
    assert stats.today.count == 0  # the history is gone with the jobs...
    movies = stats.totals["Movies 1080p"]
    assert (movies.succeeded, movies.bytes) == (1, 1000)  # ...the counters are not


def status(job: str, state: JobState, mapping: str | None = "Movies", size: int = 100,
           duration: float | None = 2.0, **extra: object) -> JobStatus:
    return JobStatus(job=job, state=state, trigger=None, title=job, app="radarr",
                     mapping=mapping, source=None, dest=None, bytes=size, max_attempts=5,
                     duration_s=duration, at="2026-01-01T00:00:00.000Z", **extra)


@pytest.fixture
def history(tmp_path: Path) -> History:
    JobStore(tmp_path / "syncer.db").close()  # the store creates the jobs table
    return History(tmp_path / "syncer.db")


def test_counters_and_the_duration_histogram(history: History) -> None:
    history.count([
        status("a", JobState.SUCCEEDED, duration=0.5),
        status("b", JobState.SUCCEEDED, duration=50, size=7),
        status("c", JobState.SUCCEEDED, duration=99_999, size=1),
        status("d", JobState.SUCCEEDED, duration=3, size=1000, dry_run=True),  # copies nothing
        status("e", JobState.FAILED),
        status("f", JobState.SKIPPED),
        status("g", JobState.PROGRESS),  # not finished: not counted
        status("h", JobState.FAILED, mapping=None),
        status("i", JobState.SUCCEEDED, duration=0.2, size=0, action=JobAction.RENAME),
    ], now=1234.0)
    totals = history.totals()
    movies = totals["Movies"]
    assert (movies.succeeded, movies.failed, movies.skipped) == (5, 1, 1)
    assert movies.bytes == 108
    assert movies.duration.count == 3 and movies.duration.sum == pytest.approx(100_049.5)
    assert movies.duration.buckets["1"] == 1
    assert movies.duration.buckets["30"] == 1
    assert movies.duration.buckets["60"] == 2
    assert movies.duration.buckets["7200"] == 2
    assert movies.duration.buckets["+Inf"] == 3
    assert movies.last_success_at == 1234.0
    assert totals[""].failed == 1
    assert [bucket_of(d) for d in (0, 1, 1.01, 7200, 7201)] == ["1", "1", "5", "7200", "+Inf"]


def test_the_history_sums_the_copies_per_local_day(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "syncer.db")
    monday, sunday = local(date(2026, 11, 23), 0, 1), local(date(2026, 11, 22), 23, 59)

    def job(name: str, at: float, action: JobAction = JobAction.COPY,
            state: JobState = JobState.SUCCEEDED, mapping: str = "Movies") -> Job:
        return Job(id=name, trigger=None, app="radarr", instance=None, title=None,
                   download_id=None, mapping=mapping, paths=["x"], state=state, action=action,
                   bytes=10, duration_s=2.0, created_at=at, updated_at=at)

    store.add(None, [
        job("a", monday), job("b", monday + 3600, JobAction.REPLACE), job("c", sunday),
        job("d", monday, mapping="TV"),
        job("e", monday, JobAction.RENAME), job("f", monday, JobAction.RECYCLE),  # no copy
        job("g", monday, state=JobState.FAILED), job("h", sunday - 10 * 86400),   # too old
    ], monday)
    store.close()
    history = History(tmp_path / "syncer.db")
    found = sorted(history.daily(sunday - 86400), key=lambda d: (d.day, d.mapping))
    history.close()
    assert found == [DaySum("2026-11-22", "Movies", 1, 10, 2.0),
                     DaySum("2026-11-23", "Movies", 2, 20, 4.0),
                     DaySum("2026-11-23", "TV", 1, 10, 2.0)]


def local(day: date, hour: int, minute: int = 0) -> float:
    return datetime(day.year, day.month, day.day, hour, minute).timestamp()


def test_periods_follow_local_days_and_weeks() -> None:
    wednesday = date(2026, 11, 25)
    assert wednesday.weekday() == 2
    monday, sunday = wednesday - timedelta(days=2), wednesday - timedelta(days=3)

    def day(moment: date, mapping: str, count: int, size: int, seconds: float) -> DaySum:
        return DaySum(moment.isoformat(), mapping, count, size, seconds)

    daily = [
        day(wednesday, "Movies", 1, 100, 10.0),                       # today
        day(wednesday, "TV", 1, 50, 0.0),                             # no rsync time
        day(monday, "Movies", 1, 7, 1.0),                             # this week
        day(sunday, "Movies", 1, 1000, 1.0),                          # last week
        day(wednesday - timedelta(days=29), "Movies", 1, 9, 1.0),     # the oldest day shown
        day(wednesday - timedelta(days=30), "Movies", 1, 999, 1.0),   # too old
        day(wednesday + timedelta(days=1), "Movies", 1, 5, 1.0),      # a clock set ahead
        day(monday, "Old mapping", 2, 3, 1.0),                        # no longer configured
    ]
    found = periods(daily, local(wednesday, 12), ["Movies", "TV", "Books"])
    assert (found.today.count, found.today.bytes, found.today.bytes_per_s) == (2, 150, 15)
    assert (found.week.count, found.week.bytes) == (5, 160)
    by_name = {m.name: m for m in found.mappings}
    assert list(by_name) == ["Movies", "TV", "Books", "Old mapping"]
    assert (by_name["TV"].today.count, by_name["TV"].today.bytes_per_s) == (1, None)
    assert by_name["Books"].week.count == 0
    assert found.days[0].date == (wednesday - timedelta(days=29)).isoformat()
    assert found.days[-1].date == wednesday.isoformat() and len(found.days) == 30
    assert {d.date: d.bytes for d in found.days if d.bytes} == {
        wednesday.isoformat(): 150,
        monday.isoformat(): 10,
        sunday.isoformat(): 1000,
        (wednesday - timedelta(days=29)).isoformat(): 9,
    }


def test_a_burst_of_changes_is_published_once(
    broker: LocalBroker, base_topic: str, tmp_path: Path,
) -> None:
    """Throttled: with an interval longer than the test, every change after the first
    publish waits, and `stop()` publishes them all together in one message."""
    store = JobStore(tmp_path / "syncer.db")
    history = History(tmp_path / "syncer.db")
    mqtt = MqttConnection(MqttSettings(host="127.0.0.1", port=broker.port,
                                       base_topic=base_topic), "stats-test", announce=False)
    publisher = StatsPublisher(mqtt, store, history, ["Movies"], interval=3600)
    with MqttWatcher(broker.port, [f"{base_topic}/syncer/stats"]) as watcher:
        mqtt.start()
        publisher.start()
        watcher.wait_for("/syncer/stats")  # the first publish, at start
        for n in range(50):
            publisher.note(status(f"job{n}", JobState.SUCCEEDED))
        publisher.stop()
        # A marker from the same client after the thread ended: what it published is in.
        mqtt.publish(f"{base_topic}/syncer/stats", b"end")
        watcher.wait_for("/syncer/stats", where=lambda m: m.payload == b"end")
        published = [m for m in watcher.on("/syncer/stats") if m.payload != b"end"]
    mqtt.stop()
    store.close()  # the publisher closed the history when it stopped
    assert len(published) == 2
    assert parse_stats(published[-1].payload).totals["Movies"].succeeded == 50
