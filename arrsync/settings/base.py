"""What every settings section shares: unknown keys are errors; topic prefixes are plain."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def plain_topic(value: str) -> str:
    """A topic prefix: no slashes at its ends, not empty, no wildcards, no NUL."""
    value = value.strip("/")
    if not value or any(c in value for c in "+#\0"):
        raise ValueError("must be a non-empty topic without the wildcards + and #")
    return value
