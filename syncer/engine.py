"""The engine: runs stored jobs with up to `workers` rsyncs at once, retries, holds, stops.

One scheduler thread picks due jobs from the store; each attempt runs on its own thread.
Every state change goes through `_transition` (set, stamp, save, report): it is saved
before it is published, so a crash loses no job. Rename, recycle and replace jobs run
through `syncer.mirror`, on their own, with the hooks `begin_attempt` and `run_rsync`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from arrsync.settings import Mapping, SyncerSettings
from arrsync.wire import JobAction, JobState
from syncer.errors import (
    AttemptFailed,
    Decision,
    DestinationNotReady,
    Interrupted,
    SourceMissing,
    rsync_outcome,
)
from syncer.guard import DestinationGuard
from syncer.jobs import Ending, Job
from syncer.mirror import MirrorActions
from syncer.plan import FileSet, collect, copy_ending, verify_sizes
from syncer.rsync import Progress, RsyncResult, RsyncRun, build_command
from syncer.status import StatusReporter
from syncer.store import JobStore

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 1.0
IDLE_WAIT_S = 5.0


class Engine:
    def __init__(self, settings: SyncerSettings, store: JobStore, reporter: StatusReporter,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.store = store
        self.reporter = reporter
        self.clock = clock
        self.guard = DestinationGuard(settings.free_space_margin)
        self.mappings: dict[str, Mapping] = {m.name: m for m in settings.mappings}
        self.mirror = MirrorActions(settings, store, self.guard, self, clock)
        # Guards _running, _stopping and _poked only: no store, file system or MQTT under it.
        self._lock = threading.Condition()
        self._running: dict[str, RsyncRun | None] = {}  # job id → its rsync, once it runs
        self._stopping = False
        self._poked = False  # wake() came while the scheduler was busy: look again at once
        self._scheduler = threading.Thread(target=self._schedule, name="scheduler", daemon=True)

    # -- control -----------------------------------------------------------------------------
    def start(self) -> None:
        for job in self.store.recover_interrupted():
            log.info("resuming job %s (%s) interrupted by a stop", job.id, job.title)
        self._scheduler.start()

    def wake(self) -> None:
        with self._lock:
            self._poked = True
            self._lock.notify_all()

    def running_count(self) -> int:
        with self._lock:
            return len(self._running)

    def retry(self, job_id: str) -> Job | None:
        """Run a failed job again with fresh attempts, or release one the circuit breaker
        holds; None if there is no such job."""
        job = self.store.get(job_id)
        if job is None or job.mapping not in self.mappings or not (
                job.state is JobState.FAILED or job.on_hold):
            return None
        job.released, job.on_hold = job.on_hold, False
        job.attempt, job.max_attempts = 0, self.settings.max_attempts
        self._transition(job, JobState.QUEUED, next_attempt_in=0)
        self.wake()
        return job

    def dismiss(self, job_id: str) -> Job | None:
        """A person decided a removal the circuit breaker holds must not happen."""
        job = self.store.get(job_id)
        if job is None or not job.on_hold:
            return None
        job.on_hold = False
        self._finish(job, JobState.SKIPPED, "dismissed by a person: nothing was removed")
        return job

    def stop(self, grace: float) -> None:
        """Take no new jobs; let running copies finish for `grace` s, then interrupt them."""
        deadline = time.monotonic() + grace
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
            while self._running and time.monotonic() < deadline:
                self._lock.wait(deadline - time.monotonic())
            runs = [run for run in self._running.values() if run]
        for run in runs:
            run.stop()
        with self._lock:
            while self._running:
                self._lock.wait(1)
        self._scheduler.join(timeout=5)

    # -- scheduling --------------------------------------------------------------------------
    def _schedule(self) -> None:
        while True:
            with self._lock:
                if self._stopping:
                    return
                self._poked = False
                free = self.settings.workers - len(self._running)
                busy = set(self._running)
            for job in self.store.due(self.clock(), free, exclude=busy) if free > 0 else []:
                if self._ready(job):
                    self._launch(job)
            with self._lock:
                all_busy = len(self._running) >= self.settings.workers
            # All workers busy: a finishing attempt wakes us; else wake when one is due.
            timeout = IDLE_WAIT_S if all_busy else self._idle_wait()
            with self._lock:
                if not self._poked and not self._stopping:
                    self._lock.wait(timeout)

    def _launch(self, job: Job) -> None:
        with self._lock:
            if self._stopping:
                return
            self._running[job.id] = None
        threading.Thread(target=self._attempt, args=(job,), daemon=True,
                         name=f"job-{job.id}").start()

    def _idle_wait(self) -> float:
        next_due = self.store.next_due_at()
        if next_due is None:
            return IDLE_WAIT_S
        return min(IDLE_WAIT_S, max(0.05, next_due - self.clock()))

    def _ready(self, job: Job) -> bool:
        mapping = self.mappings.get(job.mapping)
        if mapping is None:
            self._finish(job, JobState.FAILED, f"mapping {job.mapping!r} is no longer configured")
            return False
        try:
            self.guard.check(mapping)
        except DestinationNotReady as exc:
            self._hold(job, str(exc))
            return False
        return True

    # -- one attempt -------------------------------------------------------------------------
    def _attempt(self, job: Job) -> None:
        try:
            self._run_attempt(job)
        except Exception as exc:
            log.exception("job %s crashed", job.id)
            self._finish(job, JobState.FAILED, f"internal error: {type(exc).__name__}")
        finally:
            self.mirror.finished(job)
            with self._lock:
                self._running.pop(job.id, None)
                self._lock.notify_all()

    def _run_attempt(self, job: Job) -> None:
        """One attempt of the job's action; each step may end the attempt."""
        mapping = self.mappings[job.mapping]
        try:
            if job.action is JobAction.COPY:
                ending = self._copy_files(job, mapping)
            else:
                ending = self.mirror.run(job, mapping)
        except DestinationNotReady as exc:
            self._hold(job, str(exc))
        except AttemptFailed as exc:
            self._failed_attempt(job, exc.decision, exc.reason)
        except Interrupted:
            self._requeue_after_stop(job)
        else:
            self._finish(job, ending.state, ending.reason, **ending.extra)

    def _copy_files(self, job: Job, mapping: Mapping) -> Ending:
        """Collect the files, check the space, copy, verify."""
        files = self._collect(job, mapping)
        if not self.settings.dry_run:
            self.guard.check_space(mapping, files.bytes)
        self.begin_attempt(job)
        command = build_command(self.settings.rsync_path, mapping.source, mapping.dest,
                                dry_run=self.settings.dry_run,
                                extra_args=self.settings.rsync_extra_args)
        result = self.run_rsync(job, command, files.entries)
        if not self.settings.dry_run:
            verify_sizes(files)
        return copy_ending(job, files, mapping.source, result.transferred,
                           dry_run=self.settings.dry_run)

    def begin_attempt(self, job: Job) -> None:
        job.attempt += 1
        self._transition(job, JobState.STARTED)

    def _collect(self, job: Job, mapping: Mapping) -> FileSet:
        try:
            files = collect(job, mapping, sidecars=self.settings.sidecars)
        except SourceMissing as exc:
            job.attempt += 1  # a missing source spends an attempt: it may never come
            raise AttemptFailed(Decision.RETRY, str(exc)) from None
        job.bytes, job.files = files.bytes, len(files.items)
        return files

    def run_rsync(self, job: Job, command: list[str], entries: list[str]) -> RsyncResult:
        run = RsyncRun(command, entries)
        with self._lock:
            self._running[job.id] = run
            stopping = self._stopping
        if stopping:
            run.stop()
        started = time.monotonic()
        try:
            result = run.run(self._progress_reporter(job))
        except FileNotFoundError:
            raise AttemptFailed(Decision.GIVE_UP,
                                f"rsync is not installed ({self.settings.rsync_path})") from None
        job.duration_s = round(time.monotonic() - started, 3)
        if result.exit_code == 0:
            return result
        with self._lock:
            if self._stopping:
                raise Interrupted
        outcome = rsync_outcome(result.exit_code)
        detail = result.stderr.splitlines()[-1] if result.stderr else ""
        reason = f"{outcome.reason} (rsync exit {result.exit_code}"
        raise AttemptFailed(outcome.decision, f"{reason}: {detail})" if detail else f"{reason})")

    def _progress_reporter(self, job: Job) -> Callable[[Progress], None]:
        last = [0.0]

        def report(progress: Progress) -> None:
            now = time.monotonic()
            if now - last[0] < PROGRESS_INTERVAL_S:
                return
            last[0] = now
            self.reporter.job(job, JobState.PROGRESS, percent=progress.percent,
                              bytes_per_s=progress.bytes_per_s, eta_s=progress.eta_s)
        return report

    # -- state changes -----------------------------------------------------------------------
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

