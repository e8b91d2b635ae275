"""The wire: the messages that pass between the processes, one pydantic model each.

They belong to no process. The bridge builds an `EventEnvelope` from an arr's webhook, the
syncer reads it; the syncer publishes a `JobStatus`, the notifier and dashboards read it.
Everything an arr-specific consumer would otherwise dig out of arr JSON is normalised here
(`kind`, `download_id`, `files`, `episodes`), so past the bridge nobody reads arr keys.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, model_validator


def utc_now_iso() -> str:
    """Now as ISO 8601 UTC with milliseconds, the one time format on the wire."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EventKind(StrEnum):
    """What an event means for the syncer, decided once at the edge (the bridge)."""

    IMPORT = "import"  # files were put in the library: copy them
    TEST = "test"      # an arr's Test button or the bridge's /test: checks the chain
    OTHER = "other"    # anything else (grabs, health, ...): for other consumers only


class Episode(BaseModel):
    season: int = Field(description="Season number.")
    episode: int = Field(description="Episode number within the season.")


class ImportedFile(BaseModel):
    path: str = Field(description="The file's path as the arr sees it.")
    size: int | None = Field(None, description="Size in bytes, as the arr reported it.")


class EventEnvelope(BaseModel):
    """Published by the bridge on `<base>/events/<app>/<eventType>`."""

    id: str = Field(description="Unique event id; the same when a spooled event is re-sent.")
    app: str = Field(description="radarr, sonarr, lidarr, readarr or whisparr.")
    instance: str | None = Field(description="The arr's instanceName, e.g. 'Radarr 4K'.")
    event: str = Field(description="The arr's eventType, e.g. 'Download'.")
    kind: EventKind = Field(EventKind.OTHER, description="import, test or other.")
    received_at: str = Field(description="When the bridge accepted it, ISO 8601 UTC.")
    title: str | None = Field(None, description="Movie, episode, album or book, readable.")
    series: str | None = Field(None, description="For episodes: the series title.")
    episodes: list[Episode] = Field(
        default_factory=list, description="For episodes: season and episode numbers."
    )
    download_id: str | None = Field(
        None, description="The arr's downloadId: the jobs of one release share it."
    )
    is_upgrade: bool | None = Field(None, description="True when the import replaced a file.")
    files: list[ImportedFile] = Field(
        default_factory=list, description="Files the import put in the library."
    )
    payload: dict[str, Any] = Field(description="The arr's JSON exactly as received.")

    @model_validator(mode="before")
    @classmethod
    def _kind_of_older_envelopes(cls, data: Any) -> Any:
        """Envelopes spooled by a bridge older than `kind` still sync after an upgrade."""
        if isinstance(data, dict) and "kind" not in data:
            legacy = {"Download": EventKind.IMPORT, "Test": EventKind.TEST}
            return {**data, "kind": legacy.get(str(data.get("event")), EventKind.OTHER)}
        return data


def parse_envelope(text: str | bytes) -> EventEnvelope:
    return EventEnvelope.model_validate_json(text)


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


ACTIVE = (JobState.QUEUED, JobState.STARTED, JobState.RETRYING)
FINISHED = (JobState.SUCCEEDED, JobState.FAILED, JobState.SKIPPED)


class JobStatus(BaseModel):
    """Published by the syncer on `<base>/sync/<state>`."""

    job: str = Field(description="Job id.")
    state: JobState = Field(description="The state this message announces.")
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
