"""Job state changes: the one way jobs move from state to state (set, stamp, save, report).

Saved before it is published, so a crash loses no job; a batch of changes is one
transaction. `change_for` decides what an attempt's verdict changes: retry after a growing
delay, give up, wait for the destination without spending an attempt, go back to the queue
after a stop, or finish (succeeded, skipped, or on hold for a person).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from arrsync.settings import SyncerSettings
from arrsync.wire.job import JobState
from syncer.copying.batch import Verdict
from syncer.jobs.job import Job
from syncer.jobs.outcome import AttemptFailed, Decision
from syncer.jobs.schedule import Gate
from syncer.jobs.store import JobStore
from syncer.report.status import StatusReporter

log = logging.getLogger("syncer.engine")


@dataclass
class Change:
    """A job's next state, as `_transition` applies it."""

    job: Job
    state: JobState
    error: str | None = None
    held: bool = False
    next_attempt_in: float | None = None
    publish: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


class JobTransitions:
    """The engine's state changes; it provides these attributes and `submit`."""

    settings: SyncerSettings
    store: JobStore
    reporter: StatusReporter
    clock: Callable[[], float]
    _lock: threading.Condition
    _gates: dict[str, Gate]

    def submit(self, jobs: list[Job], gate: Gate | None = None) -> None:
        raise NotImplementedError

    def _transition(self, *changes: Change) -> None:
        """The one way jobs change state: set, stamp, save (one transaction), then report
        (after the intake's 'queued' for a job it has just handed over)."""
        now = self.clock()
        for change in changes:
            job = change.job
            job.state, job.error, job.held = change.state, change.error, change.held
            job.updated_at = now
            if change.next_attempt_in is not None:
                job.next_attempt_at = now + change.next_attempt_in
        self.store.save_many([change.job for change in changes])
        with self._lock:
            gates = {gate for change in changes if (gate := self._gates.get(change.job.id))}
        for gate in gates:
            gate.wait()
        for change in changes:
            if change.publish:
                self.reporter.job(change.job, change.state, **change.extra)
        self.submit([change.job for change in changes])

    def _conclude(self, verdicts: list[Verdict]) -> None:
        if verdicts:
            self._transition(*(change_for(verdict, self.settings) for verdict in verdicts))


def change_for(verdict: Verdict, settings: SyncerSettings) -> Change:
    job = verdict.job
    if verdict.hold is not None:
        return hold(job, verdict.hold, settings)
    if verdict.interrupted:
        return requeue_after_stop(job)
    if verdict.failure:
        return failed_attempt(job, verdict.failure, settings)
    ending = verdict.ending
    assert ending is not None, "a Verdict has one of its four outcomes"
    return finish(job, ending.state, ending.reason, publish=ending.publish, **ending.extra)


def hold(job: Job, reason: str, settings: SyncerSettings) -> Change:
    """Wait for the destination without spending an attempt; alert once per reason."""
    alert = not job.held or job.error != reason
    if alert:
        log.warning("job %s (%s) waits: %s", job.id, job.title, reason)
    return Change(job, JobState.RETRYING, error=reason, held=True,
                  next_attempt_in=settings.guard_interval, publish=alert)


def failed_attempt(job: Job, failure: AttemptFailed, settings: SyncerSettings) -> Change:
    reason = failure.reason
    if failure.decision is Decision.GIVE_UP or job.attempt >= job.max_attempts:
        if failure.decision is Decision.RETRY:
            reason = f"{reason}; gave up after {job.attempt} attempts"
        return finish(job, JobState.FAILED, reason)
    delay = min(settings.retry_delay * 2 ** (job.attempt - 1), settings.retry_delay_max)
    log.warning("job %s (%s) attempt %d/%d failed, retrying in %.0fs: %s",
                job.id, job.title, job.attempt, job.max_attempts, delay, reason)
    return Change(job, JobState.RETRYING, error=reason, next_attempt_in=delay)


def requeue_after_stop(job: Job) -> Change:
    job.attempt = max(job.attempt - 1, 0)
    log.info("job %s (%s) interrupted by the stop; it resumes at the next start",
             job.id, job.title)
    return Change(job, JobState.QUEUED, next_attempt_in=0, publish=False)


def finish(job: Job, state: JobState, error: str | None, *, publish: bool = True,
           **extra: Any) -> Change:
    """The attempt's ending, with `extra` status fields; `publish=False` keeps it quiet."""
    if state is JobState.FAILED:
        log.error("job %s (%s) failed: %s", job.id, job.title, error)
    elif state is JobState.RETRYING:  # held by the circuit breaker
        log.warning("job %s (%s) is on hold: %s", job.id, job.title, error)
    else:
        log.info("job %s (%s) %s: %d file(s), %d bytes", job.id, job.title, state,
                 job.files, job.bytes)
    return Change(job, state, error=error, publish=publish, extra=extra)
