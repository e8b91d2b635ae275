"""The audit's summary per arr, retained on `<base>/audit/<arr>`."""

from __future__ import annotations

from pydantic import BaseModel, Field


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
