"""A sync job as the syncer keeps it. Its states and the status it publishes are on the wire
(`arrsync.wire.job`: `JobState`, `JobStatus`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from arrsync.wire.job import JobAction, JobState


@dataclass(frozen=True)
class Job:
    """One release, one mapping, one or more paths, one action (`JobAction`). Immutable:
    its lifecycle (`syncer.engine.lifecycle`) makes each next version.

    `paths` are what the job brings to the destination (copy, replace: the new files;
    rename: the new names) or, for recycle, what it removes from there.
    """

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
    action: JobAction = JobAction.COPY
    replaced: list[str] = field(default_factory=list)  # replace: old copies to recycle
    renames: list[tuple[str | None, str]] = field(default_factory=list)  # rename: (old, new)
    on_hold: bool = False       # held by the circuit breaker until a person releases it
    released: bool = False      # a person released it: the circuit breaker lets it pass
