"""The wire: the messages that pass between the processes, one pydantic model each.

They belong to no process. The bridge builds an `EventEnvelope` from an arr's webhook, the
syncer reads it; the syncer publishes a `JobStatus`, the notifier and dashboards read it.
Everything an arr-specific consumer would otherwise dig out of arr JSON is normalised here
(`kind`, `download_id`, `files`, `episodes`, what an upgrade replaced, what a rename
renamed, what a delete removed), so past the bridge nobody reads arr keys.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, model_validator

from arrsync.wirejson import parse_json

MAX_EVENT_TYPE = 100  # arr event types are short words; the type is also a topic level


def iso_utc(timestamp: float) -> str:
    """A moment as ISO 8601 UTC with milliseconds, the one time format on the wire."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now_iso() -> str:
    """Now in the wire's time format."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EventKind(StrEnum):
    """What an event means for the syncer, decided once at the edge (the bridge)."""

    IMPORT = "import"                # files were put in the library: copy them
    RENAME = "rename"                # files were renamed: `renamed_files`
    FILE_DELETE = "file_delete"      # a file was deleted: `deleted_files`, `delete_reason`
    FOLDER_DELETE = "folder_delete"  # a movie or series was deleted with its folder
    TEST = "test"                    # an arr's Test button or the bridge's /test
    OTHER = "other"                  # anything else (grabs, health, ...): other consumers only


class Episode(BaseModel):
    season: int = Field(description="Season number.")
    episode: int = Field(description="Episode number within the season.")


class ImportedFile(BaseModel):
    path: str = Field(description="The file's path as the arr sees it.")
    size: int | None = Field(None, description="Size in bytes, as the arr reported it.")


class RenamedFile(BaseModel):
    previous_path: str = Field(description="The file's path before the rename, as the arr saw it.")
    path: str = Field(description="Its path after the rename.")


class EventEnvelope(BaseModel):
    """Published by the bridge on `<base>/events/<app>/<eventType>`."""

    id: str = Field(description="Unique event id; the same when a spooled event is re-sent.")
    app: str = Field(description="radarr, sonarr, lidarr, readarr or whisparr.")
    instance: str | None = Field(description="The arr's instanceName, e.g. 'Radarr 4K'.")
    event: str = Field(max_length=MAX_EVENT_TYPE,
                       description="The arr's eventType, e.g. 'Download'.")
    kind: EventKind = Field(EventKind.OTHER, description="What the event means for the syncer.")
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
    replaced_files: list[ImportedFile] = Field(
        default_factory=list, description="Imports: the files an upgrade replaced (deleted)."
    )
    renamed_files: list[RenamedFile] = Field(
        default_factory=list, description="rename: each file's path before and after."
    )
    deleted_files: list[ImportedFile] = Field(
        default_factory=list, description="file_delete: the files the arr deleted."
    )
    deleted_folder: str | None = Field(
        None, description="folder_delete: the movie or series folder deleted with its files."
    )
    delete_reason: str | None = Field(
        None, description="file_delete: the arr's deleteReason (manual, upgrade, ...)."
    )
    replayed: bool = Field(
        False, description="True when no webhook came: catch-up found the import in the arr's "
                           "history, and payload is that history record."
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
    """The envelope from wire text: WireError if it is not wire JSON, ValidationError if it
    does not fit the model. The bridge checks each envelope with this before spooling it."""
    return EventEnvelope.model_validate(parse_json(text))


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
    at: str = Field(description="When this message was made, ISO 8601 UTC.")
    percent: int | None = Field(None, description="progress only: percent done.")
    bytes_per_s: int | None = Field(None, description="progress only: current speed.")
    eta_s: int | None = Field(None, description="progress only: seconds left.")


class AuditSummary(BaseModel):
    """Published retained by the syncer on `<base>/audit/<arr>` after each audit of an arr."""

    arr: str = Field(description="The arr's name as configured in arrs[].name.")
    app: str = Field(description="radarr or sonarr.")
    files: int | None = Field(description="Files the arr lists (null: it could not be read).")
    present: int | None = Field(description="Files at their destination with the arr's size.")
    missing: int | None = Field(description="Files not at their destination.")
    different_size: int | None = Field(
        description="Files at their destination with another size than the arr's."
    )
    unmapped: int | None = Field(description="Files under no mapping (not mirrored).")
    queued: int = Field(0, description="Syncs requested by --fix: missing files, and "
                                       "different-size copies to replace.")
    error: str | None = Field(None, description="Why the arr could not be read, or null.")
    at: str = Field(description="When the audit finished, ISO 8601 UTC.")
