"""When to notify: one message per release, failures at once, a repeating failure once."""

from __future__ import annotations

from dataclasses import dataclass, field

from arrsync.wire.job import JobState, JobStatus

GROUP_LIMIT = 10  # a group never waits longer than this many windows


@dataclass
class _Group:
    statuses: list[JobStatus]
    opened: float
    deadline: float


def release_of(status: JobStatus) -> str:
    """What a status belongs to for grouping: its release (download), else its trigger."""
    return status.download_id or status.trigger or status.job


@dataclass
class Batcher:
    """Gathers the jobs of one release (same download or trigger) for `window` seconds."""

    window: float
    _groups: dict[tuple[str, str], _Group] = field(default_factory=dict)

    def add(self, status: JobStatus, now: float) -> list[list[JobStatus]]:
        """Returns groups ready now: a failure or an alert is never held back."""
        if status.state in (JobState.FAILED, JobState.RETRYING) or self.window <= 0:
            return [[status]]
        key = (status.state.value, release_of(status))
        group = self._groups.get(key)
        if group is None:
            self._groups[key] = _Group([status], now, now + self.window)
        else:
            group.statuses.append(status)
            group.deadline = min(now + self.window, group.opened + GROUP_LIMIT * self.window)
        return []

    def due(self, now: float) -> list[list[JobStatus]]:
        ready = [key for key, group in self._groups.items() if group.deadline <= now]
        return [self._groups.pop(key).statuses for key in ready]

    def flush(self) -> list[list[JobStatus]]:
        groups = [group.statuses for group in self._groups.values()]
        self._groups.clear()
        return groups

    def next_deadline(self) -> float | None:
        return min((g.deadline for g in self._groups.values()), default=None)


MAPPING_WIDE = ""  # among the jobs of an open failure: the destination itself (held)


def where(status: JobStatus) -> str:
    """The mapping a failure is about, and whose it is where several syncers have one of
    that name ("Movies (offsite)")."""
    mapping = status.mapping or ""
    return f"{mapping} ({status.syncer})" if status.syncer else mapping


@dataclass
class RepeatFilter:
    """The same failure on the same mapping notifies once, and once more when it recovers:
    a mapping-wide problem (a job held for its destination) when the mapping syncs again, a
    job's own failure (a missing file) only when that job succeeds."""

    _open: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # mapping → reason →
    # the jobs that failed so (MAPPING_WIDE: the whole mapping)

    def first_time(self, status: JobStatus) -> bool:
        mapping, reason = where(status), status.error or ""
        reasons = self._open.setdefault(mapping, {})
        new = reason not in reasons
        reasons.setdefault(reason, set()).add(MAPPING_WIDE if status.held else status.job)
        return new

    def recovered(self, status: JobStatus) -> list[tuple[str, str]]:
        """Failures of this mapping that this success clears."""
        mapping = where(status)
        reasons = self._open.get(mapping, {})
        cleared = []
        for reason, jobs in list(reasons.items()):
            jobs.discard(status.job)
            if MAPPING_WIDE in jobs or not jobs:
                del reasons[reason]
                cleared.append((mapping, reason))
        return sorted(cleared)
