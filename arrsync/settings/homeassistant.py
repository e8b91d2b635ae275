"""`homeassistant:` MQTT discovery, so an `arrsync` device appears in Home Assistant by itself."""

from __future__ import annotations

from pydantic import Field, field_validator

from arrsync.settings.base import Section


class HomeAssistantSettings(Section):
    discovery: bool = Field(
        True, description="Announce an arrsync device to Home Assistant (MQTT discovery)."
    )
    prefix: str = Field(
        "homeassistant", description="Home Assistant's discovery prefix (its MQTT settings)."
    )

    @field_validator("prefix")
    @classmethod
    def _plain_topic(cls, value: str) -> str:
        value = value.strip("/")
        if not value or any(c in value for c in "+#\0"):
            raise ValueError("must be a non-empty topic without the wildcards + and #")
        return value
