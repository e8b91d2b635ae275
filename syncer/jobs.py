"""A sync job as the syncer keeps it. Its states and the status it publishes are on the wire
(`arrsync.wire.JobState`, `JobStatus`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from arrsync.wire import JobState


@dataclass
class Job:
    """One release, one mapping, one or more paths."""

    id: str
    trigger: str | None
    app: str | None
    instance: str | None
    title: str | None
    download_id: str | None
    mapping: str
    paths: list[str]            # relative to the mapping root; "" is the root itself
    state: JobState = JobState.QUEUED
    attempt: int = 0
    max_attempts: int = 5
    error: str | None = None
    bytes: int = 0
    files: int = 0
    duration_s: float | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    next_attempt_at: float = 0.0
    held: bool = False          # waiting on the destination guard, not on a retry
    series: str | None = None
    episodes: list[tuple[int, int]] = field(default_factory=list)  # (season, episode)
