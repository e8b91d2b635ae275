"""Building the event envelope (`arrsync.wire.EventEnvelope`) from an arr's webhook.

The arr's body goes into `payload` as the exact text received, so a consumer that parses
the envelope gets the arr's JSON untouched (key order, number formatting and all). Every
envelope is read back with the syncer's own parser before it is spooled: what the bridge
accepts, the syncer can read.
"""

from __future__ import annotations

import uuid

from pydantic import ValidationError

from arrsync.wire.event import EventEnvelope, ImportedFile, RenamedFile, parse_envelope
from arrsync.wire.parse import WireError, describe
from arrsync.wire.timestamps import utc_now_iso
from bridge.webhooks.arr import ArrPayload


class UnreadableEnvelope(Exception):
    """The envelope would not be readable by the syncer; the message says why."""


def build_envelope_json(app: str, payload: ArrPayload, raw_body: str, *,
                        event_id: str | None = None, replayed: bool = False) -> tuple[str, str]:
    """The envelope as JSON text with `raw_body` embedded verbatim; returns (id, json).
    UnreadableEnvelope if the syncer could not read it.

    Catch-up passes `replayed` and an id of its own that stays the same for the same record.
    """
    try:
        head = EventEnvelope(
            id=event_id or uuid.uuid4().hex,
            app=app,
            instance=payload.instance_name,
            event=payload.event_type,
            kind=payload.kind,
            received_at=utc_now_iso(),
            title=payload.title(),
            series=payload.series_title(),
            episodes=payload.episode_numbers(),
            download_id=payload.download_id,
            is_upgrade=payload.is_upgrade,
            files=[ImportedFile(path=f.path, size=f.size) for f in payload.imported_files()],
            replaced_files=[ImportedFile(path=f.path, size=f.size)
                            for f in payload.replaced_files()],
            renamed_files=[RenamedFile(previous_path=f.previous_path, path=f.path)
                           for f in payload.renamed_files()],
            deleted_files=[ImportedFile(path=f.path, size=f.size)
                           for f in payload.removed_files()],
            deleted_folder=payload.deleted_folder(),
            delete_reason=payload.delete_reason,
            replayed=replayed,
            payload={},
        )
        text = head.model_dump_json(exclude={"payload"})
        envelope = f'{text[:-1]},"payload":{raw_body}}}'
        parse_envelope(envelope)  # exactly what the syncer will run
    except WireError as exc:
        raise UnreadableEnvelope(f"body {exc} once wrapped in the event envelope") from None
    except ValidationError as exc:
        raise UnreadableEnvelope(f"the event envelope would be invalid: {describe(exc)}") \
            from None
    return head.id, envelope
