"""A job's status: what the syncer publishes on `<base>/sync/<state>` for every change."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from arrsync.wire.event import Episode


class JobState(StrEnum):
    """Published verbatim as the last level of `<base>/sync/<state>`."""

    QUEUED = "queued"        # accepted and stored; waits for a worker
    STARTED = "started"      # an rsync attempt began
    PROGRESS = "progress"    # a running copy's progress (QoS 0, at most once a second)
    RETRYING = "retrying"    # the attempt failed or the destination is not ready; waits
    SUCCEEDED = "succeeded"  # every file is at the destination, sizes verified
    FAILED = "failed"        # given up: refused path, fatal rsync error, attempts used up
    SKIPPED = "skipped"      # nothing to do: already synced, or merged into another job
    TEST = "test"            # an arr's Test button or the bridge's /test: checks the chain


class JobAction(StrEnum):
    """What a job does at the destination."""

    COPY = "copy"        # copy files from the source (rsync)
    REPLACE = "replace"  # copy an upgrade, then move the files it replaced to the recycle bin
    RENAME = "rename"    # rename the destination copies as the arr renamed the source
    RECYCLE = "recycle"  # move destination copies of deleted files to the recycle bin


class Move(BaseModel):
    from_path: str = Field(description="Where the file or folder was.")
    to_path: str = Field(description="Where it is now (a new name, or the recycle bin).")


ACTIVE = (JobState.QUEUED, JobState.STARTED, JobState.RETRYING)
FINISHED = (JobState.SUCCEEDED, JobState.FAILED, JobState.SKIPPED)


class JobStatus(BaseModel):
    """Published by the syncer on `<base>/sync/<state>`."""

    job: str = Field(description="Job id.")
    state: JobState = Field(description="The state this message announces.")
    action: JobAction = Field(JobAction.COPY, description="copy, replace, rename or recycle.")
    trigger: str | None = Field(description="The event or request id that caused the job.")
    title: str | None = Field(description="Movie, episode, album or book, readable.")
    app: str | None = Field(description="radarr, sonarr, …, or 'manual' for requests.")
    instance: str | None = Field(None, description="The arr's instanceName.")
    download_id: str | None = Field(None, description="The arr's downloadId (groups a release).")
    series: str | None = Field(None, description="For episodes: the series title.")
    episodes: list[Episode] = Field(
        default_factory=list, description="For episodes: season and episode numbers."
    )
    mapping: str | None = Field(description="Name of the mapping used.")
    source: str | None = Field(description="Source path (file or folder) as this host sees it.")
    dest: str | None = Field(description="Destination path.")
    bytes: int = Field(0, description="Bytes copied (0 when the destination had them).")
    files: int = Field(0, description="Number of files (media plus sidecars).")
    attempt: int = Field(0, description="Current attempt, from 1.")
    max_attempts: int = Field(description="Attempts before the job fails.")
    duration_s: float | None = Field(None, description="Seconds the last attempt took.")
    error: str | None = Field(None, description="Why it failed or waits, for a person.")
    held: bool = Field(
        False, description="retrying only: waits for the destination (attempts not spent)."
    )
    on_hold: bool = Field(
        False, description="retrying only: a removal held by the circuit breaker until a "
        "person releases it (arrsync-syncer retry JOB)."
    )
    moved: list[Move] | None = Field(
        None, description="rename, replace, recycle: what was moved (or would be, dry run)."
    )
    dry_run: bool = Field(False, description="True when nothing was written (syncer.dry_run).")
    would_copy: list[str] | None = Field(
        None, description="Dry runs: the names rsync would have copied."
    )
    syncer: str | None = Field(None, description="The name of the syncer that runs the job, "
                               "where several share one broker (`syncer.name`); else null.")
    at: str = Field(description="When this message was made, ISO 8601 UTC.")
    percent: int | None = Field(None, description="progress only: percent done.")
    bytes_per_s: int | None = Field(None, description="progress only: current speed.")
    eta_s: int | None = Field(None, description="progress only: seconds left.")
