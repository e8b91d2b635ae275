"""`bridge:` the webhook server."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from arrsync.settings.base import Section


class BridgeSettings(Section):
    host: str = Field("0.0.0.0", description="Address the webhook server listens on.")  # noqa: S104
    port: int = Field(
        5000, ge=0, le=65535, description="Port the webhook server listens on (0: any free port)."
    )
    username: str | None = Field(None, description="HTTP basic-auth user the arr sends.")
    password: SecretStr | None = Field(None, description="HTTP basic-auth password the arr sends.")
    allow_anonymous: bool = Field(
        False, description="Allow running without credentials on a non-loopback address."
    )
    spool_path: Path = Field(
        Path("./data/bridge-spool.db"),
        description="SQLite file where accepted webhooks wait until the broker acknowledges them.",
    )
    max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest webhook body accepted (413 above it)."
    )
    ack_wait: float = Field(
        0.1,
        ge=0,
        le=5,
        description="Seconds a webhook answer waits for the broker's acknowledgement before "
        "answering 'spooled' instead of 'published'.",
    )
    threads: int = Field(8, ge=1, le=64, description="HTTP worker threads.")

    @property
    def has_credentials(self) -> bool:
        return bool(self.username) or bool(self.password and self.password.get_secret_value())

    @property
    def is_loopback(self) -> bool:
        return self.host in {"127.0.0.1", "::1", "localhost"} or self.host.startswith("127.")
