"""The event envelope: the one message the bridge publishes on `arrsync/events/<app>/<event>`.

The arr's body goes into `payload` as the exact text received, so a consumer that parses
the envelope gets the arr's JSON untouched (key order, number formatting and all).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from bridge.arr import ArrPayload


class ImportedFile(BaseModel):
    path: str = Field(description="The file's path as the arr sees it.")
    size: int | None = Field(None, description="Size in bytes, as the arr reported it.")


class EventEnvelope(BaseModel):
    id: str = Field(description="Unique event id; the same when a spooled event is re-sent.")
    app: str = Field(description="radarr, sonarr, lidarr, readarr or whisparr.")
    instance: str | None = Field(description="The arr's instanceName, e.g. 'Radarr 4K'.")
    event: str = Field(description="The arr's eventType, e.g. 'Download'.")
    received_at: str = Field(description="When the bridge accepted it, ISO 8601 UTC.")
    title: str | None = Field(None, description="Movie, episode, album or book, readable.")
    is_upgrade: bool | None = Field(None, description="True when the import replaced a file.")
    files: list[ImportedFile] = Field(
        default_factory=list, description="Files the import put in the library."
    )
    payload: dict[str, Any] = Field(description="The arr's JSON exactly as received.")


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_envelope_json(app: str, payload: ArrPayload, raw_body: str) -> tuple[str, str]:
    """The envelope as JSON text with `raw_body` embedded verbatim; returns (id, json)."""
    head = EventEnvelope(
        id=uuid.uuid4().hex,
        app=app,
        instance=payload.instance_name,
        event=payload.event_type,
        received_at=utc_now_iso(),
        title=payload.title(),
        is_upgrade=payload.is_upgrade,
        files=[ImportedFile(path=f.path, size=f.size) for f in payload.imported_files()],
        payload={},
    )
    text = head.model_dump_json(exclude={"payload"})
    return head.id, f'{text[:-1]},"payload":{raw_body}}}'


def parse_envelope(text: str | bytes) -> EventEnvelope:
    return EventEnvelope.model_validate_json(text)
