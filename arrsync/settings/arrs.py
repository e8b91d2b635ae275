"""`arrs:` the Radarr and Sonarr instances whose API arrsync reads, and `catch_up:` how often.

The bridge reads their history (catch-up), the syncer their inventory (`arrsync-syncer
audit`). The API key is a secret; an arr's name also names its audit topic.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, SecretStr, field_validator

from arrsync.settings.base import Section
from arrsync.topics import audit_level


class ArrInstance(Section):
    name: str = Field(description="A name people recognise, e.g. 'Radarr 4K'; names its audit "
                                  "topic.")
    app: Literal["radarr", "sonarr"] = Field(description="radarr or sonarr.")
    url: str = Field(description="Its address with the URL base if it has one, e.g. "
                                 "http://radarr4k:7878 or http://host/radarr.")
    api_key: SecretStr | None = Field(
        None, description="Secret: the arr's Settings > General > API Key."
    )

    @field_validator("name")
    @classmethod
    def _usable_as_topic_level(cls, value: str) -> str:
        value = value.strip()
        if not value or any(c in value for c in "/+#\0"):
            raise ValueError("must be a non-empty name without '/', '+' or '#'")
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")) or len(value.split("//", 1)[1]) == 0:
            raise ValueError("must start with http:// or https:// and name a host")
        return value

    def has_key(self) -> bool:
        return bool(self.api_key and self.api_key.get_secret_value())


def _names_do_not_collide(arrs: list[ArrInstance]) -> list[ArrInstance]:
    seen: set[str] = set()
    for arr in arrs:
        if audit_level(arr.name) in seen:
            raise ValueError(f"two arrs are named {arr.name!r} (names are compared in lower "
                             "case with spaces as '-')")
        seen.add(audit_level(arr.name))
    return arrs


ArrList = Annotated[list[ArrInstance], AfterValidator(_names_do_not_collide)]


class CatchUpSettings(Section):
    interval: int = Field(
        900, ge=0, description="Seconds between the bridge's reads of each arr's history "
                               "(0 turns catch-up off)."
    )
