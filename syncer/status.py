"""Publishing what the syncer does: job status on `sync/<state>`, the retained summary."""

from __future__ import annotations

import json
import posixpath
import threading
import time
from collections.abc import Callable
from typing import Any

from arrsync.mqtt import MqttConnection
from arrsync.settings import Mapping
from arrsync.wire import Episode, JobState, JobStatus, utc_now_iso
from syncer.jobs import Job
from syncer.store import JobStore


def _common_path(root: str, paths: list[str]) -> str | None:
    """The job's file or folder, or the folder that holds all its paths."""
    if not root:  # a refused job has no mapping: its one path is shown as given
        return paths[0] if len(paths) == 1 else None
    return posixpath.commonpath([posixpath.join(root, p) for p in paths] or [root])


def build_status(job: Job, state: JobState, mapping: Mapping | None, **extra: Any) -> JobStatus:
    return JobStatus(
        job=job.id, state=state, action=job.action, trigger=job.trigger, title=job.title,
        app=job.app, instance=job.instance, download_id=job.download_id, series=job.series,
        episodes=[Episode(season=season, episode=number) for season, number in job.episodes],
        mapping=mapping.name if mapping else None,
        source=_common_path(mapping.source if mapping else "", job.paths),
        dest=_common_path(mapping.dest, job.paths) if mapping else None,
        bytes=job.bytes, files=job.files, attempt=job.attempt, max_attempts=job.max_attempts,
        duration_s=job.duration_s, error=job.error, held=job.held,
        on_hold=job.on_hold and state is JobState.RETRYING, at=utc_now_iso(), **extra,
    )


class StatusReporter:
    def __init__(self, mqtt: MqttConnection, store: JobStore, mappings: list[Mapping],
                 clock: Callable[[], float] = time.time) -> None:
        self._mqtt = mqtt
        self._store = store
        self._mappings = {m.name: m for m in mappings}
        self._clock = clock
        self._lock = threading.Lock()
        self._last: dict[str, dict[str, Any] | None] = {"success": None, "failure": None}
        self.observer: Callable[[JobStatus], None] | None = None  # the statistics (stats.py)

    def job(self, job: Job, state: JobState, **extra: Any) -> JobStatus:
        status = build_status(job, state, self._mappings.get(job.mapping), **extra)
        qos = 0 if state is JobState.PROGRESS else 1
        self._mqtt.publish(self._mqtt.topics.sync_state(state.value),
                           status.model_dump_json(), qos=qos)
        if self.observer:
            self.observer(status)
        if state in (JobState.SUCCEEDED, JobState.FAILED):
            key = "success" if state is JobState.SUCCEEDED else "failure"
            with self._lock:
                self._last[key] = {"job": job.id, "title": job.title, "error": job.error,
                                   "at": status.at}
        if state is not JobState.PROGRESS:
            self.summary()
        return status

    def summary(self) -> None:
        counts = self._store.counts()
        with self._lock:
            last = dict(self._last)
        body = {
            "queued": counts.get(JobState.QUEUED.value, 0),
            "retrying": counts.get(JobState.RETRYING.value, 0),
            "running": counts.get(JobState.STARTED.value, 0),
            "on_hold": self._store.on_hold_count(),
            "succeeded_total": counts.get(JobState.SUCCEEDED.value, 0),
            "failed_total": counts.get(JobState.FAILED.value, 0),
            "last_success": last["success"],
            "last_failure": last["failure"],
            "at": utc_now_iso(),
        }
        self._mqtt.publish(self._mqtt.topics.syncer_state, json.dumps(body), retain=True)
