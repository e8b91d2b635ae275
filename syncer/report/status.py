"""Publishing what the syncer does: job status on `sync/<state>`, the retained summary, and
alerts on `syncer/alert`. Text that came from outside (titles, errors, dry-run names) is cut
to a bounded size, so no status can grow past what the broker takes.

A status goes out at once; the retained summary (a count over the whole store) is
published by its own thread, at most every `SUMMARY_INTERVAL_S`, so a burst of jobs costs
one summary per interval instead of one per state change, and no copy waits for it.
"""

from __future__ import annotations

import json
import logging
import posixpath
import threading
import time
from collections.abc import Callable
from typing import Any

from arrsync.limits import clip
from arrsync.mqtt import MqttConnection
from arrsync.settings import Mapping
from arrsync.wire.alert import Alert, Problem
from arrsync.wire.event import Episode
from arrsync.wire.job import JobState, JobStatus
from arrsync.wire.timestamps import iso_utc, utc_now_iso
from syncer.copying.progress import PROGRESS_INTERVAL_S, Throttle
from syncer.copying.rsync import Progress
from syncer.jobs.health import is_store_failure
from syncer.jobs.job import Job
from syncer.jobs.store import JobStore

log = logging.getLogger(__name__)

MAX_TITLE = 300     # characters of a title or series name in a status
MAX_ERROR = 1000    # characters of an error
MAX_PATH = 4096     # characters of a path (PATH_MAX): longer ones came from outside, unchecked
MAX_NAMES = 1000    # names listed in a dry run's would_copy
SUMMARY_INTERVAL_S = 0.5  # the retained summary, at most this often


def _common_path(root: str, paths: list[str]) -> str | None:
    """The job's file or folder, or the folder that holds all its paths."""
    if not root:  # a refused job has no mapping: its one path is shown as given
        return paths[0] if len(paths) == 1 else None
    return posixpath.commonpath([posixpath.join(root, p) for p in paths] or [root])


def build_status(job: Job, state: JobState, mapping: Mapping | None, **extra: Any) -> JobStatus:
    if extra.get("would_copy"):
        extra["would_copy"] = extra["would_copy"][:MAX_NAMES]
    return JobStatus(
        job=job.id, state=state, action=job.action, trigger=job.trigger,
        title=clip(job.title, MAX_TITLE), app=job.app, instance=clip(job.instance, MAX_TITLE),
        download_id=clip(job.download_id, MAX_TITLE), series=clip(job.series, MAX_TITLE),
        episodes=[Episode(season=season, episode=number) for season, number in job.episodes],
        mapping=mapping.name if mapping else None,
        source=clip(_common_path(mapping.source if mapping else "", job.paths), MAX_PATH),
        dest=clip(_common_path(mapping.dest, job.paths), MAX_PATH) if mapping else None,
        bytes=job.bytes, files=job.files, attempt=job.attempt, max_attempts=job.max_attempts,
        duration_s=job.duration_s, error=clip(job.error, MAX_ERROR), held=job.held,
        on_hold=job.on_hold and state is JobState.RETRYING, at=utc_now_iso(), **extra,
    )


def _last_of(job: Job, at: str | None = None) -> dict[str, Any]:
    """The summary's `last_success` / `last_failure`: which job, what, why, when."""
    return {"job": job.id, "title": clip(job.title, MAX_TITLE), "error": clip(job.error,
            MAX_ERROR), "at": at or iso_utc(job.updated_at)}


