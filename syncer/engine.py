"""The engine: runs stored jobs with up to `workers` rsyncs at once, retries, holds, stops.

One scheduler thread picks due jobs from the store; each attempt runs on its own thread.
Every state change is saved before it is published, so a crash loses no job.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from bridge.settings import Mapping, SyncerSettings
from syncer.errors import Decision, DestinationNotReady, SourceMissing, rsync_outcome
from syncer.guard import DestinationGuard
from syncer.jobs import Job, JobState
from syncer.plan import FileSet, collect
from syncer.rsync import Progress, RsyncRun, build_command
from syncer.status import StatusReporter
from syncer.store import JobStore

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 1.0


class Engine:
    def __init__(self, settings: SyncerSettings, store: JobStore, reporter: StatusReporter,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.store = store
        self.reporter = reporter
        self.clock = clock
        self.guard = DestinationGuard(settings.free_space_margin)
        self.mappings: dict[str, Mapping] = {m.name: m for m in settings.mappings}
        self._wake = threading.Condition()
        self._running: dict[str, RsyncRun | None] = {}
        self._stopping = False
        self._scheduler = threading.Thread(target=self._schedule, name="scheduler", daemon=True)

    # -- control -----------------------------------------------------------------------------
    def start(self) -> None:
        for job in self.store.recover_interrupted():
            log.info("resuming job %s (%s) interrupted by a stop", job.id, job.title)
        self._scheduler.start()

    def wake(self) -> None:
        with self._wake:
            self._wake.notify_all()

    def running_count(self) -> int:
        with self._wake:
            return len(self._running)

    def retry(self, job_id: str) -> Job | None:
        """Run a failed job again with fresh attempts; None if there is no such failed job."""
        job = self.store.get(job_id)
        if job is None or job.state is not JobState.FAILED or job.mapping not in self.mappings:
            return None
        job.state, job.attempt, job.error, job.held = JobState.QUEUED, 0, None, False
        job.max_attempts = self.settings.max_attempts
        job.next_attempt_at = job.updated_at = self.clock()
        self.store.save(job)
        self.reporter.job(job, JobState.QUEUED)
        self.wake()
        return job

    def stop(self, grace: float) -> None:
        """Take no new jobs; let running copies finish for `grace` s, then interrupt them."""
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
            deadline = time.monotonic() + grace
            while self._running and time.monotonic() < deadline:
                self._wake.wait(deadline - time.monotonic())
            for run in self._running.values():
                if run:
                    run.stop()
            while self._running:
                self._wake.wait(1)
        self._scheduler.join(timeout=5)

    # -- scheduling --------------------------------------------------------------------------
    def _schedule(self) -> None:
        while True:
            with self._wake:
                if self._stopping:
                    return
                free = self.settings.workers - len(self._running)
                due = self.store.due(self.clock(), free, exclude=self._running) if free else []
                for job in due:
                    if self._ready(job):
                        self._running[job.id] = None
                        threading.Thread(target=self._attempt, args=(job,), daemon=True,
                                         name=f"job-{job.id}").start()
                busy = len(self._running) >= self.settings.workers
                # All workers busy: a finishing attempt wakes us; else wake when one is due.
                self._wake.wait(5.0 if busy else self._idle_wait())

    def _idle_wait(self) -> float:
        next_due = self.store.next_due_at()
        if next_due is None:
            return 5.0
        return min(5.0, max(0.05, next_due - self.clock()))

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

    def _hold(self, job: Job, reason: str) -> None:
        """Wait for the destination without spending an attempt; alert once per reason."""
        alert = not job.held or job.error != reason
        job.state, job.held, job.error = JobState.RETRYING, True, reason
        job.updated_at = self.clock()
        job.next_attempt_at = job.updated_at + self.settings.guard_interval
        self.store.save(job)
        if alert:
            log.warning("job %s (%s) waits: %s", job.id, job.title, reason)
            self.reporter.job(job, JobState.RETRYING)

    # -- one attempt -------------------------------------------------------------------------
    def _attempt(self, job: Job) -> None:
        try:
            self._run_attempt(job)
        except Exception as exc:
            log.exception("job %s crashed", job.id)
            self._finish(job, JobState.FAILED, f"internal error: {type(exc).__name__}")
        finally:
            with self._wake:
                self._running.pop(job.id, None)
                self._wake.notify_all()

    def _run_attempt(self, job: Job) -> None:
        mapping = self.mappings[job.mapping]
        try:
            files = collect(job, mapping, sidecars=self.settings.sidecars)
        except SourceMissing as exc:
            job.attempt += 1
            self._failed_attempt(job, Decision.RETRY, str(exc))
            return
        job.bytes, job.files = files.bytes, len(files.items)
        try:
            if not self.settings.dry_run:
                self.guard.check_space(mapping, files.bytes)
        except DestinationNotReady as exc:
            self._hold(job, str(exc))
            return

        job.attempt += 1
        job.state, job.held, job.error = JobState.STARTED, False, None
        job.updated_at = self.clock()
        self.store.save(job)
        self.reporter.job(job, JobState.STARTED)

        command = build_command(self.settings.rsync_path, mapping.source, mapping.dest,
                                dry_run=self.settings.dry_run,
                                extra_args=self.settings.rsync_extra_args)
        run = RsyncRun(command, files.entries)
        with self._wake:
            self._running[job.id] = run
            if self._stopping:
                run.stop()
        started = time.monotonic()
        try:
            result = run.run(self._progress_reporter(job))
        except FileNotFoundError:
            self._failed_attempt(job, Decision.GIVE_UP,
                                 f"rsync is not installed ({self.settings.rsync_path})")
            return
        job.duration_s = round(time.monotonic() - started, 3)

        if result.exit_code != 0:
            with self._wake:
                interrupted = self._stopping
            if interrupted:
                self._requeue_after_stop(job)
                return
            outcome = rsync_outcome(result.exit_code)
            detail = result.stderr.splitlines()[-1] if result.stderr else ""
            reason = f"{outcome.reason} (rsync exit {result.exit_code}{': ' if detail else ''}" \
                     f"{detail})"
            self._failed_attempt(job, outcome.decision, reason)
            return
        if self.settings.dry_run:
            self._finish(job, JobState.SUCCEEDED, None, dry_run=True,
                         would_copy=result.transferred)
            return
        mismatch = _size_mismatch(files)
        if mismatch:
            self._failed_attempt(job, *mismatch)
            return
        self._finish(job, JobState.SUCCEEDED, None)

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

    def _failed_attempt(self, job: Job, decision: Decision, reason: str) -> None:
        if decision is Decision.GIVE_UP or job.attempt >= job.max_attempts:
            if decision is Decision.RETRY:
                reason = f"{reason}; gave up after {job.attempt} attempts"
            self._finish(job, JobState.FAILED, reason)
            return
        delay = min(self.settings.retry_delay * 2 ** (job.attempt - 1),
                    self.settings.retry_delay_max)
        job.state, job.error, job.held = JobState.RETRYING, reason, False
        job.updated_at = self.clock()
        job.next_attempt_at = job.updated_at + delay
        self.store.save(job)
        log.warning("job %s (%s) attempt %d/%d failed, retrying in %.0fs: %s",
                    job.id, job.title, job.attempt, job.max_attempts, delay, reason)
        self.reporter.job(job, JobState.RETRYING)

    def _requeue_after_stop(self, job: Job) -> None:
        job.state, job.attempt = JobState.QUEUED, max(job.attempt - 1, 0)
        job.updated_at = job.next_attempt_at = self.clock()
        self.store.save(job)
        log.info("job %s (%s) interrupted by the stop; it resumes at the next start",
                 job.id, job.title)

    def _finish(self, job: Job, state: JobState, error: str | None, **extra: object) -> None:
        job.state, job.error, job.held = state, error, False
        job.updated_at = self.clock()
        self.store.save(job)
        if state is JobState.FAILED:
            log.error("job %s (%s) failed: %s", job.id, job.title, error)
        else:
            log.info("job %s (%s) %s: %d file(s), %d bytes", job.id, job.title, state,
                     job.files, job.bytes)
        self.reporter.job(job, state, **extra)


def _size_mismatch(files: FileSet) -> tuple[Decision, str] | None:
    """Compare sizes after the copy. A bad copy of ours is removed and retried (the source
    may have grown while it was copied); a file that was there before is never touched."""
    for item in files.items:
        try:
            size = os.lstat(item.dest).st_size
        except FileNotFoundError:
            return Decision.RETRY, f"{item.dest} is missing after the copy"
        if size == item.size:
            continue
        if item.existed:
            return Decision.GIVE_UP, (
                f"{item.dest} already existed with {size} bytes but the source has "
                f"{item.size}; arrsync never overwrites a file: remove it to copy again")
        os.unlink(item.dest)
        return Decision.RETRY, (f"{item.dest} had {size} bytes after the copy but the source "
                                f"has {item.size}; the source may still be growing")
    return None
