"""The event envelope: what the bridge makes of an arr's webhook, and what the syncer reads.

It belongs to no process. Everything an arr-specific consumer would otherwise dig out of
arr JSON is normalised here (`kind`, `download_id`, `files`, `episodes`, what an upgrade
replaced, what a rename renamed, what a delete removed), so past the bridge nobody reads
arr keys.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, model_validator

from arrsync.wire.parse import parse_json

MAX_EVENT_TYPE = 100  # arr event types are short words; the type is also a topic level


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
