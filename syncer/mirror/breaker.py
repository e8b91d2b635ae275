"""The circuit breaker: past `max_removals_per_hour` removals in the last hour, the rest
wait for a person.

It protects the second copy against an arr that lost its disk and reports everything as
deleted. A removal is one file or folder a delete event names (sidecars that go with it
are not counted); upgrades are not removals (their new copy takes the old one's place), and
copies are never held. What counts: the paths of recycle jobs that succeeded in the last
hour (the store, so a restart forgets nothing) plus those of recycle jobs running now.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from syncer.jobs.job import Job
from syncer.jobs.outcome import WaitsForPerson
from syncer.jobs.store import JobStore

WINDOW_S = 3600


class CircuitBreaker:
    def __init__(self, store: JobStore, limit: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.limit = limit
        self.clock = clock
        self._lock = threading.Lock()  # guards _running, _finished and _alerted_at only
        self._running: dict[str, int] = {}  # recycle job id → removals it is making now
        self._finished = 0  # attempts that ended: one that ends while admit reads the store
        self._alerted_at = float("-inf")  # when this process last announced a hold

    def admit(self, job: Job) -> None:
        """Let the job's removals through, or raise WaitsForPerson with the reason."""
        count, now = len(job.paths), self.clock()
        while True:  # a removal that ends while the store is read has left `_running` and
            with self._lock:  # may not be in `done` yet: then read the store again
                finished = self._finished
            done = self.store.removals_since(now - WINDOW_S)
            held_before = self.store.on_hold_count(since=now - WINDOW_S)
            with self._lock:
                if self._finished != finished:
                    continue
                running = sum(n for job_id, n in self._running.items() if job_id not in done)
                total = sum(done.values()) + running
                if job.released or total + count <= self.limit:
                    self._running[job.id] = count
                    return
                # Decided under the lock: two removals refused at once must not both alert.
                alert = held_before == 0 and now - self._alerted_at >= WINDOW_S
                if alert:
                    self._alerted_at = now
                break
        raise WaitsForPerson(
            f"circuit breaker: {total} removal(s) in the last hour, and max_removals_per_hour "
            f"is {self.limit}; this removal and later ones wait for a person. Check the arr, "
            "then release them: `arrsync-syncer jobs --held`, `arrsync-syncer retry JOB`",
            announce=alert)

    def finished(self, job_id: str) -> None:
        """The job's attempt ended (its removals, if any, are in the store now)."""
        with self._lock:
            self._running.pop(job_id, None)
            self._finished += 1
