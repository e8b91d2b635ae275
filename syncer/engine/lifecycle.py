"""A job's lifecycle: the only code that changes a job's state, attempt count and hold flags.

A `Job` is immutable. Each method makes the job's next version, saves it (one transaction
for many), publishes its status (after the intake's 'queued' for a job it has just handed
over), hands it to the schedule and returns it; a worker goes on with the version returned.

| method | to | attempt | flags |
|---|---|---|---|
| `begin` | started | +1 | held off |
| `finish` `Done` | succeeded, or skipped with the reason | | held off |
| `finish` `Failed` | retrying after a growing delay, or failed | +1 if it had not begun | |
| `finish` `Held` | retrying, published once per reason | not spent | held |
| `finish` `OnHold` | retrying, waiting for a person | | on_hold |
| `finish` `Stopped` | queued, quietly | not spent | |
| `retry` | queued with fresh attempts (a failed job, run again by a person) | 0 | |
| `release` | queued with fresh attempts (a removal on hold, let through) | 0 | released |
| `dismiss` | skipped (a removal on hold that must not happen) | | on_hold off |
| `recover` | queued (a crash left it started) | not spent | |
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from arrsync.settings import SyncerSettings
from arrsync.units import human_size
from arrsync.wire.job import JobState
from syncer.jobs.job import Job
from syncer.jobs.outcome import Decision, Done, Failed, Held, OnHold, Result, Stopped
from syncer.jobs.store import JobStore
from syncer.report.status import StatusReporter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    job: Job                     # the next version, before it is stamped
    publish: bool = True         # False keeps it quiet (a repeated hold, a stop)
    fields: Mapping[str, Any] = field(default_factory=dict)  # extra status fields


class Lifecycle:
    def __init__(self, settings: SyncerSettings, store: JobStore, reporter: StatusReporter,
                 schedule: Callable[[list[Job]], None],
                 announced: Callable[[list[Job]], None],
                 clock: Callable[[], float] = time.time) -> None:
        """`schedule(jobs)`: the workers' view of the new versions; `announced(jobs)` returns
        once the intake has published their 'queued' (see `syncer.jobs.schedule.Gate`)."""
        self.settings = settings
        self.store = store
        self.reporter = reporter
        self._schedule = schedule
        self._announced = announced
        self.clock = clock

    def begin(self, jobs: Sequence[Job]) -> list[Job]:
        """An attempt starts: counted, announced as 'started' with what it copies."""
        return self._apply([Change(replace(job, state=JobState.STARTED, attempt=job.attempt + 1,
                                           error=None, held=False)) for job in jobs])

    def finish(self, results: Sequence[tuple[Job, Result]]) -> list[Job]:
        """The attempts' results, as the next states (one transaction)."""
        now = self.clock()
        return self._apply([self._next(job, result, now) for job, result in results])

    def retry(self, job: Job) -> Job:
        """A person runs a failed job again, with fresh attempts."""
        return self._requeue(job, released=job.released)

    def release(self, job: Job) -> Job:
        """A person lets a removal on hold pass the circuit breaker."""
        return self._requeue(job, released=True)

    def _requeue(self, job: Job, *, released: bool) -> Job:
        (queued,) = self._apply([Change(replace(
            job, state=JobState.QUEUED, error=None, held=False, on_hold=False,
            released=released, attempt=0, max_attempts=self.settings.max_attempts,
            next_attempt_at=self.clock()))])
        return queued

    def dismiss(self, job: Job) -> Job:
        """A person decided that a removal on hold must not happen."""
        (skipped,) = self._apply([Change(replace(
            job, state=JobState.SKIPPED, on_hold=False,
            error="dismissed by a person: nothing was removed"))])
        return skipped

    def recover(self, keep: Collection[str] = ()) -> list[Job]:
        """Jobs a crash (or a store that failed mid-attempt) left started go back to the
        queue, except those in `keep` (still running); the lost attempt is not counted."""
        left = [job for job in self.store.started() if job.id not in keep]
        for job in left:
            log.info("resuming job %s (%s) interrupted by a stop", job.id, job.title)
        return self._apply([Change(replace(job, state=JobState.QUEUED, held=False,
                                           attempt=max(job.attempt - 1, 0),
                                           next_attempt_at=self.clock())) for job in left])

    def _apply(self, changes: list[Change]) -> list[Job]:
        """Stamp, save (one transaction), publish, schedule."""
        if not changes:
            return []
        now = self.clock()
        jobs = [replace(change.job, updated_at=now) for change in changes]
        self.store.save_many(jobs)
        self._announced(jobs)
        for change, job in zip(changes, jobs, strict=True):
            if change.publish:
                self.reporter.job(job, job.state, **change.fields)
        self._schedule(jobs)
        return jobs

    def _next(self, job: Job, result: Result, now: float) -> Change:
        """The one place where an attempt's result becomes the job's next state."""
        began = job.state is JobState.STARTED
        match result:
            case Done(skipped=skipped, bytes=copied, files=files, fields=fields):
                done = replace(job, state=JobState.SKIPPED if skipped else JobState.SUCCEEDED,
                               error=skipped, held=False,
                               bytes=job.bytes if copied is None else copied,
                               files=job.files if files is None else files)
                log.info("job %s (%s) %s: %d file(s), %s", job.id, job.title,
                         done.state, done.files, human_size(done.bytes))
                return Change(done, fields=fields)
            case Failed(decision=decision, reason=reason):
                return self._failed(job if began else replace(job, attempt=job.attempt + 1),
                                    decision, reason, now)
            case Held(reason=reason):
                announce = not job.held or job.error != reason
                if announce:
                    log.warning("job %s (%s) waits: %s", job.id, job.title, reason)
                return Change(replace(job, state=JobState.RETRYING, error=reason, held=True,
                                      attempt=max(job.attempt - 1, 0) if began else job.attempt,
                                      next_attempt_at=now + self.settings.guard_interval),
                              publish=announce)
            case OnHold(reason=reason, announce=announce):
                log.warning("job %s (%s) is on hold: %s", job.id, job.title, reason)
                return Change(replace(job, state=JobState.RETRYING, error=reason, held=False,
                                      on_hold=True), publish=announce)
            case Stopped():
                log.info("job %s (%s) interrupted by the stop; it resumes at the next start",
                         job.id, job.title)
                return Change(replace(job, state=JobState.QUEUED, error=None, held=False,
                                      attempt=max(job.attempt - 1, 0) if began else job.attempt,
                                      next_attempt_at=now), publish=False)
        raise AssertionError(f"unknown result {result!r}")

    def _failed(self, job: Job, decision: Decision, reason: str, now: float) -> Change:
        if decision is Decision.GIVE_UP or job.attempt >= job.max_attempts:
            if decision is Decision.RETRY:
                reason = f"{reason}; gave up after {job.attempt} attempts"
            log.error("job %s (%s) failed: %s", job.id, job.title, reason)
            return Change(replace(job, state=JobState.FAILED, error=reason, held=False))
        delay = min(self.settings.retry_delay * 2 ** (job.attempt - 1),
                    self.settings.retry_delay_max)
        log.warning("job %s (%s) attempt %d/%d failed, retrying in %.0fs: %s",
                    job.id, job.title, job.attempt, job.max_attempts, delay, reason)
        return Change(replace(job, state=JobState.RETRYING, error=reason, held=False,
                              next_attempt_at=now + delay))
