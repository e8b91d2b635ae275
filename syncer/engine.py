"""The engine: runs stored jobs with up to `workers` rsyncs at once, retries, holds, stops.

One scheduler thread picks due jobs from the store; each attempt runs on its own thread.
Every state change goes through `_transition` (`syncer.transitions`: set, stamp, save,
report): it is saved before it is published, so a crash loses no job. Rename, recycle and
replace jobs run through `syncer.mirror`, on their own, with the hooks `begin_attempt` and
`run_rsync`. While the job store cannot be written nothing starts (`syncer.storehealth`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from arrsync.settings import Mapping, SyncerSettings
from arrsync.units import human_size
from arrsync.wire import JobAction, JobState
from syncer.errors import (
    AttemptFailed,
    Decision,
    DestinationFull,
    DestinationNotReady,
    Interrupted,
    SourceMissing,
    SourceRefused,
    rsync_error_line,
    rsync_outcome,
)
from syncer.guard import DestinationGuard
from syncer.jobs import Ending, Job
from syncer.mirror import MirrorActions
from syncer.pathsafety import check_inside
from syncer.plan import FileSet, already_there, collect, copy_ending, nothing_copied, verify_sizes
from syncer.rsync import RsyncResult, RsyncRun, build_command
from syncer.space import NO_SPACE, SpaceLedger, remove_partials
from syncer.status import StatusReporter
from syncer.store import JobStore
from syncer.storehealth import RETRY_S, StoreHealth, is_store_failure
from syncer.transitions import JobTransitions

log = logging.getLogger(__name__)

IDLE_WAIT_S = 5.0


class Engine(JobTransitions):
    def __init__(self, settings: SyncerSettings, store: JobStore, reporter: StatusReporter,
                 health: StoreHealth, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.store = store
        self.reporter = reporter
        self.health = health
        self.clock = clock
        self.guard = DestinationGuard(settings.free_space_margin)
        self.space = SpaceLedger(settings.free_space_margin)
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
            try:
                timeout = self._schedule_once()
            except Exception as exc:  # the scheduler must outlive a store that fails
                if is_store_failure(exc):
                    self.health.failed(exc)
                else:
                    log.exception("scheduling failed")
                timeout = RETRY_S
            with self._lock:
                if not self._poked and not self._stopping:
                    self._lock.wait(timeout)

    def _schedule_once(self) -> float:
        """Launch what is due; returns how long to wait. Nothing starts while the store
        cannot be written: it is tried again now and then (`store.probe`)."""
        if self.health.failing:
            self.store.probe()
            self.store.recover_interrupted(keep=self._running_ids())
            self.health.worked()
        with self._lock:
            free = self.settings.workers - len(self._running)
            busy = set(self._running)
        for job in self.store.due(self.clock(), free, exclude=busy) if free > 0 else []:
            if self._ready(job):
                self._launch(job)
        with self._lock:
            all_busy = len(self._running) >= self.settings.workers
        # All workers busy: a finishing attempt wakes us; else wake when one is due.
        return IDLE_WAIT_S if all_busy else self._idle_wait()

    def _running_ids(self) -> set[str]:
        with self._lock:
            return set(self._running)

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
            try:
                self._run_attempt(job)
            except Exception as exc:
                if is_store_failure(exc):
                    raise  # the job stays as last stored, and runs again once the store works
                log.exception("job %s crashed", job.id)
                self._finish(job, JobState.FAILED, f"internal error: {type(exc).__name__}")
        except Exception as exc:
            if not is_store_failure(exc):
                raise
            self.health.failed(exc)
        finally:
            self.space.release(job.id)
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
        except SourceRefused as exc:  # from any action's file list: it will never do
            if job.state is not JobState.STARTED:
                job.attempt += 1  # refused while listing, before the attempt was counted
            self._failed_attempt(job, Decision.GIVE_UP, str(exc))
        except Interrupted:
            self._requeue_after_stop(job)
        else:
            self._finish(job, ending.state, ending.reason, **ending.extra)

    def _copy_files(self, job: Job, mapping: Mapping) -> Ending:
        """Collect the files, reserve the space, copy, verify. Nothing to copy: no rsync."""
        files = self._collect(job, mapping)
        if not self.settings.dry_run:
            if already_there(files):
                job.bytes = 0
                return Ending(JobState.SKIPPED, nothing_copied(files), {})
            self.space.reserve(job.id, mapping.dest, files.bytes)
        for entry in files.entries:  # again, as the copy starts: a path may be a link now
            check_inside(mapping.source, "" if entry == "." else entry)
        self.begin_attempt(job)
        command = build_command(self.settings.rsync_path, mapping.source, mapping.dest,
                                dry_run=self.settings.dry_run,
                                extra_args=self.settings.rsync_extra_args)
        try:
            result = self.run_rsync(job, command, files.entries)
        except DestinationFull as exc:  # ours to clean up: the next job that fits may go
            freed = remove_partials(files)
            raise DestinationNotReady(f"{exc}; removed this job's partial files "
                                      f"({human_size(freed)})") from None
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
            result = run.run(self.reporter.throttled_progress(job))
        except FileNotFoundError:
            raise AttemptFailed(Decision.GIVE_UP,
                                f"rsync is not installed ({self.settings.rsync_path})") from None
        job.duration_s = round(time.monotonic() - started, 3)
        if result.exit_code == 0:
            return result
        with self._lock:
            if self._stopping:
                raise Interrupted
        detail = rsync_error_line(result.stderr)
        if NO_SPACE in result.stderr:
            raise DestinationFull(f"the destination filled up during the copy ({detail})")
        outcome = rsync_outcome(result.exit_code)
        reason = f"{outcome.reason} (rsync exit {result.exit_code}"
        raise AttemptFailed(outcome.decision, f"{reason}: {detail})" if detail else f"{reason})")
