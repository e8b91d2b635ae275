"""`mqtt:` the broker every process connects to."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator

from arrsync.settings.base import Section, plain_topic


class TlsSettings(Section):
    ca_file: Path | None = Field(
        None, description="CA bundle that signed the broker's certificate (none: the "
        "system's CAs).")
    cert_file: Path | None = Field(
        None, description="Client certificate, where the broker asks for one.")
    key_file: Path | None = Field(None, description="The client certificate's key.")
    insecure: bool = Field(
        False, description="true: skip the host-name check of the broker's certificate (its "
        "CA is still checked); never the default.")

    @model_validator(mode="after")
    def _key_with_its_certificate(self) -> TlsSettings:
        if self.key_file and not self.cert_file:
            raise ValueError("key_file needs cert_file (the client certificate)")
        return self


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

    tls: TlsSettings | None = Field(
        None, description="TLS to the broker (port 8883 by convention); none: plain MQTT.")

    _plain_topic = field_validator("base_topic")(plain_topic)
