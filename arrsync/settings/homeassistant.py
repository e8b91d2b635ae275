"""`homeassistant:` MQTT discovery, so an `arrsync` device appears in Home Assistant by itself."""

from __future__ import annotations

from pydantic import Field, field_validator

from arrsync.settings.base import Section, plain_topic


class HomeAssistantSettings(Section):
    discovery: bool = Field(
        True, description="Announce an arrsync device to Home Assistant (MQTT discovery)."
    )
    prefix: str = Field(
        "homeassistant", description="Home Assistant's discovery prefix (its MQTT settings)."
    )

    _plain_topic = field_validator("prefix")(plain_topic)
