"""The run queue in memory: which stored jobs wait, and what a free worker takes next.

The store is the durable truth; this is the workers' view of its waiting jobs, loaded at
start and kept current by every state change, so finding work never reads the database
and no two workers can take the same job. Jobs that touch the same item
(`syncer.jobs.items`) run one at a time, in the order they arrived: a job waits while an
earlier one of its item waits or runs. Not thread-safe: the engine's lock guards it.
"""

from __future__ import annotations

import logging
import threading

from arrsync.wire.job import JobAction, JobState
from syncer.jobs.items import Claims
from syncer.jobs.job import Job

log = logging.getLogger(__name__)

WAITING = (JobState.QUEUED, JobState.RETRYING)
GATE_WAIT_S = 60.0


class Gate:
    """Jobs handed to the workers while their 'queued' status is still being published: a
    worker may start the copy at once, but publishes nothing about them before it is out."""

    def __init__(self) -> None:
        self._opened = threading.Event()

    def open(self) -> None:
        self._opened.set()

    def wait(self) -> None:
        if not self._opened.wait(GATE_WAIT_S):
            log.warning("'queued' was not published within %.0f s; going on", GATE_WAIT_S)


def _order(job: Job) -> tuple[float, float]:
    return job.next_attempt_at, job.created_at


class Schedule:
    def __init__(self) -> None:
        self._waiting: dict[str, Job] = {}  # job id → the job, while queued or retrying
        self._taken: dict[str, Job] = {}    # job id → the job, while a worker has it

    def put(self, job: Job) -> None:
        """Record the job's new state: it waits (again) or it left the queue (a job the
        circuit breaker holds waits for a person, not for a worker)."""
        if job.state in WAITING and not job.on_hold:
            self._waiting[job.id] = job  # a job it knows keeps its place in the order
        else:
            self._waiting.pop(job.id, None)

    def take(self, now: float, limit: int) -> list[Job]:
        """The job due longest that no earlier job of its item holds up; if it is a copy,
        with every such due copy of its mapping, oldest first, at most `limit` (other
        actions run alone). Taken until `give_back`."""
        claims = Claims()
        for running in self._taken.values():
            claims.add(running)
        free: list[Job] = []
        for job in self._waiting.values():  # in the order the jobs arrived
            if job.id in self._taken:
                continue
            if not claims.blocks(job) and job.next_attempt_at <= now:
                free.append(job)
            claims.add(job)
        if not free:
            return []
        first = min(free, key=_order)
        batch = [first] if first.action is not JobAction.COPY else sorted(
            (job for job in free if job.mapping == first.mapping
             and job.action is JobAction.COPY), key=_order)[:limit]
        self._taken.update((job.id, job) for job in batch)
        return batch

    def refresh(self, jobs: list[Job]) -> None:
        """The stored state of jobs the schedule knows (new ones come from the intake)."""
        for job in jobs:
            if job.id in self._waiting or job.id in self._taken:
                self.put(job)

    def give_back(self, jobs: list[Job]) -> None:
        """The worker is done with these jobs (in whatever state they are now)."""
        for job in jobs:
            self._taken.pop(job.id, None)

    def next_due(self) -> float | None:
        """When the next job that no worker has is due, or None if none waits."""
        return min((job.next_attempt_at for job in self._waiting.values()
                    if job.id not in self._taken), default=None)

    def taken(self) -> int:
        return len(self._taken)

    def taken_ids(self) -> list[str]:
        return list(self._taken)

