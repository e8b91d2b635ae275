"""The engine: `workers` threads copy stored jobs, coalesced per mapping, retry and hold them.

A free worker takes every due copy job of one mapping from the in-memory schedule (the
moment the intake submits them or a retry falls due) and copies them with one rsync
(`syncer.copying.batch`, `runs`). Rename, recycle and replace jobs are taken one at a time
and run through `syncer.mirror`, each in a `MirrorAttempt`. Every attempt ends in one
`Result` (`syncer.jobs.outcome`) that the job's lifecycle turns into its next state
(`syncer.engine.lifecycle`); nothing else changes a job. While the job store cannot be
written nothing starts (`syncer.jobs.health`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial

from arrsync.settings import Mapping, SyncerSettings
from arrsync.wire.alert import Problem
from arrsync.wire.job import JobAction, JobState
from syncer.copying import batch
from syncer.copying.batch import Member
from syncer.copying.guard import DestinationGuard
from syncer.copying.progress import ProgressSplit
from syncer.copying.rsync import Progress, build_command, death_signal_prefix, resolve
from syncer.copying.runs import RsyncRunner
from syncer.copying.space import SpaceLedger
from syncer.engine.attempt import MirrorAttempt
from syncer.engine.lifecycle import Lifecycle
from syncer.jobs.health import RETRY_S, StoreHealth, is_store_failure
from syncer.jobs.job import Job
from syncer.jobs.outcome import (
    AttemptFailed,
    Decision,
    DestinationNotReady,
    Failed,
    Result,
    result_of,
)
from syncer.jobs.schedule import Gate, Schedule
from syncer.jobs.store import JobStore
from syncer.mirror.actions import MirrorActions
from syncer.report.status import StatusReporter

log = logging.getLogger(__name__)

IDLE_WAIT_S = 5.0


class Engine:
    def __init__(self, settings: SyncerSettings, store: JobStore, reporter: StatusReporter,
                 health: StoreHealth, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.store = store
        self.reporter = reporter
        self.health = health
        self.clock = clock
        self.guard = DestinationGuard()
        self.space = SpaceLedger(settings.free_space_margin)
        self.mappings: dict[str, Mapping] = {m.name: m for m in settings.mappings}
        self.mirror = MirrorActions(settings, store, self.space, clock)
        self.lifecycle = Lifecycle(settings, store, reporter, self.submit,
                                   self._wait_for_announcement, clock)
        self.rsync = resolve(settings.rsync_path)  # once, not at every spawn
        death_signal_prefix()  # checked (and warned about) now, not at the first copy
        self.commands = {m.name: build_command(
            self.rsync, m.source, m.dest, dry_run=settings.dry_run,
            io_timeout=settings.stall_timeout,
            extra_args=[*settings.rsync_extra_args, *m.rsync_extra_args])
            for m in settings.mappings}
        self.runner = RsyncRunner(list(self.commands.values()), settings,
                                  on_stall=partial(reporter.alert, Problem.STALL))
        # Guards schedule, _gates and _stopping: no store, file system or MQTT under it.
        self._lock = threading.Condition()
        self.schedule = Schedule()
        self._gates: dict[str, Gate] = {}  # job id → its gate, while a worker may have it
        self._stopping = False
        self._workers = [threading.Thread(target=self._work, name=f"worker-{n}", daemon=True)
                         for n in range(settings.workers)]

    # -- control -----------------------------------------------------------------------------
    def start(self) -> None:
        self.lifecycle.recover()
        self.submit(self.store.active())
        for worker in self._workers:
            worker.start()

    def submit(self, jobs: list[Job], gate: Gate | None = None) -> None:
        """Hand stored jobs to the workers: a free one takes them at once. Behind a `gate`,
        nothing about them is published before it opens (see `Gate`)."""
        with self._lock:
            for job in jobs:
                self.schedule.put(job)
                if gate:
                    self._gates[job.id] = gate
            self._lock.notify_all()

    def running_count(self) -> int:
        with self._lock:
            return self.schedule.taken()

    def retry(self, job_id: str) -> Job | None:
        """Run a failed job again with fresh attempts, or release one the circuit breaker
        holds; None if there is no such job."""
        job = self.store.get(job_id)
        if job is None or job.mapping not in self.mappings or not (
                job.state is JobState.FAILED or job.on_hold):
            return None
        return self.lifecycle.release(job) if job.on_hold else self.lifecycle.retry(job)

    def dismiss(self, job_id: str) -> Job | None:
        """A person decided a removal the circuit breaker holds must not happen."""
        job = self.store.get(job_id)
        if job is None or not job.on_hold:
            return None
        return self.lifecycle.dismiss(job)

    def stop(self, grace: float) -> None:
        """Take no new jobs; let running copies finish for `grace` s, then interrupt them."""
        deadline = time.monotonic() + grace
        self.runner.stop_taking()
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
            while self.schedule.taken() and time.monotonic() < deadline:
                self._lock.wait(deadline - time.monotonic())
        self.runner.interrupt()
        for worker in self._workers:
            if worker.is_alive():
                worker.join()
        self.runner.standbys.close()

    # -- the workers -------------------------------------------------------------------------
    def _work(self) -> None:
        self.runner.standbys.prepare_all()
        while (jobs := self._next_jobs()) is not None:
            if not jobs:  # a while without work: keep the standbys fresh
                self.runner.standbys.prepare_all()
                continue
            try:
                self._run(jobs)
            except Exception as exc:
                self._crashed(jobs, exc)
            finally:
                for job in jobs:
                    self.space.release(job.id)
                with self._lock:
                    self.schedule.give_back(jobs)
                    for job in jobs:
                        self._gates.pop(job.id, None)
                    self._lock.notify_all()
        # rsync's death signal follows the thread that spawned it, and another worker's
        # copy may run in a standby this one spawned: stay until every copy has ended.
        with self._lock:
            while self.schedule.taken():
                self._lock.wait()

    def _next_jobs(self) -> list[Job] | None:
        """Due jobs to run together; [] after waiting a while for some; None to stop.
        Nothing is taken while the store cannot be written (`_recovered` tries it)."""
        if self.health.failing and not self._recovered():
            with self._lock:
                self._lock.wait(RETRY_S)
                return None if self._stopping else []
        with self._lock:
            if not self._stopping:
                jobs = self.schedule.take(self.clock(), self.settings.batch_max_files)
                if jobs:
                    return jobs
                self._lock.wait(self._idle_wait())
            if self._stopping:
                return None
            return self.schedule.take(self.clock(), self.settings.batch_max_files)

    def _recovered(self) -> bool:
        """Try the store; once it works, what it holds is the schedule again."""
        with self._lock:
            running = set(self.schedule.taken_ids())
        try:
            self.store.probe()
            self.lifecycle.recover(keep=running)
            active = self.store.active()
            with self._lock:
                self.schedule.refresh(active)
                self._lock.notify_all()
        except Exception as exc:
            if not is_store_failure(exc):
                raise
            self.health.failed(exc)
            return False
        self.health.worked()
        return True

    def _idle_wait(self) -> float:
        next_due = self.schedule.next_due()
        if next_due is None:
            return IDLE_WAIT_S
        return min(IDLE_WAIT_S, max(0.01, next_due - self.clock()))

    def _run(self, jobs: list[Job]) -> None:
        """Run the jobs a worker took (copies of one mapping, or one other action): this is
        where a job's action chooses how it runs."""
        mapping = self.mappings.get(jobs[0].mapping)
        if mapping is None:
            self.lifecycle.finish([(job, Failed(Decision.GIVE_UP, (
                f"mapping {job.mapping!r} is no longer configured"))) for job in jobs])
            return
        try:
            self.guard.check(mapping)
        except DestinationNotReady as exc:
            self.lifecycle.finish(batch.hold_all(jobs, exc))
            return
        if jobs[0].action is not JobAction.COPY:
            self._run_action(jobs[0], mapping)
            return
        members, results = batch.plan_run(jobs, mapping, self.settings, self.space)
        if left := batch.past_bounds(jobs, members, results):  # to another worker, now
            jobs[:] = [job for job in jobs if job not in left]  # in place: what this run has
            with self._lock:
                self.schedule.give_back(left)
                self._lock.notify_all()
        if members:
            results += self._copy(mapping, members)
        self.lifecycle.finish(results)

    def _copy(self, mapping: Mapping, members: list[Member]) -> list[tuple[Job, Result]]:
        split = ProgressSplit(members, self._report_progress)
        began = time.monotonic()
        try:
            result = self.runner.copy(self.commands[mapping.name], batch.entries(members),
                                      lambda: self._started(members), split.progress,
                                      split.name)
        except AttemptFailed as exc:  # rsync is not installed
            return [(one.job, Failed(exc.decision, exc.reason)) for one in members]
        duration = round(time.monotonic() - began, 3)
        for one in members:
            one.job = replace(one.job, duration_s=duration)
        return batch.judge(members, result, mapping, dry_run=self.settings.dry_run,
                           stopping=self.runner.stopping)

    def _run_action(self, job: Job, mapping: Mapping) -> None:
        """A rename, recycle or replace, alone, as `syncer.mirror` runs it."""
        attempt = MirrorAttempt(job, mapping, self.lifecycle, self.runner, self.reporter,
                                dry_run=self.settings.dry_run)
        try:
            try:
                result: Result = self.mirror.run(attempt, mapping)
            except Exception as exc:
                known = result_of(exc)
                if known is None:
                    raise
                result = known
            ran = replace(attempt.job, duration_s=attempt.duration_s or attempt.job.duration_s)
            self.lifecycle.finish([(ran, result)])
        finally:
            self.mirror.finished(job.id)

    # -- reports -----------------------------------------------------------------------------
    def _started(self, members: list[Member]) -> None:
        """'started' once rsync runs (so the spawn never waits for a commit or a publish)."""
        try:
            begun = self.lifecycle.begin([one.job for one in members])
        except Exception as exc:  # the copy goes on; its end is recorded all the same
            if is_store_failure(exc):
                self.health.failed(exc)
            else:
                log.exception("could not record the start of %d job(s)", len(members))
            return
        for one, job in zip(members, begun, strict=True):
            one.job = job

    def _wait_for_announcement(self, jobs: list[Job]) -> None:
        """Publish nothing about a job before the intake's 'queued' is out (see `Gate`)."""
        with self._lock:
            gates = {gate for job in jobs if (gate := self._gates.get(job.id))}
        for gate in gates:
            gate.wait()

    def _report_progress(self, job: Job, progress: Progress) -> None:
        self.reporter.job(job, JobState.PROGRESS, percent=progress.percent,
                          bytes_per_s=progress.bytes_per_s, eta_s=progress.eta_s)

    def _crashed(self, jobs: list[Job], exc: Exception) -> None:
        """A store that failed leaves the jobs as last stored (they run again once it
        works); any other error fails them."""
        if is_store_failure(exc):
            self.health.failed(exc)
            return
        log.exception("a run of %d job(s) crashed", len(jobs), exc_info=exc)
        try:
            self.lifecycle.finish([(job, Failed(Decision.GIVE_UP, (
                f"internal error: {type(exc).__name__}"))) for job in jobs])
        except Exception as again:
            if is_store_failure(again):
                self.health.failed(again)
            else:
                log.exception("could not record the failure of %d job(s)", len(jobs))
