"""Progress of a running copy: at most one report a second, and a coalesced run's progress
told as the progress of the job whose file rsync is sending."""

from __future__ import annotations

import time
from collections.abc import Callable

from syncer.copying.batch import Member, Owners
from syncer.copying.rsync import Progress
from syncer.jobs.job import Job

PROGRESS_INTERVAL_S = 1.0


class Throttle:
    """Lets one call through at most every `interval` seconds (by `clock`)."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._last = float("-inf")

    def ready(self) -> bool:
        now = self._clock()
        if now - self._last < self.interval:
            return False
        self._last = now
        return True


class ProgressSplit:
    """Turns the run's progress into one job's: the job whose file rsync is sending now."""

    def __init__(self, members: list[Member], report: Callable[[Job, Progress], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._owners = Owners(members)
        self._sizes = {rel: copy.size for one in members
                       for rel, copy in zip(one.relatives, one.files.copies, strict=True)}
        self._single = members[0] if len(members) == 1 else None
        self._done: dict[str, int] = {}  # job id → bytes of its files sent before the current
        self._current: tuple[Member, int, int] | None = None  # member, file size, run bytes
        self._run_bytes = 0
        self._report = report
        self._throttle = Throttle(PROGRESS_INTERVAL_S, clock)

    def name(self, name: str) -> None:
        """rsync is about to send `name` (or made a folder): the file before it is sent."""
        if name not in self._sizes:
            return
        if self._current:
            previous, size, _ = self._current
            self._done[previous.job.id] = self._done.get(previous.job.id, 0) + size
        owners = self._owners.of(name)
        self._current = (owners[0], self._sizes[name], self._run_bytes) if owners else None

    def progress(self, progress: Progress) -> None:
        self._run_bytes = progress.bytes
        if not (self._single or self._current) or not self._throttle.ready():
            return
        if self._single:
            self._report(self._single.job, progress)
            return
        assert self._current is not None
        one, size, began = self._current
        done = self._done.get(one.job.id, 0) + min(max(progress.bytes - began, 0), size)
        left = max(one.bytes - done, 0)
        self._report(one.job, Progress(
            bytes=done, percent=min(100, done * 100 // one.bytes) if one.bytes else 100,
            bytes_per_s=progress.bytes_per_s,
            eta_s=left // progress.bytes_per_s if progress.bytes_per_s else 0))