class StatusReporter:
    def __init__(self, mqtt: MqttConnection, store: JobStore, mappings: list[Mapping],
                 clock: Callable[[], float] = time.time) -> None:
        self._mqtt = mqtt
        self._store = store
        self._mappings = {m.name: m for m in mappings}
        self._clock = clock
        self._lock = threading.Lock()  # guards _last and _problem
        self._last: dict[str, dict[str, Any] | None] = {"success": None, "failure": None}
        self.observer: Callable[[JobStatus], None] | None = None  # the statistics (stats.py)
        self._problem: str | None = None  # why intake is paused, for the summary
        self._wanted = threading.Event()  # a state changed since the last summary
        self._closed = threading.Event()
        self._summaries = threading.Thread(target=self._publish_summaries, name="summary",
                                           daemon=True)

    def start(self) -> None:
        """Publish the summary now (the last success and failure as the store has them:
        they outlive a restart), then after changes, at most every SUMMARY_INTERVAL_S."""
        for key, state in (("success", JobState.SUCCEEDED), ("failure", JobState.FAILED)):
            if found := self._newest(state):
                with self._lock:
                    self._last[key] = self._last[key] or found
        self.summary()
        self._summaries.start()

    def _newest(self, state: JobState) -> dict[str, Any] | None:
        """The newest job in `state` as the summary names it; None if none (or the store
        cannot be read: the summary says so)."""
        try:
            found = self._store.recent(1, state)
        except Exception as exc:
            if not is_store_failure(exc):
                raise
            found = []
        return _last_of(found[0]) if found else None

    def stop(self) -> None:
        """Publish the last summary now; no more after it."""
        self._closed.set()
        self._wanted.set()
        if self._summaries.is_alive():
            self._summaries.join(timeout=5)
        self.summary()

    def job(self, job: Job, state: JobState, **extra: Any) -> JobStatus:
        status = build_status(job, state, self._mappings.get(job.mapping),
                              syncer=self._mqtt.topics.syncer, **extra)
        qos = 0 if state is JobState.PROGRESS else 1
        self._mqtt.publish(self._mqtt.topics.sync_state(state.value),
                           status.model_dump_json(), qos=qos)
        if self.observer:
            self.observer(status)
        if state in (JobState.SUCCEEDED, JobState.FAILED):
            key = "success" if state is JobState.SUCCEEDED else "failure"
            with self._lock:
                self._last[key] = _last_of(job, status.at)
                failure = self._last["failure"]
                resolved = key == "success" and failure is not None and failure["job"] == job.id
            if resolved:  # a retried failure that now succeeded: the newest still failed, as
                newest = self._newest(JobState.FAILED)  # a restart rebuilds it
                with self._lock:
                    if self._last["failure"] is failure:
                        self._last["failure"] = newest
        if state is not JobState.PROGRESS:
            self._wanted.set()
        return status

    def throttled_progress(self, job: Job) -> Callable[[Progress], None]:
        """A progress callback for one rsync run that publishes at most once a second."""
        throttle = Throttle(PROGRESS_INTERVAL_S)

        def report(progress: Progress) -> None:
            if not throttle.ready():
                return
            self.job(job, JobState.PROGRESS, percent=progress.percent,
                     bytes_per_s=progress.bytes_per_s, eta_s=progress.eta_s)
        return report

    def _publish_summaries(self) -> None:
        while not self._closed.is_set():
            self._wanted.wait()
            if self._closed.is_set():
                return
            self._wanted.clear()
            try:
                self.summary()
            except Exception:
                log.exception("could not publish the summary")
            self._closed.wait(SUMMARY_INTERVAL_S)

    def summary(self) -> None:
        try:
            counts: dict[str, int | None] = dict(self._store.counts())
            on_hold: int | None = self._store.on_hold_count()
        except Exception as exc:  # a damaged store: the summary still says what is wrong
            if not is_store_failure(exc):
                raise
            counts, on_hold = dict.fromkeys(JobState, None), None
        with self._lock:
            last, problem = dict(self._last), self._problem
        body = {
            "status": "failing" if problem else "ok",
            "problem": problem,
            "queued": counts.get(JobState.QUEUED.value, 0),
            "retrying": counts.get(JobState.RETRYING.value, 0),
            "running": counts.get(JobState.STARTED.value, 0),
            "on_hold": on_hold,
            "succeeded_total": counts.get(JobState.SUCCEEDED.value, 0),
            "failed_total": counts.get(JobState.FAILED.value, 0),
            "last_success": last["success"],
            "last_failure": last["failure"],
            "syncer": self._mqtt.topics.syncer,
            "at": utc_now_iso(),
        }
        self._mqtt.publish(self._mqtt.topics.syncer_state, json.dumps(body), retain=True)

    def store_problem(self, problem: str | None) -> None:
        """The store failed (`problem`) or works again (None): alert, and say it in the
        retained summary."""
        with self._lock:
            self._problem = problem
        self.alert(Problem.STORE, problem or "the job store works again; intake resumed",
                   active=problem is not None)
        self.summary()

    def alert(self, problem: Problem, message: str, *, active: bool = True) -> None:
        """Something needs a person (`arrsync.wire.alert`); the notifier forwards it."""
        alert = Alert(component="syncer", problem=problem, active=active, message=message,
                      at=utc_now_iso(), syncer=self._mqtt.topics.syncer)
        self._mqtt.publish(self._mqtt.topics.alert("syncer"), alert.model_dump_json())
