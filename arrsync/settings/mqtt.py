"""`mqtt:` the broker every process connects to."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from arrsync.settings.base import Section, plain_topic


class MqttSettings(Section):
    host: str = Field("localhost", description="Host name or address of the MQTT broker.")
    port: int = Field(1883, ge=1, le=65535, description="TCP port of the MQTT broker.")
    username: str | None = Field(None, description="MQTT user name; omit for anonymous access.")
    password: SecretStr | None = Field(None, description="MQTT password.")
    base_topic: str = Field("arrsync", description="Every arrsync topic starts with this prefix.")
    keepalive: int = Field(30, ge=5, le=3600, description="MQTT keepalive in seconds.")
    max_packet_bytes: int = Field(
        2 * 1024 * 1024, ge=64 * 1024, le=256 * 1024 * 1024,
        description="Largest MQTT packet the broker accepts (its max_packet_size; 2 MiB in "
        "mosquitto/mosquitto.conf). Nothing larger is sent: the broker would drop the "
        "connection. Keep it equal to or below the broker's limit.",
    )

    _plain_topic = field_validator("base_topic")(plain_topic)
