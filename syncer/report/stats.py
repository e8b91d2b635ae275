"""`<base>/syncer/stats`: recent jobs and statistics, retained, at most once a second.

`note()` is all the status reporter does, on whatever thread reports a state change: it
queues the status and returns. A thread of its own then counts the finished jobs, reads
the store and publishes, no more often than `interval` seconds, and once a minute anyway
so that "today" turns over at midnight. A transfer's progress is kept in memory only.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from arrsync.limits import clip
from arrsync.mqtt import MqttConnection
from arrsync.wire.job import JobState, JobStatus
from arrsync.wire.statistics import RECENT_JOBS, JobEntry, MappingTotals, SyncerStats
from arrsync.wire.timestamps import iso_utc, utc_now_iso
from syncer.jobs.job import Job
from syncer.jobs.store import JobStore
from syncer.report.history import History, Periods, history_start, periods

log = logging.getLogger(__name__)

REFRESH_S = 60.0
StoredFigures = tuple[list[Job], Periods, dict[str, MappingTotals]]
OFFLINE_CHECK_S = 1.0
MAX_ERROR_CHARS = 500
RUNNING = (JobState.STARTED, JobState.PROGRESS)


def entry_of_job(job: Job) -> JobEntry:
    return JobEntry(job=job.id, state=job.state, action=job.action, title=job.title,
                    app=job.app,
                    mapping=job.mapping or None, error=clip(job.error, MAX_ERROR_CHARS),
                    held=job.held,
                    bytes=job.bytes, files=job.files, attempt=job.attempt,
                    max_attempts=job.max_attempts, duration_s=job.duration_s,
                    at=iso_utc(job.updated_at))


class StatsPublisher:
    def __init__(self, mqtt: MqttConnection, store: JobStore, history: History,
                 mapping_names: list[str], clock: Callable[[], float] = time.time,
                 interval: float = 1.0) -> None:
        self._mqtt = mqtt
        self._store = store
        self._history = history
        self._mapping_names = mapping_names
        self._clock = clock
        self._interval = interval
        self._notes: queue.SimpleQueue[JobStatus] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._running: dict[str, JobEntry] = {}  # only the stats thread touches it
        self._stored: tuple[float, StoredFigures] | None = None  # when read; stats thread only
        self._thread = threading.Thread(target=self._loop, name="stats", daemon=True)

    def note(self, status: JobStatus) -> None:
        """A job changed state or made progress (any thread; never blocks)."""
        if status.state is not JobState.TEST:
            self._notes.put(status)
            self._wake.set()

    def start(self) -> None:
        self._wake.set()  # publish at once: the retained topic exists before any job
        self._thread.start()

    def stop(self) -> None:
        """Publish what is pending, end the thread, close the history."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=10)
        self._history.close()

    # -- the stats thread --------------------------------------------------------------------
    def _loop(self) -> None:
        last = float("-inf")  # monotonic time of the last publish
        held = False  # statistics wait for the broker: paho would pile them up in memory
        while True:
            self._wake.wait(OFFLINE_CHECK_S if held else REFRESH_S)
            if not self._stopping.is_set():
                # Throttle: gather what comes in until `interval` after the last publish.
                self._stopping.wait(max(0.0, last + self._interval - time.monotonic()))
            self._wake.clear()
            try:
                self._take(self._drain())
                held = not self._mqtt.connected.is_set() and not self._stopping.is_set()
                if not held:
                    self._publish()
                    last = time.monotonic()
            except Exception:
                log.exception("could not publish the statistics")
            if self._stopping.is_set():
                return

    def _drain(self) -> list[JobStatus]:
        notes = []
        while True:
            try:
                notes.append(self._notes.get_nowait())
            except queue.Empty:
                return notes

    def _take(self, notes: list[JobStatus]) -> None:
        """Count the finished jobs; keep the running ones' progress. A state change (not mere
        progress) makes the next publish read the store again."""
        self._history.count(notes, self._clock())
        if any(status.state is not JobState.PROGRESS for status in notes):
            self._stored = None
        for status in notes:
            if status.state in RUNNING:
                self._running[status.job] = JobEntry.from_status(status, MAX_ERROR_CHARS)
            else:
                self._running.pop(status.job, None)

    def _publish(self) -> None:
        body = self.snapshot(self._clock())
        self._mqtt.publish(self._mqtt.topics.syncer_stats, body.model_dump_json(), retain=True)

    def _from_store(self, now: float) -> StoredFigures:
        """The recent jobs, the periods and the totals, read again after a state change and
        every REFRESH_S (for the new day), not for each progress note of a running copy."""
        if self._stored is None or not 0 <= now - self._stored[0] < REFRESH_S:
            daily = self._history.daily(history_start(now))
            self._stored = now, (self._store.recent(RECENT_JOBS),
                                 periods(daily, now, self._mapping_names),
                                 self._history.totals())
        return self._stored[1]

    def snapshot(self, now: float) -> SyncerStats:
        running = sorted(self._running.values(), key=lambda e: e.at)
        stored_jobs, found, totals = self._from_store(now)
        recent = [self._running.get(job.id) or entry_of_job(job) for job in stored_jobs]
        with_progress = [entry for entry in running if entry.percent is not None]
        return SyncerStats(
            at=utc_now_iso(),
            current=max(with_progress, key=lambda e: e.at) if with_progress else None,
            running=running, recent=recent, today=found.today, week=found.week,
            mappings=found.mappings, days=found.days, totals=totals,
        )
