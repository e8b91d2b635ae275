"""Sync jobs: their states, and the job status message the syncer publishes (its owner)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, Field


class JobState(StrEnum):
    """Published verbatim as the last level of `arrsync/sync/<state>`."""

    QUEUED = "queued"        # accepted and stored; waits for a worker
    STARTED = "started"      # an rsync attempt began
    PROGRESS = "progress"    # a running copy's progress (QoS 0, at most once a second)
    RETRYING = "retrying"    # the attempt failed or the destination is not ready; waits
    SUCCEEDED = "succeeded"  # every file is at the destination, sizes verified
    FAILED = "failed"        # given up: refused path, fatal rsync error, attempts used up
    SKIPPED = "skipped"      # nothing to do: already synced, or merged into another job
    TEST = "test"            # an arr's Test button or the bridge's /test: checks the chain


ACTIVE = (JobState.QUEUED, JobState.STARTED, JobState.RETRYING)
FINISHED = (JobState.SUCCEEDED, JobState.FAILED, JobState.SKIPPED)


class JobStatus(BaseModel):
    """The job status JSON on `arrsync/sync/<state>`."""

    job: str = Field(description="Job id.")
    state: JobState = Field(description="The state this message announces.")
    trigger: str | None = Field(description="The event or request id that caused the job.")
    title: str | None = Field(description="Movie, episode, album or book, readable.")
    app: str | None = Field(description="radarr, sonarr, …, or 'manual' for requests.")
    instance: str | None = Field(None, description="The arr's instanceName.")
    download_id: str | None = Field(None, description="The arr's downloadId (groups a release).")
    mapping: str | None = Field(description="Name of the mapping used.")
    source: str | None = Field(description="Source path (file or folder) as this host sees it.")
    dest: str | None = Field(description="Destination path.")
    bytes: int = Field(0, description="Bytes of the job's files at the source.")
    files: int = Field(0, description="Number of files (media plus sidecars).")
    attempt: int = Field(0, description="Current attempt, from 1.")
    max_attempts: int = Field(description="Attempts before the job fails.")
    duration_s: float | None = Field(None, description="Seconds the last attempt took.")
    error: str | None = Field(None, description="Why it failed or waits, for a person.")
    held: bool = Field(
        False, description="retrying only: waits for the destination (attempts not spent)."
    )
    dry_run: bool = Field(False, description="True when nothing was written (syncer.dry_run).")
    would_copy: list[str] | None = Field(
        None, description="Dry runs: the names rsync would have copied."
    )
    at: str = Field(description="When this message was made, ISO 8601 UTC.")
    percent: int | None = Field(None, description="progress only: percent done.")
    bytes_per_s: int | None = Field(None, description="progress only: current speed.")
    eta_s: int | None = Field(None, description="progress only: seconds left.")


@dataclass
class Job:
    """A job as the store keeps it: one release, one mapping, one or more paths."""

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
