"""One message per release when several named syncers copy it (a second copy off-site).

Each named syncer announces `queued` for the jobs it takes; a release is told once every
job any syncer took has ended, and `window` seconds passed without news, so a syncer
that finishes first waits for the others. A syncer that never finishes (it went away) does
not hold the message for ever: after `max_wait_s` what has ended is told.
Statuses of an unnamed syncer never come here: one syncer, the messages it always had.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from arrsync.wire.job import JobState, JobStatus
from notifier.grouping import release_of

ENDED = (JobState.SUCCEEDED, JobState.FAILED, JobState.SKIPPED)
MAX_WAIT_S = 6 * 3600.0


@dataclass
class _Release:
    changed: float
    opened: float
    taken: set[tuple[str, str]] = field(default_factory=set)  # (syncer, job) not yet ended
    ended: dict[tuple[str, str], JobStatus] = field(default_factory=dict)


@dataclass
class FanOut:
    window: float
    max_wait_s: float = MAX_WAIT_S
    _releases: dict[str, _Release] = field(default_factory=dict)

    def add(self, status: JobStatus, now: float) -> None:
        """Take a named syncer's status of a job that queues, runs or ends."""
        key = (status.syncer or "", status.job)
        release = self._releases.setdefault(release_of(status), _Release(now, now))
        release.changed = now
        if status.state in ENDED:
            release.taken.discard(key)
            release.ended[key] = status
        elif key not in release.ended:
            release.taken.add(key)

    def due(self, now: float) -> list[list[JobStatus]]:
        """The ended statuses of each release that is complete (or waited too long)."""
        ready = [name for name, r in self._releases.items()
                 if (not r.taken and now >= r.changed + self.window)
                 or now >= r.opened + self.max_wait_s]
        groups = [list(self._releases.pop(name).ended.values()) for name in ready]
        return [group for group in groups if group]

    def flush(self) -> list[list[JobStatus]]:
        groups = [list(r.ended.values()) for r in self._releases.values() if r.ended]
        self._releases.clear()
        return groups

    def next_deadline(self) -> float | None:
        return min((r.opened + self.max_wait_s if r.taken else
                    min(r.opened + self.max_wait_s, r.changed + self.window)
                    for r in self._releases.values()), default=None)
