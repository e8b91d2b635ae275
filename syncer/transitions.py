"""Job state changes: the one way a job moves from state to state (set, stamp, save, report).

Saved before it is published, so a crash loses no job. Shared by the engine's scheduler and
its attempt threads; it needs the engine's settings, store, reporter and clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from arrsync.settings import SyncerSettings
from arrsync.wire import JobState
from syncer.errors import Decision
from syncer.jobs import Job
from syncer.status import StatusReporter
from syncer.store import JobStore

log = logging.getLogger("syncer.engine")


class JobTransitions:
    settings: SyncerSettings
    store: JobStore
    reporter: StatusReporter
    clock: Callable[[], float]

    def _transition(self, job: Job, state: JobState, *, error: str | None = None,
                    held: bool = False, next_attempt_in: float | None = None,
                    publish: bool = True, **extra: Any) -> None:
        """The one way a job changes state: set, stamp, save, then report."""
        job.state, job.error, job.held = state, error, held
        job.updated_at = self.clock()
        if next_attempt_in is not None:
            job.next_attempt_at = job.updated_at + next_attempt_in
        self.store.save(job)
        if publish:
            self.reporter.job(job, state, **extra)

    def _hold(self, job: Job, reason: str) -> None:
        """Wait for the destination without spending an attempt; alert once per reason."""
        alert = not job.held or job.error != reason
        if alert:
            log.warning("job %s (%s) waits: %s", job.id, job.title, reason)
        self._transition(job, JobState.RETRYING, error=reason, held=True,
                         next_attempt_in=self.settings.guard_interval, publish=alert)

    def _failed_attempt(self, job: Job, decision: Decision, reason: str) -> None:
        if decision is Decision.GIVE_UP or job.attempt >= job.max_attempts:
            if decision is Decision.RETRY:
                reason = f"{reason}; gave up after {job.attempt} attempts"
            self._finish(job, JobState.FAILED, reason)
            return
        delay = min(self.settings.retry_delay * 2 ** (job.attempt - 1),
                    self.settings.retry_delay_max)
        log.warning("job %s (%s) attempt %d/%d failed, retrying in %.0fs: %s",
                    job.id, job.title, job.attempt, job.max_attempts, delay, reason)
        self._transition(job, JobState.RETRYING, error=reason, next_attempt_in=delay)

    def _requeue_after_stop(self, job: Job) -> None:
        job.attempt = max(job.attempt - 1, 0)
        log.info("job %s (%s) interrupted by the stop; it resumes at the next start",
                 job.id, job.title)
        self._transition(job, JobState.QUEUED, next_attempt_in=0, publish=False)

    def _finish(self, job: Job, state: JobState, error: str | None, **extra: Any) -> None:
        if state is JobState.FAILED:
            log.error("job %s (%s) failed: %s", job.id, job.title, error)
        elif state is JobState.RETRYING:  # held by the circuit breaker
            log.warning("job %s (%s) is on hold: %s", job.id, job.title, error)
        else:
            log.info("job %s (%s) %s: %d file(s), %d bytes", job.id, job.title, state,
                     job.files, job.bytes)
        self._transition(job, state, error=error, **extra)
