"""What a syncer maps, announced (retained) on `<base>/syncer[/<name>]/mappings`.

Several syncers on one broker each see every event. An import under none of a syncer's
mappings is not that syncer's failure when another online syncer maps it; each syncer reads
the others' announcements to know (`syncer.intake.peers`), and the status page lists them.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class MappedFolder(BaseModel):
    name: str = Field(description="The mapping's name.")
    arr_path: str = Field(description="The folder as the arr sees it.")
    source: str = Field(description="The same folder as that syncer's host sees it.")


class MappingsAnnouncement(BaseModel):
    syncer: str | None = Field(None, description="The syncer's name; null for an unnamed one.")
    mappings: list[MappedFolder] = Field(description="What it maps; an import under one of "
                                                     "these folders is that syncer's.")
    at: str = Field(description="When it was announced, ISO 8601 UTC.")
