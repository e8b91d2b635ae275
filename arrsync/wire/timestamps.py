"""The one time format on the wire: ISO 8601 UTC with milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_utc(timestamp: float) -> str:
    """A moment as ISO 8601 UTC with milliseconds, the one time format on the wire."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now_iso() -> str:
    """Now in the wire's time format."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
