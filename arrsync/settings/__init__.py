"""The schema of the one YAML file every arrsync process reads: one model per section.

Unknown keys are errors, every field has a description (the docs are checked against
them), secrets are `SecretStr`. Reading the file is `arrsync.config.load_settings`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from arrsync.settings.arrs import ArrInstance, ArrList, CatchUpSettings
from arrsync.settings.bridge import BridgeSettings
from arrsync.settings.homeassistant import HomeAssistantSettings
from arrsync.settings.mqtt import MqttSettings, TlsSettings
from arrsync.settings.notify import NotifySettings, NotifyState
from arrsync.settings.syncer import Mapping, SyncerSettings

__all__ = [
    "ArrInstance",
    "BridgeSettings",
    "CatchUpSettings",
    "HomeAssistantSettings",
    "Mapping",
    "MqttSettings",
    "NotifySettings",
    "NotifyState",
    "Settings",
    "SyncerSettings",
    "TlsSettings",
]


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
    arrs: ArrList = Field(default_factory=list, description="Radarr/Sonarr APIs to read.")
    catch_up: CatchUpSettings = Field(default_factory=CatchUpSettings, description="Catch-up.")
    homeassistant: HomeAssistantSettings = Field(
        default_factory=HomeAssistantSettings, description="Home Assistant discovery.")

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
        values = [self.mqtt.password, self.bridge.password, *self.notify.urls,
                  *(arr.api_key for arr in self.arrs)]
        return [v.get_secret_value() for v in values if v and v.get_secret_value()]
