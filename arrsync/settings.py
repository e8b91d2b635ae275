"""The schema of the one YAML file every arrsync process reads: one model per section.

Unknown keys are errors, every field has a description (the docs are checked against
them), secrets are `SecretStr`. Reading the file is `arrsync.config.load_settings`.
"""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from arrsync.units import is_within


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MqttSettings(_Section):
    host: str = Field("localhost", description="Host name or address of the MQTT broker.")
    port: int = Field(1883, ge=1, le=65535, description="TCP port of the MQTT broker.")
    username: str | None = Field(None, description="MQTT user name; omit for anonymous access.")
    password: SecretStr | None = Field(None, description="MQTT password.")
    base_topic: str = Field("arrsync", description="Every arrsync topic starts with this prefix.")
    keepalive: int = Field(30, ge=5, le=3600, description="MQTT keepalive in seconds.")

    @field_validator("base_topic")
    @classmethod
    def _plain_topic(cls, value: str) -> str:
        value = value.strip("/")
        if not value or any(c in value for c in "+#\0"):
            raise ValueError("must be a non-empty topic without the wildcards + and #")
        return value


class BridgeSettings(_Section):
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


class Mapping(_Section):
    name: str = Field(description="A name people recognise, used in status messages.")
    arr_path: str = Field(description="The folder as the arr sees it (its container path).")
    source: str = Field(description="The same folder as this host sees it.")
    dest: str = Field(description="Where files are copied to.")
    require_mount: bool = Field(
        False, description="The destination root must be a mount point, or jobs wait."
    )
    anchors: list[str] = Field(
        default_factory=list,
        description="Relative file names that must exist in both the source and the destination "
        "root before anything is copied (proof the shares are really mounted).",
    )

    @field_validator("arr_path", "source", "dest")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must be an absolute path")
        return posixpath.normpath(value).replace("//", "/")

    @field_validator("anchors")
    @classmethod
    def _relative(cls, value: list[str]) -> list[str]:
        for anchor in value:
            if anchor.startswith("/") or ".." in anchor.split("/"):
                raise ValueError("anchors are file names relative to source and dest roots")
        return value


class SyncerSettings(_Section):
    state_path: Path = Field(Path("./data/syncer.db"), description="SQLite durable job store.")
    workers: int = Field(2, ge=1, le=32, description="rsync processes running at once.")
    dry_run: bool = Field(False, description="Run rsync with --dry-run: report, copy nothing.")
    max_attempts: int = Field(5, ge=1, le=100, description="Attempts before a job is failed.")
    retry_delay: float = Field(
        30, ge=0, description="Seconds before the second attempt; doubles for each later one."
    )
    retry_delay_max: float = Field(900, ge=0, description="Longest wait between two attempts.")
    rsync_extra_args: list[str] = Field(
        default_factory=list, description="Appended to rsync's arguments, e.g. ['--bwlimit=50m']."
    )
    rsync_path: str = Field("rsync", description="The rsync binary.")
    sidecars: bool = Field(
        True, description="Also copy files beside the media that share its name (.srt, .nfo)."
    )
    free_space_margin: int = Field(
        1024**3, ge=0, description="Bytes that must stay free on the destination after a copy."
    )
    guard_interval: float = Field(
        30, gt=0, description="Seconds between checks of a destination that is not ready."
    )
    shutdown_grace: float = Field(
        30, ge=0, description="Seconds running rsyncs may finish after SIGTERM."
    )
    keep_finished_days: float = Field(
        30, gt=0, description="Finished jobs older than this are pruned from the store."
    )
    client_id: str = Field(
        "arrsync-syncer", description="MQTT client id of the durable session; unique per syncer."
    )
    mappings: list[Mapping] = Field(
        default_factory=list, description="Path mappings; the longest matching arr_path wins."
    )

    @model_validator(mode="after")
    def _mappings_do_not_collide(self) -> SyncerSettings:
        for field in ("name", "arr_path", "source"):
            seen: set[str] = set()
            for mapping in self.mappings:
                value = getattr(mapping, field)
                if value in seen:
                    raise ValueError(f"two mappings have the same {field} {value!r}")
                seen.add(value)
        for mapping in self.mappings:
            for other in self.mappings:
                if is_within(mapping.dest, other.source) or is_within(other.source, mapping.dest):
                    raise ValueError(
                        f"mapping {mapping.name!r}: dest {mapping.dest!r} overlaps the source "
                        f"of {other.name!r} ({other.source!r}); copies would feed themselves"
                    )
        return self


NotifyState = Literal[
    "queued", "started", "retrying", "succeeded", "failed", "skipped", "availability"
]


def _split_words(value: Any) -> Any:
    """Environment values: a JSON list, or words separated by spaces or newlines."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [word for word in re.split(r"\s+", text) if word]
    return value


class NotifySettings(_Section):
    urls: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Apprise URLs, e.g. tgram://TOKEN/CHAT_ID. From the environment: "
        "separated by spaces, or a JSON list.",
    )
    config_file: Path | None = Field(
        None, description="An Apprise configuration file (YAML or TEXT) used besides urls."
    )
    states: Annotated[list[NotifyState], NoDecode] = Field(
        default_factory=lambda: list[NotifyState](["succeeded", "failed"]),
        description="Job states that send a notification.",
    )
    success_tag: str | None = Field(
        None, description="Apprise tag for success messages (only URLs with this tag get them)."
    )
    failure_tag: str | None = Field(
        None, description="Apprise tag for failure and alert messages."
    )
    group_window: float = Field(
        5, ge=0, description="Seconds to gather the jobs of one release into one message."
    )
    title_template: str | None = Field(
        None, description="Title template ({icon} {title} {mapping} …); default built in."
    )
    body_template: str | None = Field(
        None, description="Body template ({size} {duration} {speed} {error} …); default built in."
    )
    delivery_attempts: int = Field(3, ge=1, le=10, description="Tries per notification.")

    _split_urls = field_validator("urls", "states", mode="before")(_split_words)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ARRSYNC_", env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="DEBUG shows each rsync command line and MQTT message."
    )
    mqtt: MqttSettings = Field(default_factory=MqttSettings, description="The MQTT broker.")
    bridge: BridgeSettings = Field(default_factory=BridgeSettings, description="Webhook bridge.")
    syncer: SyncerSettings = Field(default_factory=SyncerSettings, description="The syncer.")
    notify: NotifySettings = Field(default_factory=NotifySettings, description="Notifications.")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML file arrives as init values; the environment overrides it.
        return (env_settings, init_settings)

    def secrets(self) -> list[str]:
        """Every secret value, for log redaction."""
        values = [self.mqtt.password, self.bridge.password, *self.notify.urls]
        return [v.get_secret_value() for v in values if v and v.get_secret_value()]
