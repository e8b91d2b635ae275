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


@dataclass
class Batcher:
    """Gathers the jobs of one release (same download or trigger) for `window` seconds."""

    window: float
    _groups: dict[tuple[str, str], _Group] = field(default_factory=dict)

    def add(self, status: JobStatus, now: float) -> list[list[JobStatus]]:
        """Returns groups ready now: a failure or an alert is never held back."""
        if status.state in (JobState.FAILED, JobState.RETRYING) or self.window <= 0:
            return [[status]]
        key = (status.state.value, status.download_id or status.trigger or status.job)
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


@dataclass
class RepeatFilter:
    """The same failure on the same mapping notifies once, and once more when it recovers."""

    _open: dict[str, set[str]] = field(default_factory=dict)

    def first_time(self, status: JobStatus) -> bool:
        mapping, reason = status.mapping or "", status.error or ""
        seen = self._open.setdefault(mapping, set())
        if reason in seen:
            return False
        seen.add(reason)
        return True

    def recovered(self, status: JobStatus) -> list[tuple[str, str]]:
        """Failures of this mapping that a success has now cleared."""
        mapping = status.mapping or ""
        return [(mapping, reason) for reason in sorted(self._open.pop(mapping, set()))]
